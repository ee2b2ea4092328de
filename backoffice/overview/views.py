"""Översikt, the landing page: is yesterday's sale in Fortnox, and what needs me?

The Fortnox status light and the last export, the open problems with their buttons (the same
banners every page shows, here in the page), the last 14 days per register with each day's sales
and export state (missing days marked), a chart of sales per day for 30 days drawn by the server,
and quick links. A company that has not activated the integration sees that first.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from backoffice.db import now_utc, session
from backoffice.export.jobs import integration_of
from backoffice.export.status import STATE_CLASSES, job_counts, status_light
from backoffice.messages import overview as msg
from backoffice.messages.zreport import NOTHING_TO_BOOK_STATE, STATE_NAMES
from backoffice.overview.chart import sales_chart
from backoffice.overview.operations import company_sales_per_day, register_days
from backoffice.zreport.report import BUSINESS_TIMEZONE

bp = Blueprint("overview", __name__)


def business_today(now: datetime | None = None):
    """Today's date where the restaurants are (a business day is a Swedish date)."""
    return (now or now_utc()).astimezone(BUSINESS_TIMEZONE).date()


@bp.get("/")
@login_required
def index():
    company = current_user.company
    integration = integration_of(session, company.id)
    counts = job_counts(company)
    today = business_today()
    chart_days, per_register = company_sales_per_day(session, company, today)
    return render_template(
        "overview/index.html",
        company=company,
        integration=integration,
        connection=integration.connection if integration else None,
        light=status_light(company, integration, counts),
        counts=counts,
        registers=register_days(session, company, today, per_register),
        chart=sales_chart(chart_days),
        today=today,
        day_state_name=day_state_name,
        state_classes=STATE_CLASSES,
    )


@bp.app_template_filter("kronor")
def format_kronor(amount) -> str:
    """An amount in whole kronor, the Swedish way: ``14 001`` (a no-break space between thousands)."""
    whole = Decimal(amount).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{whole:,}".replace(",", "\u00a0")


def day_state_name(day) -> str:
    """The Swedish name of a register day's export state."""
    if day.missing:
        return msg.DAY_MISSING
    if not day.reports:
        return msg.DAY_NOT_CLOSED if day.is_today else msg.DAY_WITHOUT_REPORT
    if day.state == "skipped" and day.reason_code == "nothing_to_book":
        return NOTHING_TO_BOOK_STATE
    return STATE_NAMES[day.state]
