"""What the Översikt page shows, read in a few grouped queries over the last 30 days only, so the page
costs the same with three years of history as with one week.

A register's day is *missing* when it sent no Z-report for it although it had sent one before (a
register that starts today has no missing past); today is never missing, the day is not over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from backoffice.companies.models import Company, Register
from backoffice.export.models import ExportJob, ExportState
from backoffice.money import ZERO, to_ore
from backoffice.zreport.models import LineKind, ZReportLine, ZReportRecord

#: Days of the table per register, and of the chart.
TABLE_DAYS = 14
CHART_DAYS = 30

#: The state a day shows when its reports are in several states: the one that needs attention first.
_WORST_FIRST = (ExportState.BLOCKED, ExportState.FAILED, ExportState.PENDING, ExportState.EXPORTED, ExportState.SKIPPED)


@dataclass(frozen=True, slots=True)
class RegisterDay:
    """One register's business day: its net sales and export state, or why there is nothing.

    ``state`` is the most urgent export state of the day's reports (None: no export job, e.g. before
    the integration was active); ``reason_code`` is that job's, for "Inget att bokföra".
    """

    day: date
    reports: int
    sales: Decimal
    state: ExportState | None
    reason_code: str | None
    #: no report, although the register had reported before this day (and the day is over)
    missing: bool
    #: today: a day without a report yet is not over, not missing
    is_today: bool = False


@dataclass(frozen=True, slots=True)
class RegisterDays:
    register: Register
    days: tuple[RegisterDay, ...]

    @property
    def missing(self) -> int:
        return sum(1 for day in self.days if day.missing)


def day_range(last: date, count: int) -> list[date]:
    """``count`` days ending with ``last``, oldest first."""
    return [last - timedelta(days=offset) for offset in range(count - 1, -1, -1)]


def _sales_expression():
    return func.sum(case((ZReportLine.kind == LineKind.SALE, ZReportLine.gross), else_=-ZReportLine.gross))


def _money(value) -> Decimal:
    return ZERO if value is None else to_ore(value if isinstance(value, Decimal) else Decimal(str(value)))


@dataclass(frozen=True, slots=True)
class ReportDay:
    """One stored report as the page needs it: its register and day, net sales, and its job's state."""

    register_id: int
    day: date
    sales: Decimal
    #: None: no export job (e.g. before the integration was active)
    state: ExportState | None
    reason_code: str | None


def reports_between(session: Session, company: Company, first: date, last: date) -> list[ReportDay]:
    """The company's reports of the days ``first`` to ``last``, each with its net sales and export state.

    One pass over those days' reports (``ix_zreport_company_id_business_date``); each report's lines
    and job are read through their own indexes (correlated subqueries), so the cost follows the days
    shown, not the history. Joined instead, the reports' lines and jobs made PostgreSQL hash every
    line and job of the company's three years (36 ms and 8 ms of 11,000 reports, bench/pages.py).
    """
    sales = select(_sales_expression()).where(ZReportLine.zreport_id == ZReportRecord.id).scalar_subquery()
    state = select(ExportJob.state).where(ExportJob.zreport_id == ZReportRecord.id).scalar_subquery()
    reason = select(ExportJob.reason_code).where(ExportJob.zreport_id == ZReportRecord.id).scalar_subquery()
    rows = session.execute(
        select(ZReportRecord.register_id, ZReportRecord.business_date, sales, state, reason).where(
            ZReportRecord.company_id == company.id,
            ZReportRecord.business_date >= first,
            ZReportRecord.business_date <= last,
        )
    ).all()
    return [
        ReportDay(register_id, day, _money(amount), None if job_state is None else ExportState(job_state), reason_code)
        for register_id, day, amount, job_state, reason_code in rows
    ]


def sales_per_register_day(
    session: Session, company: Company, first: date, last: date, reports: list[ReportDay] | None = None
) -> dict[tuple[int, date], Decimal]:
    """Net sales (sales lines minus returns) per (register id, business date) between two days
    (of ``reports`` when given: ``reports_between`` over at least those days)."""
    if reports is None:
        reports = reports_between(session, company, first, last)
    sales: dict[tuple[int, date], Decimal] = {}
    for report in reports:
        if first <= report.day <= last:
            key = (report.register_id, report.day)
            sales[key] = sales.get(key, ZERO) + report.sales
    return sales


def register_days(
    session: Session, company: Company, today: date, sales: dict[tuple[int, date], Decimal] | None = None,
    reports: list[ReportDay] | None = None,
) -> list[RegisterDays]:
    """The last ``TABLE_DAYS`` days (ending today) of each register of the company.

    ``reports``: ``reports_between`` over at least those days, when the caller has read them already.
    """
    days = day_range(today, TABLE_DAYS)
    first = days[0]
    if reports is None:
        reports = reports_between(session, company, first, today)
    if sales is None:
        sales = sales_per_register_day(session, company, first, today, reports)
    # A register had reported before the table's first day when its earliest report is older: the
    # earliest is the first entry of the register in the company's index, found without reading the rest.
    earliest = (
        select(func.min(ZReportRecord.business_date))
        .where(ZReportRecord.company_id == company.id, ZReportRecord.register_id == Register.id)
        .scalar_subquery()
    )
    reported_before = set(session.scalars(select(Register.id).where(Register.company_id == company.id,
                                                                    earliest < first)))
    by_day: dict[tuple[int, date], list[tuple[ExportState | None, str | None]]] = {}
    for report in reports:
        if first <= report.day <= today:
            by_day.setdefault((report.register_id, report.day), []).append((report.state, report.reason_code))
    result = []
    for register in company.registers:
        seen = register.id in reported_before
        row = []
        for day in days:
            states = by_day.get((register.id, day), [])
            seen = seen or bool(states)
            state, reason = _worst(states)
            row.append(
                RegisterDay(
                    day=day,
                    reports=len(states),
                    sales=sales.get((register.id, day), ZERO),
                    state=state,
                    reason_code=reason,
                    missing=not states and seen and day < today,
                    is_today=day == today,
                )
            )
        result.append(RegisterDays(register, tuple(row)))
    return result


def _worst(states: list[tuple[ExportState | None, str | None]]) -> tuple[ExportState | None, str | None]:
    for candidate in _WORST_FIRST:
        for state, reason in states:
            if state == candidate:
                return state, reason
    return None, None


def company_sales_per_day(
    session: Session, company: Company, today: date, reports: list[ReportDay] | None = None
) -> tuple[list[tuple[date, Decimal]], dict[tuple[int, date], Decimal]]:
    """Net sales of the whole company per day for the last ``CHART_DAYS`` days (ending today), oldest
    first, and the per-register figures they were summed from (the table reuses them).

    ``reports``: ``reports_between`` over those days, when the caller has read them already.
    """
    days = day_range(today, CHART_DAYS)
    per_register = sales_per_register_day(session, company, days[0], today, reports)
    totals: dict[date, Decimal] = {}
    for (_, day), amount in per_register.items():
        totals[day] = totals.get(day, ZERO) + amount
    return [(day, totals.get(day, ZERO)) for day in days], per_register
