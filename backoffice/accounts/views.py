"""Ekonomi → Redovisning: cost centres per register, checked against Fortnox, and the settings as
mapping/v1 JSON (export to copy them, import to apply a copy).

OPEN Two: "För varje kostnadsställe, ange den kod som du har satt för motsvarande kostnadsställe i
Fortnox. Det är enbart koden som måste vara samma". The codes are checked against the connection's
cached Fortnox metadata; "Kontrollera igen" reads Fortnox again.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import date, timedelta

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError

from backoffice.accounts.operations import UnknownRegisterError, load_mapping, save_mapping
from backoffice.accounts.schemas import dump_mapping, mapping_schema
from backoffice.companies.auth import admin_required
from backoffice.db import now_utc, session
from backoffice.documents import DocumentError, load_json
from backoffice.export.jobs import integration_of
from backoffice.export.problems import heal_connection, unblock_jobs
from backoffice.integrations.fortnox.connection import client_for
from backoffice.integrations.fortnox.errors import FortnoxError
from backoffice.integrations.fortnox.metadata import stored_snapshot
from backoffice.integrations.fortnox.models import ConnectionStatus
from backoffice.messages import accounts as msg

bp = Blueprint("accounts", __name__, url_prefix="/ekonomi/redovisning")

#: Fortnox cost centre codes: 1–6 characters (mapping/v1 ``cost_centres``), letters, digits, - and _.
_COST_CENTER = re.compile(r"[A-Za-z0-9_\-]{1,6}")


@dataclasses.dataclass(frozen=True, slots=True)
class CostCenterRow:
    register_id: int
    pos_id: str
    name: str
    code: str | None
    status: str | None  # ok | missing | inactive | unknown; None without a code
    error: str | None = None


#: The page says whether each code exists in Fortnox and leads to that fix: what it shows is read
#: again when older than this (one refresh: years, cost centres, locked period, this year's chart).
COST_CENTERS_MAX_AGE = timedelta(seconds=60)


def _is_stale(snapshot, company) -> bool:
    """Older than a minute, or saying a register's code is missing or inactive: a cost centre created
    in Fortnox a moment ago must not read "Saknas i Fortnox" (each look costs a refresh, taken from
    the tenant's rate budget like every call)."""
    age = snapshot.age(now_utc())
    if age > COST_CENTERS_MAX_AGE:
        return True
    codes = {r.cost_center for r in company.registers if r.cost_center}
    wrong = any(code not in snapshot.cost_centers or not snapshot.cost_centers[code].active for code in codes)
    return wrong and snapshot.cost_centers_error is None


def _snapshot(integration):
    """The connection's Fortnox metadata, read again when older than a minute, and the problems
    re-judged by it (so no banner says "saknas" beside a row that says it is there); None without
    a connection, the stored snapshot when Fortnox cannot be read."""
    connection = integration.connection if integration is not None else None
    if connection is None or connection.status != ConnectionStatus.ACTIVE:
        return None
    snapshot = stored_snapshot(connection)
    if snapshot is None or _is_stale(snapshot, integration.company):
        try:
            heal_connection(session, connection, client_for(connection), strict=True)
        except FortnoxError:
            session.rollback()
        snapshot = stored_snapshot(connection)
    return snapshot


def _rows(
    company, snapshot, codes: dict[str, str] | None = None, errors: dict[str, str] | None = None
) -> list[CostCenterRow]:
    rows = []
    for register in company.registers:
        code = (codes or {}).get(register.pos_id, register.cost_center)
        status = None
        if code:
            if snapshot is None or snapshot.cost_centers_error is not None:
                status = "unknown"
            elif code not in snapshot.cost_centers:
                status = "missing"
            else:
                status = "ok" if snapshot.cost_centers[code].active else "inactive"
        rows.append(
            CostCenterRow(
                register.id, register.pos_id, register.name, code, status, (errors or {}).get(register.pos_id)
            )
        )
    return rows


def _page(rows, snapshot, status: int = 200, import_errors: list[str] | None = None):
    company = current_user.company
    integration = integration_of(session, company.id)
    mapping = load_mapping(session, company)
    return (
        render_template(
            "accounts/index.html",
            rows=rows,
            snapshot=snapshot,
            integration=integration,
            mapping=mapping,
            import_errors=import_errors or [],
        ),
        status,
    )


@bp.get("/")
@login_required
def index():
    company = current_user.company
    snapshot = _snapshot(integration_of(session, company.id))
    return _page(_rows(company, snapshot), snapshot)


@bp.post("/kostnadsstallen")
@login_required
def save_cost_centers():
    """Save the cost centre code of each register (an empty field: no cost centre)."""
    admin_required()
    company = current_user.company
    codes: dict[str, str] = {}
    errors: dict[str, str] = {}
    for register in company.registers:
        code = request.form.get(f"cost_center-{register.pos_id}", "").strip()
        if code and not _COST_CENTER.fullmatch(code):
            errors[register.pos_id] = msg.BAD_COST_CENTER
        codes[register.pos_id] = code
    integration = integration_of(session, company.id)
    if errors:
        snapshot = stored_snapshot(integration.connection) if integration and integration.connection else None
        return _page(_rows(company, snapshot, codes, errors), snapshot, 400)
    chosen = {pos_id: code for pos_id, code in codes.items() if code}
    mapping = load_mapping(session, company)
    if mapping is None:
        # No mapping yet: the registers keep their codes until the wizard saves one.
        for register in company.registers:
            register.cost_center = chosen.get(register.pos_id)
        session.flush()
    else:
        save_mapping(session, company, dataclasses.replace(mapping, cost_centres=chosen), actor=current_user.email)
    session.commit()
    unblock_jobs(session, company)
    flash(msg.COST_CENTERS_SAVED, "info")
    return redirect(url_for("accounts.index", _anchor="kostnadsstallen"))


@bp.get("/installningar.json")
@login_required
def export_settings():
    """The company's settings as a mapping/v1 JSON file, to copy them to another restaurant."""
    company = current_user.company
    mapping = load_mapping(session, company)
    if mapping is None or not mapping.voucher_series:
        flash(msg.NOTHING_TO_EXPORT, "error")
        return redirect(url_for("accounts.index"))
    body = json.dumps(dump_mapping(mapping), indent=2, ensure_ascii=False) + "\n"
    filename = f"kontoplan-{date.today().isoformat()}.json"
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.post("/installningar")
@login_required
def import_settings():
    """Replace the company's settings with an uploaded mapping/v1 JSON file."""
    admin_required()
    company = current_user.company
    upload = request.files.get("file")
    errors: list[str] = []
    if upload is None or not upload.filename:
        errors.append(msg.CHOOSE_FILE)
    else:
        try:
            document = load_json(upload.read())
            _check_unicode(document)
            mapping = mapping_schema.load(document)
            save_mapping(session, company, mapping, actor=current_user.email)
        except UnicodeEncodeError:
            errors.append(msg.LONE_SURROGATE)
        except DocumentError as exc:
            errors.append(msg.not_json(exc))
        except ValidationError as exc:
            errors.append(msg.NOT_MAPPING_V1)
            errors.extend(_flatten(exc.messages))
        except UnknownRegisterError as exc:
            errors.append(msg.unknown_registers(exc.register_ids))
    if errors:
        session.rollback()
        snapshot = _snapshot(integration_of(session, company.id))
        return _page(_rows(company, snapshot), snapshot, 400, import_errors=errors)
    session.commit()
    unblock_jobs(session, company)
    flash(msg.IMPORTED, "info")
    return redirect(url_for("accounts.index"))


def _check_unicode(document: dict) -> None:
    """Raise ``UnicodeEncodeError`` when a key or a value holds an unpaired surrogate (``"\\ud800"``):
    such text can be neither stored nor shown, not even in an error message."""
    json.dumps(document, ensure_ascii=False, default=str).encode("utf-8")


def _flatten(messages, path: str = "") -> list[str]:
    """marshmallow's nested error messages as lines ``field.sub: message``."""
    if isinstance(messages, dict):
        lines = []
        for key, value in messages.items():
            lines += _flatten(value, f"{path}.{key}" if path else str(key))
        return lines
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [f"{path}: {m}" if path else m for m in messages]
    if isinstance(messages, list):
        return [line for m in messages for line in _flatten(m, path)]
    return [f"{path}: {messages}"]
