"""Översikt, the landing page: is yesterday's sale in Fortnox, and what needs me?

The Fortnox status light and the last export, the open problems with their buttons (the same
banners every page shows, here in the page), the last 14 days per register with each day's sales
and export state (missing days marked), a chart of sales per day for 30 days drawn by the server,
and quick links. A company that has not activated the integration sees that first.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_from_directory, url_for
from flask_login import current_user, login_required

from backoffice.db import business_today, session
from backoffice.export.jobs import integration_of
from backoffice.export.manual import start_manual_export
from backoffice.export.models import ExportState
from backoffice.export.status import job_counts, status_light
from backoffice.messages import bulk_export_message
from backoffice.messages import overview as msg
from backoffice.names import STATE_CLASSES, state_name
from backoffice.overview.chart import sales_chart
from backoffice.overview.operations import CHART_DAYS, company_sales_per_day, register_days, reports_between
from backoffice.overview.restaurants import FILTERS, SORT_KEYS, restaurant_rows, sort_and_filter
from backoffice.scheduler import wake

bp = Blueprint("overview", __name__)

#: The states whose counts Översikt shows (and its status light reads).
OPEN_STATES = (ExportState.PENDING, ExportState.BLOCKED, ExportState.FAILED)


@bp.get("/")
@login_required
def index():
    company = current_user.company
    integration = integration_of(session, company.id)
    counts = job_counts(company, OPEN_STATES)  # all the page shows, and all the light needs
    today = business_today()
    # The chart's 30 days of reports, read once: the table's 14 days are among them.
    reports = reports_between(session, company, today - timedelta(days=CHART_DAYS - 1), today)
    chart_days, per_register = company_sales_per_day(session, company, today, reports)
    return render_template(
        "overview/index.html",
        company=company,
        integration=integration,
        connection=integration.connection if integration else None,
        light=status_light(company, integration, counts),
        counts=counts,
        registers=register_days(session, company, today, per_register, reports),
        chart=sales_chart(chart_days),
        today=today,
        day_state_name=day_state_name,
        state_classes=STATE_CLASSES,
    )


@bp.get("/restauranger/")
@login_required
def restaurants():
    """Alla restauranger: one row per company the user has a role in, sorted and filtered."""
    sort = request.args.get("sortera", "namn")
    sort = sort if sort in SORT_KEYS else "namn"
    show = request.args.get("visa", "alla")
    show = show if show in FILTERS else "alla"
    text = request.args.get("sok", "")[:100]
    descending = request.args.get("ordning") == "fallande"
    everything = restaurant_rows(session, current_user.sorted_memberships(), business_today())
    rows = sort_and_filter(everything, sort=sort, descending=descending, show=show, text=text)
    return render_template(
        "overview/restaurants.html", rows=rows, total=len(everything), sort=sort, descending=descending,
        show=show, text=text,
    )


@bp.post("/restauranger/manuell-export")
@login_required
def bulk_export():
    """"Manuell export" for the selected rows of Alla restauranger (admins and managers alike, as on
    each restaurant's card). A company the user has no role in is refused before anything starts."""
    chosen = []
    for value in request.form.getlist("company_id"):
        membership = current_user.membership_in(int(value)) if value.isdigit() else None
        if membership is None:
            abort(404)
        if membership not in chosen:
            chosen.append(membership)
    if not chosen:
        flash(msg.CHOOSE_RESTAURANT, "error")
        return redirect(url_for("overview.restaurants"))
    started, inactive = [], []
    for membership in sorted(chosen, key=lambda m: m.company.name.casefold()):
        company = membership.company
        integration = integration_of(session, company.id)
        if integration is None or not integration.active:
            inactive.append(company.name)
            continue
        run = start_manual_export(session, company, actor=current_user.email)
        started.append((company.name, run.total))
    session.commit()
    if started:
        wake(current_app._get_current_object())
    flash(bulk_export_message(started, inactive), "info" if started else "error")
    return redirect(url_for("overview.restaurants"))


@bp.get("/favicon.ico")
def favicon():
    """The tab's icon where a browser asks for it without reading the page (a PDF, a JSON answer)."""
    return send_from_directory(current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400)


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
    return state_name(day.state, day.reason_code)
