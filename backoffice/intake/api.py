"""The POS API: registers deliver Z-reports (``docs/contracts/zreport-v1.md``).

Messages here are for POS developers and stay in English, like the contract.
"""

from __future__ import annotations

import json
from functools import wraps

from flask import Blueprint, Response, g, jsonify, request
from marshmallow import ValidationError

from backoffice.companies.models import hash_token
from backoffice.db import now_utc, session
from backoffice.documents import MAX_COUNT, DocumentError, load_json
from backoffice.intake.operations import (
    Stored,
    WrongRegisterError,
    ZReportConflictError,
    find_zreport,
    store_zreport,
)
from backoffice.intake.statements import REGISTER_BY_TOKEN
from backoffice.scheduler import announce_work, wake
from backoffice.zreport.schemas import check_intake, zreport_schema

bp = Blueprint("zreport_api", __name__, url_prefix="/api/v1")


def api_error(status: int, field: str, message: str):
    """The one error body of the POS API: ``{"errors": {field: [message]}}``."""
    return jsonify(errors={field: [message]}), status


def register_required(view):
    """Authenticate the register by ``Authorization: Bearer <token>``; 401 otherwise.

    Every request of the intake runs this, so the register is one row read by the prebuilt
    ``intake/statements.py`` ``REGISTER_BY_TOKEN`` (its id, company and POS id), not an ORM object.
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        register = None
        if scheme.lower() == "bearer" and token.strip():
            found = session.connection().execute(REGISTER_BY_TOKEN, {"token_hash": hash_token(token.strip())})
            register = found.first()
        if register is None:
            response = api_error(401, "authorization", "A valid register API token is required (Authorization: Bearer <token>).")
            response[0].headers["WWW-Authenticate"] = 'Bearer realm="pos"'
            return response
        g.register = register
        return view(*args, **kwargs)

    return wrapper


def stored_report_response(stored: Stored, status: int = 200) -> Response:
    """The stored report: its key, when it was received, and the document as the register sent it
    (spliced in as text: it was parsed as a JSON object when it arrived, and is never re-encoded)."""
    head = json.dumps({
        "register_id": stored.register_id,
        "z_number": stored.z_number,
        "business_date": stored.business_date.isoformat(),
        "received_at": stored.received_at.isoformat(),
    })
    body = f'{head[:-1]}, "document": {stored.document}}}'
    return Response(body, status=status, mimetype="application/json")


@bp.post("/z-reports")
@register_required
def post_zreport():
    """Store a Z-report: 201 created, 200 identical repeat, 409 conflict, 422 invalid."""
    raw = request.get_data(as_text=True)
    try:
        document = load_json(raw)
    except DocumentError as exc:
        return api_error(400, "_schema", f"The body is not a zreport/v1 JSON document: {exc}.")
    zreport = zreport_schema.load(document)  # ValidationError → 422 (error handler)
    check_intake(zreport, now_utc())
    try:
        stored = store_zreport(session, g.register, zreport, document, raw)
    except WrongRegisterError as exc:
        return api_error(
            403,
            "register.id",
            f"This token belongs to register {exc.token_register!r}; a register can only report for itself"
            f" (the report names {exc.report_register!r}).",
        )
    except ZReportConflictError as exc:
        return api_error(
            409,
            "z_number",
            f"Z-report {exc.z_number} of register {exc.register_id!r} is already stored with other content;"
            " a Z-report is final once the day is closed.",
        )
    if stored.created:
        announce_work(session)  # the workers' NOTIFY, delivered by this commit
    session.commit()
    if stored.created:
        wake(announced=True)  # export within seconds, not at the next tick
    return stored_report_response(stored, 201 if stored.created else 200)


@bp.get("/z-reports/<register_id>/<int:z_number>")
@register_required
def get_zreport(register_id: str, z_number: int):
    """Let a register confirm what was stored for one of its reports; ``?serial_number=`` picks the
    unit of a replaced register (without it, the current unit)."""
    if register_id != g.register.pos_id:
        return api_error(403, "register_id", "A register can only read its own reports.")
    serial_number = request.args.get("serial_number") or None
    storable = z_number <= MAX_COUNT and (serial_number is None or (len(serial_number) <= 80 and "\x00" not in serial_number))
    record = find_zreport(session, g.register, z_number, serial_number=serial_number) if storable else None
    if record is None:
        unit = f" (serial number {serial_number!r})" if serial_number else ""
        return api_error(404, "z_number", f"No Z-report {z_number} is stored for register {register_id!r}{unit}.")
    return stored_report_response(Stored.of(record))


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI document of the POS API, generated from the same marshmallow schemas."""
    from backoffice.zreport.openapi import openapi_document

    return jsonify(openapi_document())


@bp.errorhandler(ValidationError)
def validation_error(exc: ValidationError):
    return jsonify(errors=exc.messages), 422
