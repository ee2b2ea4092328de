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
from datetime import timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from marshmallow import ValidationError

from backoffice.accounts.copy import (
    ASK,
    NONE,
    SourceRegister,
    applied,
    changes,
    fingerprint,
    suggest_cost_centres,
)
from backoffice.accounts.operations import load_mapping, save_mapping
from backoffice.accounts.schemas import dump_mapping, mapping_schema
from backoffice.companies.auth import admin_required
from backoffice.db import business_today, now_utc, session
from backoffice.documents import DocumentError, load_json
from backoffice.export.jobs import integration_of
from backoffice.export.problems import heal_connection, unblock_jobs
from backoffice.integrations.fortnox.connection import client_for
from backoffice.integrations.fortnox.errors import FortnoxError
from backoffice.integrations.fortnox.metadata import stored_snapshot
from backoffice.integrations.fortnox.models import ConnectionStatus
from backoffice.messages import accounts as msg
from backoffice.messages import choose_cost_centre_message, settings_changed_message

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
    filename = f"kontoplan-{business_today().isoformat()}.json"
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.post("/installningar")
@login_required
def import_settings():
    """Read an uploaded mapping/v1 JSON file and show what importing it would overwrite (nothing is
    saved before "Importera" on that page)."""
    admin_required()
    company = current_user.company
    upload = request.files.get("file")
    errors: list[str] = []
    document = None
    if upload is None or not upload.filename:
        errors.append(msg.CHOOSE_FILE)
    else:
        document, errors = _read_document(upload.read())
    if errors:
        snapshot = _snapshot(integration_of(session, company.id))
        return _page(_rows(company, snapshot), snapshot, 400, import_errors=errors)
    sources = [SourceRegister(pos_id, None, code) for pos_id, code in sorted(document["cost_centres"].items())]
    return _preview(document, sources, msg.from_file(upload.filename))


@bp.get("/kopiera")
@login_required
def copy_settings():
    """"Kopiera inställningar hit": start this restaurant's settings from another of the user's
    restaurants (``fran``), shown as a preview of what it overwrites."""
    admin_required()
    company = current_user.company
    others = [m for m in current_user.sorted_memberships() if m.company_id != company.id]
    source_id = request.args.get("fran", "")
    if not source_id:
        candidates = [(m.company, load_mapping(session, m.company) is not None) for m in others]
        return render_template("accounts/copy_from.html", candidates=candidates)
    membership = current_user.membership_in(int(source_id)) if source_id.isdigit() else None
    if membership is None or membership.company_id == company.id:
        abort(404)  # a company the user has no role in does not exist, for them
    source = membership.company
    mapping = load_mapping(session, source)
    if mapping is None or not mapping.voucher_series:
        flash(msg.nothing_to_copy(source.name), "error")
        return redirect(url_for("accounts.copy_settings"))
    sources = [SourceRegister(r.pos_id, r.name, r.cost_center) for r in source.registers]
    return _preview(dump_mapping(mapping), sources, msg.from_restaurant(source.name))


@bp.post("/installningar/bekrafta")
@login_required
def confirm_import():
    """Import the previewed settings: the accounts of the document, the cost centre chosen for each
    register, and the start date only when asked to."""
    admin_required()
    company = current_user.company
    document, errors = _read_document(request.form.get("document", "").encode("utf-8"))
    if errors:
        flash(" ".join(errors), "error")
        return redirect(url_for("accounts.index", _anchor="installningsfil"))
    current = load_mapping(session, company)
    if request.form.get("fingerprint") != fingerprint(dump_mapping(current) if current else None):
        flash(settings_changed_message(), "error")
        return redirect(url_for("accounts.index", _anchor="installningsfil"))
    sources = _sources_from_form(document)
    allowed = {NONE} | {s.code for s in sources if s.code} | {r.cost_center for r in company.registers if r.cost_center}
    chosen: dict[str, str] = {}
    missing = []
    for register in company.registers:
        value = request.form.get(f"cc-{register.pos_id}", ASK)
        if value == ASK or value not in allowed:
            missing.append(register.name)
        elif value != NONE:
            chosen[register.pos_id] = value
    if missing:
        return _preview(document, sources, request.form.get("source_label", ""), status=400,
                        errors=[choose_cost_centre_message(missing)], form=request.form)
    imported = mapping_schema.load(document)
    start_date = imported.start_date if request.form.get("copy_start_date") else (current.start_date if current else None)
    save_mapping(session, company, applied(imported, chosen, start_date=start_date), actor=current_user.email)
    session.commit()
    unblock_jobs(session, company)
    flash(msg.IMPORTED, "info")
    return redirect(url_for("accounts.index"))


def _read_document(raw: bytes) -> tuple[dict | None, list[str]]:
    """A valid mapping/v1 document from ``raw``, or the Swedish errors saying why not."""
    errors: list[str] = []
    try:
        document = load_json(raw)
        _check_unicode(document)
        mapping_schema.load(document)
        return document, []
    except UnicodeEncodeError:
        errors.append(msg.LONE_SURROGATE)
    except DocumentError as exc:
        errors.append(msg.not_json(exc))
    except ValidationError as exc:
        errors.append(msg.NOT_MAPPING_V1)
        errors.extend(_flatten(exc.messages))
    return None, errors


def _sources_from_form(document: dict) -> list[SourceRegister]:
    """The source's registers as the preview carried them (names of another restaurant's registers),
    else the document's register ids."""
    try:
        carried = json.loads(request.form.get("sources", "[]"))
        sources = [SourceRegister(str(s["pos_id"]), s.get("name"), s.get("code")) for s in carried]
    except (ValueError, KeyError, TypeError, AttributeError):
        sources = []
    codes = set(document["cost_centres"].values())
    # Only codes the document carries can be chosen, whatever the form says.
    sources = [s for s in sources if s.code is None or s.code in codes]
    return sources if any(s.code for s in sources) or not codes else [
        SourceRegister(pos_id, None, code) for pos_id, code in sorted(document["cost_centres"].items())
    ]


def _preview(document: dict, sources: list[SourceRegister], source_label: str, *, status: int = 200,
             errors: list[str] | None = None, form=None):
    company = current_user.company
    current = load_mapping(session, company)
    imported = mapping_schema.load(document)
    choices = suggest_cost_centres(sources, [(r.pos_id, r.name, r.cost_center) for r in company.registers])
    return render_template(
        "accounts/preview.html",
        source_label=source_label,
        changes=changes(current, imported),
        choices=choices,
        sources=sources,
        current=current,
        imported=imported,
        document_text=json.dumps(document, ensure_ascii=False, default=str),
        sources_text=json.dumps([{"pos_id": s.pos_id, "name": s.name, "code": s.code} for s in sources],
                                ensure_ascii=False),
        fingerprint=fingerprint(dump_mapping(current) if current else None),
        errors=errors or [],
        form=form or {},
        ask=ASK,
        none=NONE,
    ), status


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
