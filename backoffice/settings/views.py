"""Företag → Integrationer: the Fortnox card, and the routes of the settings wizard.

The wizard's steps are in ``backoffice.settings.wizard``; the routes here dispatch to them, and
create an account or the series "F – Kassa" in Fortnox from the wizard's pages.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from backoffice.accounts.operations import load_mapping
from backoffice.companies.auth import admin_required
from backoffice.db import session
from backoffice.export.jobs import integration_of
from backoffice.export.problems import heal_connection, sync_problems
from backoffice.export.status import job_counts, status_light
from backoffice.integrations.fortnox.connection import client_for, settings
from backoffice.integrations.fortnox.lists import (
    FortnoxUnavailable,
    call_fortnox,
    forget_fortnox_lists,
    fortnox_accounts,
)
from backoffice.messages import integrations as msg
from backoffice.messages import zreports
from backoffice.scheduler import wake
from backoffice.security import safe_next
from backoffice.settings.forms import (
    STEPS,
    NewAccountForm,
)
from backoffice.settings.operations import deactivate
from backoffice.settings.wizard import CASH_SERIES, connected, empty_mapping_for, step_handler, step_url

bp = Blueprint("integrations", __name__, url_prefix="/foretag/integrationer")


# --- the card -------------------------------------------------------------------------------------


@bp.get("/")
@login_required
def index():
    company = current_user.company
    integration = integration_of(session, company.id)
    counts = job_counts(company)
    mapping = load_mapping(session, company)
    run_id = request.args.get("run", type=int)
    return render_template(
        "integrations/index.html",
        integration=integration,
        connection=integration.connection if integration else None,
        light=status_light(company, integration, counts),
        counts=counts,
        mapping=mapping,
        run_id=run_id,
    )


@bp.post("/fortnox/inaktivera")
@login_required
def deactivate_fortnox():
    """ "Inaktivera": stop exporting and revoke the authorisation at Fortnox; the history stays."""
    admin_required()
    company = current_user.company
    integration = integration_of(session, company.id)
    if integration is None or (not integration.active and integration.connection is None):
        flash(msg.ALREADY_INACTIVE, "info")
        return redirect(url_for("integrations.index"))
    deactivate(session, company, settings())
    integration.wizard_step = STEPS[0]
    session.commit()
    sync_problems(session, company)  # closes what was open as "Avslutad (integrationen inaktiverad)"
    flash(msg.DEACTIVATED, "info")
    return redirect(url_for("integrations.index"))


@bp.get("/fortnox/installningar/")
@login_required
def wizard_entry():
    """Open the wizard: at ``?step=…&field=…`` (a deep link), or where the admin left it."""
    admin_required()
    step = request.args.get("step")
    field = request.args.get("field")
    if step in STEPS:
        return redirect(step_url(step, **({"field": field} if field else {})))
    integration = integration_of(session, current_user.company_id)
    resume = integration.wizard_step if integration and integration.wizard_step in STEPS else STEPS[0]
    if integration is not None and integration.active and resume == "klar":
        resume = "startdatum"
    if connected(integration) is None and STEPS.index(resume) > STEPS.index("behorighet"):
        resume = "behorighet"
    return redirect(step_url(resume))


@bp.route("/fortnox/installningar/<step>", methods=["GET", "POST"])
@login_required
def wizard(step: str):
    admin_required()
    if step not in STEPS:
        abort(404)
    company = current_user.company
    integration = integration_of(session, company.id)
    connection = connected(integration)
    if STEPS.index(step) > STEPS.index("behorighet") and connection is None:
        flash(msg.CONNECT_FIRST, "error")
        return redirect(step_url("behorighet"))
    mapping = load_mapping(session, company) or empty_mapping_for(company)
    return step_handler(step)(step, company, integration, connection, mapping)


@bp.post("/fortnox/installningar/serie/ny")
@login_required
def create_cash_series():
    """Create the voucher series "F – Kassa" (manual) in Fortnox."""
    admin_required()
    connection = connected(integration_of(session, current_user.company_id))
    if connection is None:
        abort(409)
    code, description = CASH_SERIES
    try:
        call_fortnox(lambda: client_for(connection).create_voucher_series(code, description, manual=True))
    except FortnoxUnavailable as exc:
        flash(exc.message, "error")
    else:
        forget_fortnox_lists(connection.id)
        # Read Fortnox again and re-judge at once, so the page that says the series is created shows
        # no banner saying it is missing (and what waited on it goes).
        woken = heal_connection(session, connection, client_for(connection))
        session.commit()
        if woken:
            wake(current_app._get_current_object())
        flash(msg.series_created(code, description) + (f" {msg.now_exported(zreports(woken))}" if woken else ""),
              "info")
    return redirect(step_url("serie"))


@bp.post("/fortnox/installningar/konto")
@login_required
def add_account():
    """ "Lägg till konto": create an account in Fortnox (JSON for the dialog, a redirect without JS)."""
    admin_required()
    form = NewAccountForm()
    back = safe_next(request.form.get("back")) or url_for("integrations.wizard_entry")
    wants_json = request.accept_mimetypes.best == "application/json"
    connection = connected(integration_of(session, current_user.company_id))
    if connection is None:
        abort(409)
    if not form.validate():
        errors = [error for field in (form.number, form.description) for error in field.errors]
        if wants_json:
            return jsonify(errors=errors), 400
        for error in errors:
            flash(error, "error")
        return redirect(back)
    number, description = form.number.data, form.description.data.strip()
    try:
        existing = fortnox_accounts(connection, fresh=True)
        if number in existing:
            raise FortnoxUnavailable(msg.account_exists(number))
        call_fortnox(lambda: client_for(connection).create_account(number, description))
    except FortnoxUnavailable as exc:
        if wants_json:
            return jsonify(errors=[exc.message]), 409 if not exc.reauth else 401
        flash(exc.message, "error")
        return redirect(back)
    forget_fortnox_lists(connection.id)
    message = msg.account_created(number, description)
    if wants_json:
        return jsonify(number=number, description=description, message=message), 201
    flash(message, "info")
    return redirect(back)
