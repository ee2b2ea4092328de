"""What deciding about a company's jobs needs, and what blocks a job, judged without calling Fortnox.

:class:`CompanyContext` is loaded once per export (with the job, in one query) or per re-judgement:
the integration, its connection, the mapping as a pure value and the connection's metadata
snapshot, as the one store of it keeps it (``integrations.fortnox.metadata``). The blocker
functions read it: our own settings (mapping, connection) first, then the pure pre-flight against
the snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from backoffice.accounts.mapping import Mapping, MappingIncompleteError, SalesRule
from backoffice.accounts.models import AccountMapping
from backoffice.companies.models import Company
from backoffice.export.preflight import (
    Blocker,
    check,
    check_accounts,
    check_cost_centers,
    check_series,
    no_financial_year,
)
from backoffice.export.reasons import Reason
from backoffice.export.statements import CONTEXT, MAPPING_ROWS
from backoffice.integrations.fortnox.metadata import FortnoxSnapshot, stored_snapshot
from backoffice.integrations.fortnox.models import ConnectionStatus, FortnoxConnection, FortnoxIntegration
from backoffice.zreport.booking import build_voucher
from backoffice.zreport.models import ZReportRecord
from backoffice.zreport.voucher import NothingToBookError, Voucher


@dataclass
class CompanyContext:
    """What deciding about a company's jobs needs, loaded once.

    ``had_open_problems``: whether the company had an open problem when the context was loaded.
    ``refreshed``: whether the snapshot was read from Fortnox again since (``engine``).
    Together they tell an export whether its success can change the company's problems.
    """

    company: Company
    integration: FortnoxIntegration | None
    mapping: Mapping | None
    connection: FortnoxConnection | None
    snapshot: FortnoxSnapshot | None
    had_open_problems: bool = True
    refreshed: bool = False

    @classmethod
    def load(cls, session: Session, company: Company) -> CompanyContext:
        """One query for the integration, its connection, the mapping row and the open-problem flag;
        then one for the mapping's own rows."""
        return cls.of(session, company, *session.execute(CONTEXT, {"company_id": company.id}).one())

    @classmethod
    def of(cls, session: Session, company: Company, integration: FortnoxIntegration | None,
           connection: FortnoxConnection | None, row: AccountMapping | None, had_open_problems: bool) -> CompanyContext:
        """The context from the rows of ``statements.CONTEXT`` (read with the job by ``export_one``)."""
        return cls(company, integration, _mapping_of(session, row) if row else None, connection,
                   stored_snapshot(connection), had_open_problems)


def _mapping_of(session: Session, row: AccountMapping) -> Mapping:
    """``row.to_mapping()``, with the mapping's rows and the registers' cost centres read in one
    statement rather than four lazy loads (a fifth of an export's CPU)."""
    payment_methods, vat_rates, sales, cost_centres = {}, {}, [], {}
    for kind, name, vat_rate, account, cost_center in session.connection().execute(
        MAPPING_ROWS, {"mapping": row.id, "company": row.company_id}
    ):
        if kind == 1:
            payment_methods[name] = account
        elif kind == 2:
            vat_rates[vat_rate] = account
        elif kind == 3:
            sales.append(SalesRule(account, name, vat_rate))
        elif cost_center:
            cost_centres[name] = cost_center
    return Mapping(
        voucher_series=row.voucher_series,
        payment_methods=payment_methods,
        vat_rates=vat_rates,
        sales=tuple(sales),
        tips=row.tips,
        rounding=row.rounding,
        cash_difference=row.cash_difference,
        gift_cards_sold=row.gift_cards_sold,
        cost_centres=cost_centres,
        start_date=row.start_date,
    )


# --- what blocks a job --------------------------------------------------------------------------


def connection_blockers(context: CompanyContext) -> list[Blocker]:
    connection = context.connection
    if connection is None or connection.status == ConnectionStatus.REVOKED:
        return [Blocker(Reason.NOT_CONNECTED)]
    if connection.status == ConnectionStatus.NEEDS_REAUTH:
        return [Blocker(Reason.AUTH_EXPIRED, str(connection.tenant_id))]
    return []


def voucher_or_blockers(context: CompanyContext, record: ZReportRecord) -> tuple[Voucher | None, list[Blocker]]:
    """Build the report's voucher, or say what in our own settings prevents it."""
    if context.mapping is None:
        return None, [Blocker(Reason.MAPPING_MISSING)]
    try:
        return build_voucher(record.to_report(), context.mapping, company_name=context.company.name), []
    except NothingToBookError:
        return None, []
    except MappingIncompleteError as exc:
        missing = [
            {"kind": m.kind, "key": m.key, "vat_rate": None if m.vat_rate is None else str(m.vat_rate)} for m in exc.missing
        ]
        return None, [Blocker(Reason.MAPPING_INCOMPLETE, "", {"missing": missing})]


def blockers_for(context: CompanyContext, record: ZReportRecord) -> tuple[Voucher | None, list[Blocker]]:
    """Everything that prevents exporting a report now, judged without calling Fortnox."""
    voucher, blockers = voucher_or_blockers(context, record)
    blockers += connection_blockers(context)
    if voucher is not None and context.snapshot is not None and not blockers:  # None: nothing to book
        blockers += check(voucher, context.snapshot)
    return voucher, blockers


def mapping_blockers(context: CompanyContext, today: date) -> list[Blocker]:
    """What in Fortnox would refuse the next day close, found before it happens (health check):
    the mapping judged against the chart of today's financial year."""
    mapping, snapshot = context.mapping, context.snapshot
    if mapping is None or snapshot is None:
        return []
    if snapshot.financial_year_for(today) is None:
        return [no_financial_year(today)]
    accounts = set(mapping.payment_methods.values()) | set(mapping.vat_rates.values())
    accounts |= {rule.account for rule in mapping.sales}
    accounts |= {a for a in (mapping.tips, mapping.rounding, mapping.cash_difference, mapping.gift_cards_sold) if a}
    return (
        check_series(mapping.voucher_series, snapshot, today)
        + check_accounts(sorted(accounts), snapshot, today)
        + check_cost_centers(sorted(set(mapping.cost_centres.values())), snapshot)
    )
