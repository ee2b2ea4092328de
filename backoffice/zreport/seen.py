"""What a company's Z-reports contain: the payment methods, VAT rates, product groups and other
parts that may need an account, and whether each has an amount that is not zero.

This is the Z-report's read model for the settings wizard (which lists and checks the accounts the
reports need). It keeps a per-process aggregate, since Z-reports are final and what a company's
reports hold only grows.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, case, exists, false, func, literal, not_, or_, select

from backoffice.companies.models import Company
from backoffice.db import session
from backoffice.money import ZERO, canonical_vat_rate
from backoffice.zreport.models import ZReportLine, ZReportPayment, ZReportRecord, ZReportTip


@dataclass(frozen=True, slots=True)
class SeenParts:
    """The parts of the company's Z-reports that may need an account; True where an amount is not zero."""

    payment_methods: dict[str, bool]
    vat_rates: dict[Decimal, bool]
    sales: dict[tuple[str, Decimal], bool]
    other: dict[str, bool]

    def merge(self, newer: SeenParts) -> SeenParts:
        """What both hold: a part is used if it is used in either."""

        def both(a: dict, b: dict) -> dict:
            return {key: a.get(key, False) or b.get(key, False) for key in a.keys() | b.keys()}

        return SeenParts(
            both(self.payment_methods, newer.payment_methods),
            both(self.vat_rates, newer.vat_rates),
            both(self.sales, newer.sales),
            both(self.other, newer.other),
        )


#: (company id, start date) → (reports counted, highest report id, what they hold). Z-reports are
#: final, so what a company's reports hold only grows: each look aggregates just the reports that
#: arrived since.
_seen_cache: dict[tuple[int, date | None], tuple[int, int, SeenParts]] = {}
_seen_lock = threading.Lock()
#: How many of the newest reports ``_aggregate`` reads whole before it asks the others what they add.
SAMPLE_REPORTS = 20


def seen_parts(company: Company, since: date | None = None) -> SeenParts:
    """What the company's reports from ``since`` on hold: reports before the start date are never
    exported, so what only they hold needs no account."""
    key = (company.id, since)
    reports = _reports_of(company.id, since)
    counted = (func.count(), func.coalesce(func.max(ZReportRecord.id), 0))
    with _seen_lock:
        cached = _seen_cache.get(key)
    if cached is None:
        # The first look (after a restart): the pass that counts the reports reads their amounts too.
        count, last, *amounts = session.execute(select(*counted, *_report_amounts()).where(*reports)).one()
        seen = _aggregate(company.id, since, 0, last, amounts)
    else:
        count, last = session.execute(select(*counted).where(*reports)).one()
        if cached[:2] == (count, last):
            return cached[2]
        after = cached[1]
        newer = _aggregate(company.id, since, after, last)
        if cached[0] + _count(company.id, since, after, last) == count:
            seen = cached[2].merge(newer)
        else:  # a report with a lower id committed late (possible on PostgreSQL): count everything again
            seen = newer if after == 0 else _aggregate(company.id, since, 0, last)
    with _seen_lock:
        _seen_cache[key] = (count, last, seen)
    return seen


def _reports_of(company_id: int, since: date | None) -> tuple:
    conditions = (ZReportRecord.company_id == company_id,)
    return conditions if since is None else (*conditions, ZReportRecord.business_date >= since)


def _within(company_id: int, since: date | None, after: int, upto: int) -> tuple:
    # The bounds are written into the SQL: as parameters of a prepared statement (psycopg prepares
    # a statement run five times) PostgreSQL's generic plan guesses that an id range holds 0.5 % of
    # the reports and visits them one by one, which made the searches below five times slower.
    return (
        *_reports_of(company_id, since),
        ZReportRecord.id > literal(after, literal_execute=True),
        ZReportRecord.id <= literal(upto, literal_execute=True),
    )


def _count(company_id: int, since: date | None, after: int, upto: int) -> int:
    return session.scalar(
        select(func.count()).select_from(ZReportRecord).where(*_within(company_id, since, after, upto))
    )


def _report_amounts() -> tuple:
    """Gift cards sold, rounding and cash difference of reports: the largest and smallest of each."""
    record = ZReportRecord
    return (
        func.max(record.gift_cards_sold),
        func.max(record.rounding),
        func.min(record.rounding),
        func.max(record.cash_difference),
        func.min(record.cash_difference),
    )


