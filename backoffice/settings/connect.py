"""The OAuth2 authorisation code flow: ``/integrations/fortnox/connect`` and ``/callback``."""

from __future__ import annotations

import logging
import secrets

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask import session as web_session
from flask_login import current_user, login_required

from backoffice.companies.auth import admin_required
from backoffice.db import session
from backoffice.export.attachments import wake_after_consent
from backoffice.export.problems import unblock_jobs
from backoffice.integrations.fortnox import oauth
from backoffice.integrations.fortnox.connection import settings
from backoffice.integrations.fortnox.errors import FortnoxAuthError, FortnoxError
from backoffice.integrations.fortnox.models import FortnoxConnection
from backoffice.messages import connection_warning
from backoffice.messages import integrations as msg
from backoffice.security import safe_next
from backoffice.settings.operations import connect, connection_warnings, forget_unlinked, link_connection

log = logging.getLogger(__name__)

bp = Blueprint("fortnox", __name__, url_prefix="/integrations/fortnox")

#: The scopes the export needs (docs/fortnox/README.md); ``inbox`` and ``connectfile`` attach each
#: voucher's Z-report (a connection made before they were asked for lacks them until a new login).
SCOPES = ("bookkeeping", "costcenter", "companyinformation", "settings", "inbox", "connectfile")
_STATE = "fortnox_oauth_state"
_NEXT = "fortnox_oauth_next"
_SERVICE = "fortnox_oauth_service"
#: a consent whose Fortnox company needs confirming before the restaurant books into it (ids only)
_PENDING = "fortnox_oauth_pending"


def _redirect_uri() -> str:
    """The callback's absolute URL: on ``PUBLIC_URL`` when it is set, never on the request's Host header
    (which the client chooses) unless nothing else is known (development)."""
    public = current_app.config.get("PUBLIC_URL")
    if public:
        return public.rstrip("/") + url_for("fortnox.callback")
    return url_for("fortnox.callback", _external=True)


@bp.get("/connect")
@login_required
def connect_start():
    """Send an admin to Fortnox to log in and approve; the state is bound to this session.

    ``?account_type=service`` ("Koppla med tjänstekonto") asks for a service account's consent.
    """
    admin_required()
    state = secrets.token_urlsafe(32)
    service = request.args.get("account_type") == "service"
    web_session[_STATE] = state
    web_session[_NEXT] = safe_next(request.args.get("next"))
    web_session[_SERVICE] = service
    fortnox = settings()
    return redirect(
        oauth.authorization_url(
            fortnox.client_id, fortnox.auth_url, _redirect_uri(), state, scopes=SCOPES, service_account=service
        )
    )


@bp.get("/callback")
@login_required
def callback():
    """Back from Fortnox: check the state, exchange the code, read the company, store the connection."""
    admin_required()
    expected = web_session.pop(_STATE, None)
    next_url = safe_next(web_session.pop(_NEXT, None)) or url_for("integrations.index")
    service = bool(web_session.pop(_SERVICE, False))
    state = request.args.get("state")
    if not expected or not state or not secrets.compare_digest(expected, state):
        log.warning("Refused a Fortnox callback with a wrong, missing or reused state")
        return render_template(
            "error.html", title=msg.INVALID_LOGIN_TITLE, code=400, message=msg.INVALID_LOGIN,
        ), 400
    if request.args.get("error"):
        flash(msg.LOGIN_CANCELLED, "error")
        return redirect(next_url)
    code = request.args.get("code")
    if not code:
        abort(400)
    try:
        connection = connect(session, current_user.company, settings(), code, _redirect_uri(), service_account=service)
    except FortnoxAuthError as exc:
        session.rollback()
        log.warning("Connecting to Fortnox failed: %s", exc)
        if service:
            flash(msg.NO_SERVICE_ACCOUNT, "error")
        else:
            flash(msg.CONNECT_FAILED, "error")
        return redirect(next_url)
    except FortnoxError as exc:
        session.rollback()
        log.warning("Connecting to Fortnox failed: %s", exc)
        flash(msg.CONNECT_FAILED, "error")
        return redirect(next_url)
    session.commit()
    if connection_warnings(session, current_user.company, connection):
        # Another restaurant of ours books there, or the organisation number differs: ask first.
        web_session[_PENDING] = {"connection": connection.id, "next": next_url, "service": service}
        return redirect(url_for("fortnox.confirm"))
    return _connected(connection, next_url, service)


def _connected(connection, next_url: str, service: bool):
    # Reconnecting fixes an ended authorisation for every restaurant on this Fortnox company, and a new
    # consent with the attaching scopes lets the Z-reports that waited for it be attached.
    for integration in list(connection.integrations):
        unblock_jobs(session, integration.company)
        wake_after_consent(session, integration.company)
    flash(msg.CONNECTED_SERVICE if service else msg.CONNECTED, "info")
    return redirect(next_url)


@bp.route("/bekrafta", methods=["GET", "POST"])
@login_required
def confirm():
    """ "Koppla ändå" or "Avbryt" before a restaurant books into a Fortnox company another restaurant of
    ours uses, or one whose organisation number is not the restaurant's."""
    admin_required()
    pending = web_session.get(_PENDING)
    connection = session.get(FortnoxConnection, pending["connection"]) if pending else None
    if connection is None:
        return redirect(url_for("integrations.index"))
    company = current_user.company
    if request.method == "POST":
        web_session.pop(_PENDING, None)
        if request.form.get("decision") == "connect":
            link_connection(session, company, connection)
            session.commit()
            return _connected(connection, pending["next"], pending["service"])
        forget_unlinked(session, connection, settings())
        session.commit()
        flash(msg.NOT_LINKED, "info")
        return redirect(pending["next"])
    warnings = [connection_warning(w) for w in connection_warnings(session, company, connection)]
    return render_template("integrations/confirm_connection.html", connection=connection, warnings=warnings)
