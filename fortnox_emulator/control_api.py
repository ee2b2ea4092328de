"""The control API under /_emulator/ for tests, benchmarks and the demo (JSON, off by default).

It changes what Fortnox would let a user change in Fortnox's own UI (deactivate an account, make
a series non-manual, lock a period...), and what only a test needs (faults, delays, the request
log, expiring tokens). `control.EmulatorControl` is the Python client of this API; docs/EMULATOR.md
lists every endpoint.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from fortnox_emulator import seed
from fortnox_emulator.jsonio import json_response, parse_json
from fortnox_emulator.ratelimit import make_limiter
from fortnox_emulator.settings import READINGS, check_readings
from fortnox_emulator.state import PERMISSION_NAMES, FinancialYear, Tenant, Voucher, VoucherRow
from fortnox_emulator.tokens import parse_scopes

if TYPE_CHECKING:
    from fortnox_emulator.app import EmulatorApp


class ControlError(Exception):
    """A refused control call: HTTP status and an English message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _body(request: Request) -> dict[str, Any]:
    raw = request.get_data()
    if not raw:
        return {}
    try:
        data = parse_json(raw)
    except Exception:
        raise ControlError(400, "body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ControlError(400, "body must be a JSON object")
    return data


def _tenant(app: EmulatorApp, tenant_id: int) -> Tenant:
    tenant = app.store.state.tenants.get(tenant_id)
    if tenant is None:
        raise ControlError(404, f"no tenant {tenant_id}")
    return tenant


def _years(tenant: Tenant, year_id: Any) -> list[FinancialYear]:
    """The financial year named by `financial_year`, or every year when it is absent."""
    if year_id is None:
        return list(tenant.financial_years.values())
    year = tenant.financial_years.get(int(year_id))
    if year is None:
        raise ControlError(404, f"no financial year {year_id}")
    return [year]


def _flag(data: dict[str, Any], name: str) -> bool:
    if not isinstance(data.get(name), bool):
        raise ControlError(400, f"{name} must be true or false")
    return data[name]


# --- handlers: each returns JSON-ready data, or a Response -----------------------------------------

def info(app: EmulatorApp, request: Request) -> dict[str, Any]:
    """GET /_emulator/: client id, tenants, and the runtime settings the control API can change."""
    return {
        "client_id": app.settings.client_id,
        "tenants": [t.id for t in app.store.state.tenants.values()],
        "default_tenant_id": min(app.store.state.tenants, default=None),
        "response_delay": app.response_delay,
        "auto_approve": auto_approve(app, request),
        "rate_limit": {"requests": app.limiter.limit, "window": app.limiter.window},
        "readings": readings(app, request),
    }


def list_tenants(app: EmulatorApp, request: Request) -> dict[str, Any]:
    """GET /_emulator/tenants."""
    return {"tenants": [{"tenant_id": t.id, "name": t.name, "org_number": t.org_number}
                        for t in app.store.state.tenants.values()]}


def create_tenant(app: EmulatorApp, request: Request) -> Response:
    """POST /_emulator/tenants {"name", "org_number"} → 201 {"tenant_id"}."""
    data = _body(request)
    name = data.get("name") or seed.DEMO_COMPANY_NAME
    org_number = data.get("org_number") or seed.DEMO_ORG_NUMBER
    tenant = seed.create_tenant(app.store.state, name=str(name), org_number=str(org_number), today=app.today())
    app.store.mark_dirty()
    return json_response({"tenant_id": tenant.id}, 201)


def reset_tenant(app: EmulatorApp, request: Request, tenant_id: int) -> dict[str, Any]:
    """POST /_emulator/tenants/{id}/reset: books back to the seed; tokens keep working."""
    seed.reset_tenant(_tenant(app, tenant_id), today=app.today())
    app.store.mark_dirty()
    return {"tenant_id": tenant_id, "reset": True}


def issue_tokens(app: EmulatorApp, request: Request, tenant_id: int) -> dict[str, Any]:
    """POST /_emulator/tenants/{id}/tokens {"scope": "..."}: a token pair without the consent page."""
    _tenant(app, tenant_id)
    data = _body(request)
    scopes = parse_scopes(data.get("scope", "bookkeeping costcenter companyinformation settings"))
    if scopes is None:
        raise ControlError(400, "scope must name known Fortnox scopes")
    answer = app.tokens.issue_directly(tenant_id, scopes)
    app.store.mark_dirty()
    return answer


def expire_tokens(app: EmulatorApp, request: Request, tenant_id: int) -> dict[str, Any]:
    """POST /_emulator/tenants/{id}/tokens/expire: access tokens answer 401 from now on."""
    _tenant(app, tenant_id)
    count = app.tokens.expire_access_tokens(tenant_id)
    app.store.mark_dirty()
    return {"expired": count}


def age_tokens(app: EmulatorApp, request: Request, tenant_id: int) -> dict[str, Any]:
    """POST /_emulator/tenants/{id}/tokens/age {"seconds": n}: n seconds pass for the tenant's tokens."""
    _tenant(app, tenant_id)
    seconds = _body(request).get("seconds")
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0:
        raise ControlError(400, "seconds must be a whole number of seconds, not negative")
    count = app.tokens.age_tenant(tenant_id, seconds)
    app.store.mark_dirty()
    return {"aged": count}


def revoke_tokens(app: EmulatorApp, request: Request, tenant_id: int) -> dict[str, Any]:
    """POST /_emulator/tenants/{id}/tokens/revoke: every chain of the tenant dies."""
    _tenant(app, tenant_id)
    count = app.tokens.revoke_tenant(tenant_id)
    app.store.mark_dirty()
    return {"revoked_chains": count}


def set_account(app: EmulatorApp, request: Request, tenant_id: int, number: int) -> dict[str, Any]:
    """PUT /_emulator/tenants/{id}/accounts/{number} {"active": bool, "financial_year"?: id}."""
    data = _body(request)
    active = _flag(data, "active")
    years = _years(_tenant(app, tenant_id), data.get("financial_year"))
    accounts = [y.accounts[number] for y in years if number in y.accounts]
    if not accounts:
        raise ControlError(404, f"no account {number}")
    for account in accounts:
        account.active = active
    app.store.mark_dirty()
    return {"number": number, "active": active, "financial_years": [y.id for y in years if number in y.accounts]}


def set_series(app: EmulatorApp, request: Request, tenant_id: int, code: str) -> dict[str, Any]:
    """PUT /_emulator/tenants/{id}/voucherseries/{code} {"manual": bool, "financial_year"?: id}."""
    data = _body(request)
    manual = _flag(data, "manual")
    years = [y for y in _years(_tenant(app, tenant_id), data.get("financial_year")) if code in y.series]
    if not years:
        raise ControlError(404, f"no voucher series {code}")
    for year in years:
        year.series[code].manual = manual
    app.store.mark_dirty()
    return {"code": code, "manual": manual, "financial_years": [y.id for y in years]}


def delete_series(app: EmulatorApp, request: Request, tenant_id: int, code: str) -> dict[str, Any]:
    """DELETE /_emulator/tenants/{id}/voucherseries/{code}[?financial_year=id]."""
    years = [y for y in _years(_tenant(app, tenant_id), request.args.get("financial_year")) if code in y.series]
    if not years:
        raise ControlError(404, f"no voucher series {code}")
    for year in years:
        del year.series[code]
    app.store.mark_dirty()
    return {"code": code, "deleted_from_financial_years": [y.id for y in years]}


def set_cost_center(app: EmulatorApp, request: Request, tenant_id: int, code: str) -> dict[str, Any]:
    """PUT /_emulator/tenants/{id}/costcenters/{code} {"active": bool}."""
    active = _flag(_body(request), "active")
    cost_center = _tenant(app, tenant_id).cost_centers.get(code)
    if cost_center is None:
        raise ControlError(404, f"no cost centre {code}")
    cost_center.active = active
    app.store.mark_dirty()
    return {"code": code, "active": active}


def delete_cost_center(app: EmulatorApp, request: Request, tenant_id: int, code: str) -> dict[str, Any]:
    """DELETE /_emulator/tenants/{id}/costcenters/{code}."""
    if _tenant(app, tenant_id).cost_centers.pop(code, None) is None:
        raise ControlError(404, f"no cost centre {code}")
    app.store.mark_dirty()
    return {"code": code, "deleted": True}


def set_locked_period(app: EmulatorApp, request: Request, tenant_id: int) -> dict[str, Any]:
    """PUT /_emulator/tenants/{id}/lockedperiod {"end_date": "YYYY-MM-DD" | null}."""
    raw = _body(request).get("end_date")
    try:
        end_date = date.fromisoformat(raw) if raw is not None else None
    except (TypeError, ValueError):
        raise ControlError(400, "end_date must be YYYY-MM-DD or null") from None
    _tenant(app, tenant_id).locked_until = end_date
    app.store.mark_dirty()
    return {"end_date": raw}


def delete_financial_year(app: EmulatorApp, request: Request, tenant_id: int, year_id: int) -> dict[str, Any]:
    """DELETE /_emulator/tenants/{id}/financialyears/{year_id} (its accounts and series go with it)."""
    if _tenant(app, tenant_id).financial_years.pop(year_id, None) is None:
        raise ControlError(404, f"no financial year {year_id}")
    app.store.mark_dirty()
    return {"financial_year": year_id, "deleted": True}


def _year_dates(data: dict[str, Any]) -> tuple[date, date]:
    """A financial year's ``from_date`` and ``to_date`` from a control body, in order, or a 400."""
    try:
        from_date, to_date = date.fromisoformat(data["from_date"]), date.fromisoformat(data["to_date"])
    except (KeyError, TypeError, ValueError):
        raise ControlError(400, "from_date and to_date must be YYYY-MM-DD") from None
    if to_date < from_date:
        raise ControlError(400, "to_date must not be before from_date")
    return from_date, to_date


def create_financial_year(app: EmulatorApp, request: Request, tenant_id: int) -> Response:
    """POST /_emulator/tenants/{id}/financialyears {"from_date", "to_date"} → 201 {"financial_year": id}.

    The new year takes the accounts and voucher series (numbering from 1) of the latest year that
    starts before it, as a person creating the next year in Fortnox's UI would keep them.
    """
    data = _body(request)
    tenant = _tenant(app, tenant_id)
    from_date, to_date = _year_dates(data)
    if any(y.from_date <= to_date and from_date <= y.to_date for y in tenant.financial_years.values()):
        raise ControlError(409, "the dates overlap an existing financial year")
    earlier = [y for y in tenant.financial_years.values() if y.from_date < from_date]
    model = max(earlier, key=lambda y: y.from_date) if earlier else None
    year_id = max(tenant.financial_years, default=0) + 1
    tenant.financial_years[year_id] = FinancialYear(
        id=year_id, from_date=from_date, to_date=to_date,
        accounts={n: replace(a) for n, a in model.accounts.items()} if model else {},
        series={c: replace(s, next_number=1) for c, s in model.series.items()} if model else {},
    )
    app.store.mark_dirty()
    return json_response({"financial_year": year_id}, 201)


def move_financial_year(app: EmulatorApp, request: Request, tenant_id: int, year_id: int) -> dict[str, Any]:
    """PUT /_emulator/tenants/{id}/financialyears/{year_id} {"from_date", "to_date"}: give a year without
    vouchers other dates (a broken financial year, such as 2026-05-01 – 2027-04-30); chart and series stay."""
    data = _body(request)
    tenant = _tenant(app, tenant_id)
    year = tenant.financial_years.get(year_id)
    if year is None:
        raise ControlError(404, f"no financial year {year_id}")
    from_date, to_date = _year_dates(data)
    if any(y.id != year_id and y.from_date <= to_date and from_date <= y.to_date
           for y in tenant.financial_years.values()):
        raise ControlError(409, "the dates overlap another financial year")
    if any(key[0] == year_id for key in tenant.vouchers):
        raise ControlError(409, "the financial year has vouchers")
    year.from_date, year.to_date = from_date, to_date
    app.store.mark_dirty()
    return {"financial_year": year_id, "from_date": from_date.isoformat(), "to_date": to_date.isoformat()}


def set_permission(app: EmulatorApp, request: Request, tenant_id: int, name: str) -> dict[str, Any]:
    """PUT /_emulator/tenants/{id}/permissions/{name} {"granted": bool}: give or take a user right
    (``vouchers``: creating vouchers) from the user the tenant's tokens act for."""
    if name not in PERMISSION_NAMES:
        raise ControlError(404, f"no permission {name}; known: {', '.join(sorted(PERMISSION_NAMES))}")
    granted = _flag(_body(request), "granted")
    tenant = _tenant(app, tenant_id)
    refused = [p for p in tenant.refused_permissions if p != name]
    tenant.refused_permissions = refused if granted else [*refused, name]
    app.store.mark_dirty()
    return {"permission": name, "granted": granted}


def stored_vouchers(app: EmulatorApp, request: Request, tenant_id: int) -> dict[str, Any]:
    """GET /_emulator/tenants/{id}/vouchers: every stored voucher with rows and the ids of the files
    connected to it; amounts as exact strings."""
    tenant = _tenant(app, tenant_id)
    files = _connected_files(tenant)
    return {"vouchers": [_voucher(v, files.get(key, [])) for key, v in tenant.vouchers.items()]}


def _connected_files(tenant: Tenant) -> dict[tuple[int, str, int], list[str]]:
    """The ids of the files connected to each voucher, by (financial year, series, number)."""
    files: dict[tuple[int, str, int], list[str]] = {}
    for connection in tenant.file_connections.values():
        files.setdefault((connection.year_id, connection.series, connection.number), []).append(connection.file_id)
    return files


def type_over_voucher(app: EmulatorApp, request: Request, tenant_id: int, year_id: int, series: str,
                      number: int) -> dict[str, Any]:
    """PUT /_emulator/tenants/{id}/vouchers/{year}/{series}/{number} {"rows": [...]}: the rows a user
    left on a stored voucher by typing over it (correcting it) in Fortnox's UI.

    Each row: ``account``, ``debit``, ``credit`` (exact strings or numbers), optional ``cost_center``
    and ``removed`` (a struck-out row, which the API shows with ``"Removed": true``). The rows are
    taken as given: no balance or account check, as nothing says how Fortnox's UI checks them.
    """
    tenant = _tenant(app, tenant_id)
    key = (year_id, series, number)
    voucher = tenant.vouchers.get(key)
    if voucher is None:
        raise ControlError(404, f"no voucher {series} {number} in financial year {year_id}")
    rows = _body(request).get("rows")
    if not isinstance(rows, list) or not rows:
        raise ControlError(400, "rows must be a non-empty list")
    voucher.rows = [_typed_row(tenant, year_id, row) for row in rows]
    # A new dict: the state file's append-only journal is rewritten, as after a reset.
    tenant.vouchers = dict(tenant.vouchers)
    app.store.mark_dirty()
    return _voucher(voucher, _connected_files(tenant).get(key, []))


def _typed_row(tenant: Tenant, year_id: int, data: Any) -> VoucherRow:
    if not isinstance(data, dict) or not isinstance(data.get("account"), int):
        raise ControlError(400, "each row needs an integer account")
    try:
        debit, credit = (Decimal(str(data.get(side, "0"))).quantize(Decimal("0.01")) for side in ("debit", "credit"))
    except InvalidOperation:
        raise ControlError(400, "debit and credit must be amounts") from None
    account = tenant.financial_years[year_id].accounts.get(data["account"])
    return VoucherRow(account=data["account"], debit=debit, credit=credit,
                      description=account.description if account else None,
                      cost_center=data.get("cost_center"), removed=data.get("removed") is True)


def stored_files(app: EmulatorApp, request: Request, tenant_id: int) -> dict[str, Any]:
    """GET /_emulator/tenants/{id}/files: every uploaded file, where it lies and the voucher it is connected to."""
    tenant = _tenant(app, tenant_id)
    answer = []
    for stored in tenant.files.values():
        connection = tenant.file_connections.get(stored.id)
        answer.append({
            "id": stored.id, "name": stored.name, "folder": stored.folder, "size": stored.size,
            "sha256": stored.sha256, "created_at": stored.created_at.isoformat(),
            "voucher": None if connection is None else {"financial_year": connection.year_id,
                                                        "series": connection.series, "number": connection.number},
        })
    return {"files": answer}


def _voucher(voucher: Voucher, files: list[str]) -> dict[str, Any]:
    return {
        "files": files,
        "financial_year": voucher.year_id,
        "series": voucher.series,
        "number": voucher.number,
        "transaction_date": voucher.transaction_date.isoformat(),
        "description": voucher.description,
        "comments": voucher.comments,
        "cost_center": voucher.cost_center,
        "project": voucher.project,
        "created_at": voucher.created_at.isoformat(),
        "rows": [{"account": r.account, "debit": f"{r.debit:.2f}", "credit": f"{r.credit:.2f}",
                  "cost_center": r.cost_center, "project": r.project, "description": r.description,
                  "transaction_information": r.transaction_information, "removed": r.removed}
                 for r in voucher.rows],
    }


#: Which readings no source gives as Fortnox's (all of them: facts-2026-12 "What no public source
#: settles"), and the one the docs do state: a sliding window (api-facts §5), no `Retry-After` seen.
UNSOURCED = {
    "date_filter": list(READINGS["date_filter"]),
    "descriptions": list(READINGS["descriptions"]),
    "rate_window": ["weighted"],
    "file_connection_filters": list(READINGS["file_connection_filters"]),
    "voucher_year_reading": list(READINGS["voucher_year_reading"]),
    "file_connection_pages": list(READINGS["file_connection_pages"]),
    "retry_after": ["every value: no source has seen Fortnox send Retry-After"],
}


def readings(app: EmulatorApp, request: Request) -> dict[str, Any]:
    """GET /_emulator/readings: how the emulator plays each fact no source settles, the choices, and
    which of them are unsourced."""
    settings = app.settings
    return {**{name: getattr(settings, name) for name in READINGS}, "retry_after": settings.retry_after,
            "choices": {name: list(values) for name, values in READINGS.items()}, "unsourced": UNSOURCED}


def set_readings(app: EmulatorApp, request: Request) -> dict[str, Any]:
    """PUT /_emulator/readings {"date_filter"?, "descriptions"?, "rate_window"?, "file_connection_filters"?,
    "voucher_year_reading"?, "file_connection_pages"?, "retry_after"?: seconds|null}."""
    data = _body(request)
    unknown = set(data) - {*READINGS, "retry_after"}
    if unknown:
        raise ControlError(400, f"unknown readings: {', '.join(sorted(unknown))}")
    settings = app.settings
    chosen = {name: str(data.get(name, getattr(settings, name))) for name in READINGS}
    try:
        check_readings(**chosen)
    except ValueError as exc:
        raise ControlError(400, str(exc)) from None
    retry_after = data.get("retry_after", settings.retry_after)
    if retry_after is not None and (isinstance(retry_after, bool) or not isinstance(retry_after, (int, float))
                                    and not hasattr(retry_after, "as_integer_ratio")):
        raise ControlError(400, "retry_after must be a number of seconds or null")
    if chosen["rate_window"] != settings.rate_window:
        app.limiter = make_limiter(chosen["rate_window"], app.limiter.limit, app.limiter.window)
    for name, value in chosen.items():
        setattr(settings, name, value)
    settings.retry_after = float(retry_after) if retry_after is not None else None
    return readings(app, request)


def get_delay(app: EmulatorApp, request: Request) -> dict[str, Any]:
    """GET /_emulator/delay."""
    return {"seconds": app.response_delay}


def set_delay(app: EmulatorApp, request: Request) -> dict[str, Any]:
    """PUT /_emulator/delay {"seconds": n}: every /3/ call waits this long first."""
    raw = _body(request).get("seconds")
    try:
        if isinstance(raw, bool):
            raise TypeError(raw)
        seconds = float(raw)  # parse_json gives Decimal for 1.5
    except (TypeError, ValueError):
        raise ControlError(400, "seconds must be a number") from None
    if seconds < 0:
        raise ControlError(400, "seconds must not be negative")
    app.response_delay = seconds
    return {"seconds": seconds}


def list_faults(app: EmulatorApp, request: Request) -> dict[str, Any]:
    """GET /_emulator/faults: the faults still armed."""
    return {"faults": [f.as_json() for f in app.faults.list()]}


def add_fault(app: EmulatorApp, request: Request) -> Response:
    """POST /_emulator/faults {"kind", "count", "method", "path_prefix", "tenant_id", "seconds", "after"}."""
    data = _body(request)
    try:
        fault = app.faults.add(
            kind=str(data.get("kind")), count=int(data.get("count", 1)), method=data.get("method"),
            path_prefix=data.get("path_prefix") or "/",
            tenant_id=int(data["tenant_id"]) if data.get("tenant_id") is not None else None,
            seconds=float(data["seconds"]) if data.get("seconds") is not None else None,
            after=data.get("after", "answer"))
    except (TypeError, ValueError) as exc:
        raise ControlError(400, str(exc)) from None
    return json_response(fault.as_json(), 201)


def clear_faults(app: EmulatorApp, request: Request) -> dict[str, Any]:
    """DELETE /_emulator/faults."""
    app.faults.clear()
    return {"faults": []}


def list_requests(app: EmulatorApp, request: Request) -> dict[str, Any]:
    """GET /_emulator/requests[?tenant_id=]: requests received on /3/ and /oauth-v1/, oldest first."""
    raw = request.args.get("tenant_id")
    tenant_id = int(raw) if raw and raw.isdigit() else None
    return {"requests": [e.as_json() for e in app.requests.entries(tenant_id)]}


def clear_requests(app: EmulatorApp, request: Request) -> dict[str, Any]:
    """DELETE /_emulator/requests."""
    app.requests.clear()
    return {"requests": []}


def auto_approve(app: EmulatorApp, request: Request) -> dict[str, Any]:
    """GET /_emulator/auto-approve."""
    return {"enabled": app.settings.auto_approve, "tenant_id": app.settings.auto_approve_tenant_id,
            "decision": app.settings.auto_approve_decision}


def set_auto_approve(app: EmulatorApp, request: Request) -> dict[str, Any]:
    """PUT /_emulator/auto-approve {"enabled": bool, "tenant_id"?: id|null, "decision"?: approve|deny}."""
    data = _body(request)
    enabled = _flag(data, "enabled")
    decision = data.get("decision", app.settings.auto_approve_decision)
    if decision not in ("approve", "deny"):
        raise ControlError(400, "decision must be approve or deny")
    tenant_id = data.get("tenant_id", app.settings.auto_approve_tenant_id)
    if tenant_id is not None:
        _tenant(app, int(tenant_id))
    app.settings.auto_approve = enabled
    app.settings.auto_approve_decision = decision
    app.settings.auto_approve_tenant_id = int(tenant_id) if tenant_id is not None else None
    return auto_approve(app, request)


# --- routing --------------------------------------------------------------------------------------

Handler = Callable[..., "dict[str, Any] | Response"]
T = "/_emulator/tenants/<int:tenant_id>"
ROUTES: dict[str, tuple[str, tuple[str, ...], Handler]] = {
    "info": ("/_emulator/", ("GET",), info),
    "tenants.list": ("/_emulator/tenants", ("GET",), list_tenants),
    "tenants.create": ("/_emulator/tenants", ("POST",), create_tenant),
    "tenants.reset": (f"{T}/reset", ("POST",), reset_tenant),
    "tokens.issue": (f"{T}/tokens", ("POST",), issue_tokens),
    "tokens.expire": (f"{T}/tokens/expire", ("POST",), expire_tokens),
    "tokens.revoke": (f"{T}/tokens/revoke", ("POST",), revoke_tokens),
    "tokens.age": (f"{T}/tokens/age", ("POST",), age_tokens),
    "accounts.set": (f"{T}/accounts/<int:number>", ("PUT",), set_account),
    "series.set": (f"{T}/voucherseries/<code>", ("PUT",), set_series),
    "series.delete": (f"{T}/voucherseries/<code>", ("DELETE",), delete_series),
    "costcenters.set": (f"{T}/costcenters/<code>", ("PUT",), set_cost_center),
    "costcenters.delete": (f"{T}/costcenters/<code>", ("DELETE",), delete_cost_center),
    "lockedperiod.set": (f"{T}/lockedperiod", ("PUT",), set_locked_period),
    "financialyears.delete": (f"{T}/financialyears/<int:year_id>", ("DELETE",), delete_financial_year),
    "financialyears.create": (f"{T}/financialyears", ("POST",), create_financial_year),
    "financialyears.move": (f"{T}/financialyears/<int:year_id>", ("PUT",), move_financial_year),
    "permissions.set": (f"{T}/permissions/<name>", ("PUT",), set_permission),
    "vouchers.list": (f"{T}/vouchers", ("GET",), stored_vouchers),
    "vouchers.type_over": (f"{T}/vouchers/<int:year_id>/<series>/<int:number>", ("PUT",), type_over_voucher),
    "readings.get": ("/_emulator/readings", ("GET",), readings),
    "readings.set": ("/_emulator/readings", ("PUT",), set_readings),
    "files.list": (f"{T}/files", ("GET",), stored_files),
    "delay.get": ("/_emulator/delay", ("GET",), get_delay),
    "delay.set": ("/_emulator/delay", ("PUT",), set_delay),
    "faults.list": ("/_emulator/faults", ("GET",), list_faults),
    "faults.add": ("/_emulator/faults", ("POST",), add_fault),
    "faults.clear": ("/_emulator/faults", ("DELETE",), clear_faults),
    "requests.list": ("/_emulator/requests", ("GET",), list_requests),
    "requests.clear": ("/_emulator/requests", ("DELETE",), clear_requests),
    "autoapprove.get": ("/_emulator/auto-approve", ("GET",), auto_approve),
    "autoapprove.set": ("/_emulator/auto-approve", ("PUT",), set_auto_approve),
}
URL_MAP = Map([Rule(rule, methods=list(methods), endpoint=name) for name, (rule, methods, _) in ROUTES.items()],
              strict_slashes=False)


def _check_caller(app: EmulatorApp, request: Request) -> None:
    """Only the holder of the control token, and a change only as JSON: a form or a `text/plain`
    fetch from a web page on another port (no CORS preflight) must not reach the control API."""
    expected = app.settings.control_token or ""
    given = request.headers.get("X-Emulator-Token", "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise ControlError(401, "missing or wrong X-Emulator-Token")
    if request.method not in ("GET", "HEAD") and request.mimetype != "application/json":
        raise ControlError(415, "the control API takes application/json")


def handle(app: EmulatorApp, request: Request) -> Response:
    """Route one control call; state changes happen under the store lock."""
    try:
        _check_caller(app, request)
        endpoint, args = URL_MAP.bind_to_environ(request.environ).match()
        with app.store.lock:
            result = ROUTES[endpoint][2](app, request, **args)
        app.store.save_if_dirty()
    except ControlError as exc:
        return json_response({"error": str(exc)}, exc.status)
    except HTTPException as exc:
        return json_response({"error": exc.name}, exc.code or 404)
    return result if isinstance(result, Response) else json_response(result)

