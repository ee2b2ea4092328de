"""The prebuilt SQL of the intake's hot path (the POS API), and the one rule it follows.

**The ORM reads, Core writes on this path.** Every report a register sends takes the same few
statements: its register found by token, its unit, the report with its lines, payments and tips,
and its export job. Through the ORM's unit of work these cost several times the CPU for the same
rows, so they are built once here and executed on the session's connection. The rare paths (a
repeat or a conflict, a new unit) read through the ORM or build their statement when they run. The
intake keeps no loaded object of what it writes: ``store_zreport`` answers with a ``Stored`` value.
The export's half of the same rule is ``export/statements.py``.

Only statements live here; what they mean for a report is in ``operations`` and ``api``.
"""

from __future__ import annotations

import functools

from sqlalchemy import Select, Text, bindparam, cast, func, insert, select, true
from sqlalchemy import column as sql_column
from sqlalchemy.dialects import postgresql, sqlite

from backoffice.companies.models import Register, RegisterUnit
from backoffice.export.statements import job_insert
from backoffice.zreport.models import ZReportLine, ZReportPayment, ZReportRecord, ZReportTip

# --- the register of a token (every request of the POS API) -------------------------------------

_registers = Register.__table__
#: the register of a token: its id, company and POS id are all the POS API needs (a row, not an ORM object)
REGISTER_BY_TOKEN = select(_registers.c.id, _registers.c.company_id, _registers.c.pos_id).where(
    _registers.c.token_hash == bindparam("token_hash")
)


# --- units: a replaced register keeps its id, its new unit starts again at Z 1 ------------------

_units = RegisterUnit.__table__
#: a register's units, in their order (``register_id``)
UNITS = (
    select(_units.c.id, _units.c.number, _units.c.serial_number)
    .where(_units.c.register_id == bindparam("register_id"))
    .order_by(_units.c.number)
)
#: the highest Z-number a unit has sent (``unit_id``)
LAST_Z = select(func.max(ZReportRecord.__table__.c.z_number)).where(
    ZReportRecord.__table__.c.unit_id == bindparam("unit_id")
)


# --- the report, its lines, payments and tips, and its job ------------------------------------


def _insert_report(dialect) -> postgresql.Insert | sqlite.Insert:
    """``INSERT INTO zreport … ON CONFLICT (unit_id, z_number) DO NOTHING`` of ``dialect``'s module:
    a key already taken inserts nothing, and the caller answers as for a repeat or a conflict."""
    return dialect.insert(ZReportRecord.__table__).on_conflict_do_nothing(index_elements=["unit_id", "z_number"])


#: SQLite: the report's row alone, passed as parameters so that the compiled statement is reused
INSERT_NEW_SQLITE = _insert_report(sqlite).returning(ZReportRecord.__table__.c.id)

#: the columns of a report's row (``operations._report_row`` fills them)
REPORT_COLUMNS = tuple(column.name for column in ZReportRecord.__table__.c if column.name != "id")

#: the tables of a report's lines, payments and tips, in ``operations._child_rows``'s order
CHILD_MODELS = (ZReportLine, ZReportPayment, ZReportTip)
#: their multi-row INSERTs (SQLite)
INSERT_CHILDREN = tuple(model.__table__.insert() for model in CHILD_MODELS)
#: the names of the same rows' JSON parameters and CTEs in ``store_statement``
CHILD_NAMES = ("lines", "payments", "tips")


@functools.cache
def store_statement() -> Select:
    """PostgreSQL: a report, its lines, payments and tips, and its export job in one statement.

    ``WITH report AS (INSERT INTO zreport … ON CONFLICT DO NOTHING RETURNING id), lines AS (INSERT
    INTO zreport_line … SELECT report.id, … FROM report, jsonb_to_recordset(:lines) AS …), …
    SELECT id FROM report``: when the key is taken, ``report`` is empty and so is every INSERT that
    selects from it. The rows travel as one JSON array per table, which keeps the statement one
    shape with few parameters (psycopg caches the conversion of such statements only).
    """
    table = ZReportRecord.__table__
    report = (
        _insert_report(postgresql)
        .values({name: bindparam(name, type_=table.c[name].type) for name in REPORT_COLUMNS})
        .returning(table.c.id)
        .cte("report")
    )
    writes = []
    for model, name in zip(CHILD_MODELS, CHILD_NAMES, strict=True):
        child = model.__table__
        columns = [column.name for column in child.c if column.name not in ("id", "zreport_id")]
        rows = (
            func.jsonb_to_recordset(cast(bindparam(name, type_=Text), postgresql.JSONB))
            .table_valued(*(sql_column(column, child.c[column].type) for column in columns))
            .render_derived(name=f"{name}_given", with_types=True)
        )
        query = select(report.c.id, *(rows.c[column] for column in columns)).select_from(report).join(rows, true())
        writes.append(insert(child).from_select(["zreport_id", *columns], query).cte(name))
    writes.append(job_insert(report).cte("job"))
    return select(report.c.id).add_cte(*writes)
