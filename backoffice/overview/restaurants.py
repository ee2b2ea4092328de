"""Alla restauranger: one row per company of a user, for an owner of several restaurants or a byrå
with restaurant clients (issue 20, "Many restaurants").

Each row: the restaurant, its Fortnox company, the last day booked, open problems, missing days of
the last 14 (as Översikt marks them), the connection's kind and age, and whether the integration is
active. Read in grouped queries over the user's companies, plus Översikt's day table per company.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.companies.models import Company, Membership
from backoffice.export.models import ExportJob, ExportState, Problem
from backoffice.integrations.fortnox.models import ConnectionKind, ConnectionStatus, FortnoxIntegration
from backoffice.overview.operations import register_days
from backoffice.zreport.models import ZReportRecord

#: The columns the list can be sorted by (the ``sortera`` parameter) and the row value each reads.
SORT_KEYS = {
    "namn": lambda row: (row.name.casefold(),),
    "fortnox": lambda row: (row.fortnox_company is None, (row.fortnox_company or "").casefold()),
    "bokford": lambda row: (row.last_booked is None, row.last_booked or date.min),
    "problem": lambda row: (row.open_problems,),
    "saknas": lambda row: (row.missing_days,),
    "koppling": lambda row: (row.connected_days is None, row.connected_days or 0),
}
#: The filters (the ``visa`` parameter): every row, those that need attention, those not connected.
FILTERS = ("alla", "atgard", "ej-kopplad")


@dataclass(frozen=True, slots=True)
class RestaurantRow:
    """One company of the list, as of ``today``.

    ``connection_kind`` is None without a connection; ``connected_days`` is the connection's age
    (days since it was made) and ``checked_days`` the days since Fortnox last accepted it.
    """

    company_id: int
    name: str
    is_admin: bool
    active: bool
    fortnox_company: str | None
    connection_kind: ConnectionKind | None
    connection_ok: bool
    connected_days: int | None
    checked_days: int | None
    last_booked: date | None
    open_problems: int
    missing_days: int

    @property
    def needs_attention(self) -> bool:
        return self.open_problems > 0 or self.missing_days > 0 or (self.active and not self.connection_ok)


def _days_since(moment: datetime | None, today: date) -> int | None:
    return None if moment is None else max((today - moment.date()).days, 0)


def restaurant_rows(session: Session, memberships: list[Membership], today: date) -> list[RestaurantRow]:
    """The rows of the user's companies (``memberships``), in the order given."""
    ids = [m.company_id for m in memberships]
    if not ids:
        return []
    integrations = {
        i.company_id: i for i in session.scalars(select(FortnoxIntegration).where(FortnoxIntegration.company_id.in_(ids)))
    }
    booked = dict(
        session.execute(
            select(ExportJob.company_id, func.max(ZReportRecord.business_date))
            .join(ZReportRecord, ZReportRecord.id == ExportJob.zreport_id)
            .where(ExportJob.company_id.in_(ids), ExportJob.state == ExportState.EXPORTED)
            .group_by(ExportJob.company_id)
        ).all()
    )
    problems = dict(
        session.execute(
            select(Problem.company_id, func.count())
            .where(Problem.company_id.in_(ids), Problem.closed_at.is_(None))
            .group_by(Problem.company_id)
        ).all()
    )
    rows = []
    for membership in memberships:
        company: Company = membership.company
        integration = integrations.get(company.id)
        connection = integration.connection if integration is not None else None
        missing = sum(day.missing for register in register_days(session, company, today) for day in register.days)
        rows.append(
            RestaurantRow(
                company_id=company.id,
                name=company.name,
                is_admin=membership.is_admin,
                active=bool(integration and integration.active),
                fortnox_company=connection.fortnox_company_name if connection is not None else None,
                connection_kind=ConnectionKind(connection.kind) if connection is not None else None,
                connection_ok=connection is not None and connection.status == ConnectionStatus.ACTIVE,
                connected_days=_days_since(connection.created_at, today) if connection is not None else None,
                checked_days=_days_since(connection.checked_at, today) if connection is not None else None,
                last_booked=booked.get(company.id),
                open_problems=problems.get(company.id, 0),
                missing_days=missing,
            )
        )
    return rows


def sort_and_filter(
    rows: list[RestaurantRow], *, sort: str = "namn", descending: bool = False, show: str = "alla", text: str = ""
) -> list[RestaurantRow]:
    """The rows the list shows: those matching ``text`` (in the name or the Fortnox company) and the
    filter ``show``, sorted by ``sort`` (then by name)."""
    needle = text.strip().casefold()
    kept = [
        row
        for row in rows
        if (not needle or needle in row.name.casefold() or needle in (row.fortnox_company or "").casefold())
        and (show != "atgard" or row.needs_attention)
        and (show != "ej-kopplad" or row.fortnox_company is None or not row.connection_ok)
    ]
    kept.sort(key=lambda row: row.name.casefold())
    kept.sort(key=SORT_KEYS.get(sort, SORT_KEYS["namn"]), reverse=descending)
    return kept