def _aggregate(
    company_id: int, since: date | None, after: int, upto: int, amounts: Sequence | None = None
) -> SeenParts:
    """What the reports with ``after < id <= upto`` hold; ``amounts`` are their ``_report_amounts()``
    when the caller has read them already.

    A company's reports hold the same few parts day after day. So the newest reports are read whole
    first, and the others are only searched for a row that changes that answer: a part the newest
    lack, or an amount that is not zero where theirs all are. Such a search groups nothing and
    usually finds nothing, so it costs one pass over the rows, not a grouping of every one of them.
    """
    record = ZReportRecord
    within = _within(company_id, since, after, upto)
    newest = (
        select(record.id).where(*within).order_by(record.business_date.desc(), record.id.desc()).limit(SAMPLE_REPORTS)
    )
    methods = {
        method: used
        for (method,), (used,) in _parts(
            ZReportPayment, (ZReportPayment.method,), (ZReportPayment.amount != 0,), within, newest
        ).items()
    }
    line = ZReportLine
    vat_rates: dict[Decimal, bool] = {}
    sales: dict[tuple[str, Decimal], bool] = {}
    for (group, rate), (net, vat) in _parts(
        line, (line.product_group, line.vat_rate), (line.gross != line.vat, line.vat != 0), within, newest
    ).items():
        rate = canonical_vat_rate(_decimal(rate))
        vat_rates[rate] = vat_rates.get(rate, False) or vat
        sales[(group, rate)] = sales.get((group, rate), False) or net
    tips = session.scalar(
        select(literal(True))
        .where(ZReportTip.amount != 0, exists().where(record.id == ZReportTip.zreport_id, *within))
        .limit(1)
    )
    if amounts is None:
        amounts = session.execute(select(*_report_amounts()).where(*within)).one()
    gift, round_max, round_min, diff_max, diff_min = (_decimal(value) for value in amounts)
    cash_difference = diff_max != 0 or diff_min != 0
    if cash_difference:
        methods["cash"] = True
    other = {
        "tips": bool(tips),
        "rounding": round_max != 0 or round_min != 0,
        "cash_difference": cash_difference,
        "gift_cards_sold": gift != 0,
    }
    return SeenParts(payment_methods=methods, vat_rates=vat_rates, sales=sales, other=other)


#: Beyond this many parts in the newest reports, ``_parts`` groups every row instead of naming the
#: parts it knows in its search (which takes one comparison per part).
MAX_KNOWN_PARTS = 64


def _parts(table, keys: tuple, flags: tuple, within: tuple, newest) -> dict[tuple, list[bool]]:
    """key → for each of ``flags``, whether it holds in some row of ``table`` in the reports ``within``.

    The rows of the ``newest`` reports are read first; the others only for a row whose key is not
    known yet or that sets a flag still false (one pass, and most often no row at all)."""
    found: dict[tuple, list[bool]] = {}

    def add(rows) -> None:
        for row in rows:
            was = found.setdefault(tuple(row[: len(keys)]), [False] * len(flags))
            for i, value in enumerate(row[len(keys) :]):
                was[i] = was[i] or bool(value)

    def one_of(values) -> ColumnElement[bool]:
        # Plain comparisons, not IN: a prepared statement's generic plan builds an IN list's array
        # of parameters again for every row, which made this search twice as slow.
        return or_(false(), *(and_(*(column == v for column, v in zip(keys, value, strict=True))) for value in values))

    add(session.execute(select(*keys, *flags).distinct().where(table.zreport_id.in_(newest))))
    in_range = exists().where(ZReportRecord.id == table.zreport_id, *within)
    if len(found) > MAX_KNOWN_PARTS:
        # Too many parts to name in one statement (SQLite refuses an expression tree that deep):
        # group every row instead, a statement of one size however many parts the reports hold.
        grouped = select(*keys, *(func.max(case((flag, 1), else_=0)) for flag in flags)).where(in_range)
        add(session.execute(grouped.group_by(*keys)))
        return found
    news = or_(
        not_(one_of(found)),
        *(and_(one_of([k for k, was in found.items() if not was[i]]), flag) for i, flag in enumerate(flags)),
    )
    add(session.execute(select(*keys, *flags).distinct().where(news, in_range)))
    return found


def _decimal(value) -> Decimal:
    if value is None:
        return ZERO
    return value if isinstance(value, Decimal) else Decimal(str(value))

