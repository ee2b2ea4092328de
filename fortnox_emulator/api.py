"""The emulated Fortnox REST API under /3/: routes, the scope each needs, and thin handlers.

Each handler reads its input, calls one operation (bookkeeping or a state change), and answers
with Fortnox's envelope: `{"<Singular>": {...}}` for one resource, `MetaInformation` plus the
plural for lists, 201 with a bare `Location: <plural>` header for creates (recorded answers).
Handlers run under the store lock; `ApiContext.changed()` marks the state for the state file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from fortnox_emulator import files, payload, resources
from fortnox_emulator.bookkeeping import create_voucher, parse_day_param, requested_year
from fortnox_emulator.errors import (
    ACCOUNT_NOT_FOUND_BY_ID,
    ALREADY_EXISTS,
    COST_CENTER_NOT_FOUND_BY_ID,
    FINANCIAL_YEAR_NOT_FOUND_BY_ID,
    IDENTIFIER_CHANGED,
    INVALID_PARAMETER,
    SERIES_NOT_FOUND_BY_ID,
    VOUCHER_IMMUTABLE,
    VOUCHER_NOT_FOUND,
    ErrorKind,
    FortnoxApiError,
)
from fortnox_emulator.jsonio import json_response, request_json
from fortnox_emulator.payload import Field
from fortnox_emulator.settings import EmulatorSettings
from fortnox_emulator.state import Account, CostCenter, FinancialYear, Tenant, VoucherSeries

K = TypeVar("K")
V = TypeVar("V")

try:  # Fortnox's `lastmodified` is Swedish local time; without tz data, read it as UTC.
    SWEDISH_TIME: Any = ZoneInfo("Europe/Stockholm")
except ZoneInfoNotFoundError:  # pragma: no cover - depends on the machine
    SWEDISH_TIME = UTC


@dataclass(slots=True)
class ApiContext:
    """What a handler needs: the request, its query, the caller's company and today's date."""

    request: Request
    args: Mapping[str, str]
    tenant: Tenant
    base: str
    today: date
    changed: Callable[[], None]
    settings: EmulatorSettings

    def year(self) -> FinancialYear:
        """The financial year the call asks for (`financialyear`, else the preselected one)."""
        return requested_year(self.tenant, self.args, self.today)

    def body(self, wrapper: str) -> dict[str, Any]:
        """The request's `{"<wrapper>": {...}}` object."""
        return payload.unwrap(request_json(self.request), wrapper)


def find(items: Mapping[K, V], key: K, not_found: ErrorKind) -> V:
    """`items[key]`, or Fortnox's 404 ErrorInformation of kind `not_found`."""
    found = items.get(key)
    if found is None:
        raise FortnoxApiError(not_found)
    return found


def ok(data: dict[str, Any]) -> Response:
    """200 with a JSON body."""
    return json_response(data)


def created(data: dict[str, Any], location: str) -> Response:
    """201 with Fortnox's bare `Location: <plural>` header."""
    return json_response(data, 201, {"Location": location})


# --- vouchers -----------------------------------------------------------------------------------

def list_vouchers(ctx: ApiContext, series: str | None = None) -> Response:
    """GET /3/vouchers, /3/vouchers/sublist and /3/vouchers/sublist/{series}."""
    year = ctx.year()
    series = series or ctx.args.get("voucherseries") or None
    from_date, to_date, to_included = _date_filter(ctx)
    modified_since = _last_modified(ctx.args.get("lastmodified"))
    cost_center = ctx.args.get("costcenter") or None
    vouchers = [
        v for v in ctx.tenant.vouchers.values()
        if v.year_id == year.id
        and (series is None or v.series == series)
        and (from_date is None or v.transaction_date >= from_date)
        and (to_date is None or v.transaction_date < to_date or (to_included and v.transaction_date == to_date))
        and (modified_since is None or v.created_at >= modified_since)
        and (cost_center is None or cost_center == v.cost_center
             or any(r.cost_center == cost_center for r in v.rows))
    ]
    vouchers.sort(key=lambda v: (v.series, v.number))
    return ok(resources.paginate(ctx.args, "Vouchers", vouchers,
                                 lambda v: resources.voucher_list_item_json(ctx.base, v)))


def _date_filter(ctx: ApiContext) -> tuple[date | None, date | None, bool]:
    """`fromdate`, `todate` and whether `todate` itself is kept, under the `date_filter` reading
    (docs/EMULATOR.md "Readings": no source says which is Fortnox's)."""
    reading = ctx.settings.date_filter
    given = [name for name in ("fromdate", "todate") if ctx.args.get(name)]
    if given and reading == "refused":
        raise FortnoxApiError(INVALID_PARAMETER)
    from_date = parse_day_param(ctx.args["fromdate"]) if ctx.args.get("fromdate") else None
    to_date = parse_day_param(ctx.args["todate"]) if ctx.args.get("todate") else None
    if reading == "ignored":
        return None, None, True
    return from_date, to_date, reading != "todate_exclusive"


def _last_modified(raw: str | None) -> datetime | None:
    """`lastmodified` as Fortnox writes it (`2019-03-10 12:30`, seconds optional), Swedish time."""
    if not raw:
        return None
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(raw, pattern).replace(tzinfo=SWEDISH_TIME)
        except ValueError:
            continue
    raise FortnoxApiError(INVALID_PARAMETER)


def get_voucher(ctx: ApiContext, series: str, number: str) -> Response:
    """GET /3/vouchers/{series}/{number}?financialyear=."""
    year = ctx.year()
    key = (year.id, series, int(number) if number.isdigit() else -1)
    return ok({"Voucher": resources.voucher_json(ctx.base, find(ctx.tenant.vouchers, key, VOUCHER_NOT_FOUND))})


def post_voucher(ctx: ApiContext) -> Response:
    """POST /3/vouchers: every rule in `bookkeeping`, then 201."""
    voucher = create_voucher(ctx.tenant, request_json(ctx.request), ctx.args, ctx.today,
                             normalise=ctx.settings.descriptions == "normalised")
    ctx.changed()
    return created({"Voucher": resources.voucher_json(ctx.base, voucher)}, "vouchers")


def refuse_voucher_change(ctx: ApiContext, series: str, number: str) -> Response:
    """PUT/DELETE /3/vouchers/{series}/{number}: a booked voucher never changes."""
    raise FortnoxApiError(VOUCHER_IMMUTABLE)


# --- voucher series -----------------------------------------------------------------------------

SERIES_FIELDS = (
    Field("Description", "description", "text", max_length=200),
    Field("Manual", "manual", "bool"),
)
SERIES_ACCEPTED = ("Code", "Description", "Manual", "Approver", "@url", "NextVoucherNumber", "Year")


def list_series(ctx: ApiContext) -> Response:
    """GET /3/voucherseries → VoucherSeriesCollection."""
    year = ctx.year()
    items = sorted(year.series.values(), key=lambda s: s.code)
    return ok(resources.paginate(ctx.args, "VoucherSeriesCollection", items,
                                 lambda s: resources.series_list_item_json(ctx.base, year, s)))


def get_series(ctx: ApiContext, code: str) -> Response:
    """GET /3/voucherseries/{code}."""
    year = ctx.year()
    series = find(year.series, code, SERIES_NOT_FOUND_BY_ID)
    return ok({"VoucherSeries": resources.series_json(ctx.base, year, series)})


def post_series(ctx: ApiContext) -> Response:
    """POST /3/voucherseries: a new series in the requested financial year."""
    data = ctx.body("VoucherSeries")
    payload.refuse_unknown_fields(data, SERIES_ACCEPTED)
    year = ctx.year()
    code = payload.text(data, "Code", required=True, max_length=10)
    if code in year.series:
        raise FortnoxApiError(ALREADY_EXISTS, what="Verifikationsserien", key=code)
    series = VoucherSeries(code=code, description="", manual=False)
    payload.apply_fields(series, data, SERIES_FIELDS)
    year.series[code] = series
    ctx.changed()
    return created({"VoucherSeries": resources.series_json(ctx.base, year, series)}, "voucherseries")


def put_series(ctx: ApiContext, code: str) -> Response:
    """PUT /3/voucherseries/{code}: change Description or Manual."""
    data = ctx.body("VoucherSeries")
    payload.refuse_unknown_fields(data, SERIES_ACCEPTED)
    year = ctx.year()
    series = find(year.series, code, SERIES_NOT_FOUND_BY_ID)
    _refuse_identifier_change(data, "Code", code)
    payload.apply_fields(series, data, SERIES_FIELDS)
    ctx.changed()
    return ok({"VoucherSeries": resources.series_json(ctx.base, year, series)})


# --- accounts -----------------------------------------------------------------------------------

SETTINGS_WORDS = ("ALLOWED", "MANDATORY", "NOTALLOWED")
ACCOUNT_FIELDS = (
    Field("Description", "description", "text", max_length=200, required=True),
    Field("Active", "active", "bool"),
    Field("BalanceBroughtForward", "balance_brought_forward", "decimal"),
    Field("CostCenter", "cost_center", "text"),
    Field("CostCenterSettings", "cost_center_settings", "choice", allowed=SETTINGS_WORDS),
    Field("Project", "project", "text"),
    Field("ProjectSettings", "project_settings", "choice", allowed=SETTINGS_WORDS),
    Field("SRU", "sru", "int"),
    Field("TransactionInformationSettings", "transaction_information_settings", "choice",
          allowed=SETTINGS_WORDS),
    Field("VATCode", "vat_code", "text"),
)
ACCOUNT_ACCEPTED = tuple(f.json_name for f in ACCOUNT_FIELDS) + (
    "Number", "@url", "Year", "BalanceCarriedForward", "OpeningQuantities", "QuantitySettings",
    "QuantityUnit", "TransactionInformation")


def list_accounts(ctx: ApiContext) -> Response:
    """GET /3/accounts, sorted by number (filter `sru`)."""
    year = ctx.year()
    sru = ctx.args.get("sru")
    if sru is not None and not sru.isdigit():
        raise FortnoxApiError(INVALID_PARAMETER)
    items = sorted((a for a in year.accounts.values() if sru is None or a.sru == int(sru)),
                   key=lambda a: a.number)
    return ok(resources.paginate(ctx.args, "Accounts", items,
                                 lambda a: resources.account_list_item_json(ctx.base, year, a)))


def get_account(ctx: ApiContext, number: int) -> Response:
    """GET /3/accounts/{number}."""
    year = ctx.year()
    account = find(year.accounts, number, ACCOUNT_NOT_FOUND_BY_ID)
    return ok({"Account": resources.account_json(ctx.base, year, account)})


def post_account(ctx: ApiContext) -> Response:
    """POST /3/accounts: a new account in the requested financial year."""
    data = ctx.body("Account")
    payload.refuse_unknown_fields(data, ACCOUNT_ACCEPTED)
    year = ctx.year()
    number = payload.integer(data, "Number", required=True)
    if not 1000 <= number <= 9999:
        raise FortnoxApiError(INVALID_PARAMETER)
    if number in year.accounts:
        raise FortnoxApiError(ALREADY_EXISTS, what="Konto", key=number)
    payload.text(data, "Description", required=True)
    account = Account(number=number, description="")
    payload.apply_fields(account, data, ACCOUNT_FIELDS)
    year.accounts[number] = account
    ctx.changed()
    return created({"Account": resources.account_json(ctx.base, year, account)}, "accounts")


def put_account(ctx: ApiContext, number: int) -> Response:
    """PUT /3/accounts/{number}: Number cannot change."""
    data = ctx.body("Account")
    payload.refuse_unknown_fields(data, ACCOUNT_ACCEPTED)
    year = ctx.year()
    account = find(year.accounts, number, ACCOUNT_NOT_FOUND_BY_ID)
    _refuse_identifier_change(data, "Number", number)
    payload.apply_fields(account, data, ACCOUNT_FIELDS)
    ctx.changed()
    return ok({"Account": resources.account_json(ctx.base, year, account)})


# --- cost centres -------------------------------------------------------------------------------

COST_CENTER_FIELDS = (
    Field("Description", "description", "text", required=True),
    Field("Active", "active", "bool"),
    Field("Note", "note", "text"),
)
COST_CENTER_ACCEPTED = ("Code", "Description", "Active", "Note", "@url")


def list_cost_centers(ctx: ApiContext) -> Response:
    """GET /3/costcenters, sorted by code."""
    items = sorted(ctx.tenant.cost_centers.values(), key=lambda c: c.code)
    return ok(resources.paginate(ctx.args, "CostCenters", items,
                                 lambda c: resources.cost_center_json(ctx.base, c)))


def get_cost_center(ctx: ApiContext, code: str) -> Response:
    """GET /3/costcenters/{code}."""
    cost_center = find(ctx.tenant.cost_centers, code, COST_CENTER_NOT_FOUND_BY_ID)
    return ok({"CostCenter": resources.cost_center_json(ctx.base, cost_center)})


def post_cost_center(ctx: ApiContext) -> Response:
    """POST /3/costcenters (Code 1–6 characters, Description required)."""
    data = ctx.body("CostCenter")
    payload.refuse_unknown_fields(data, COST_CENTER_ACCEPTED)
    code = payload.text(data, "Code", required=True, max_length=6)
    if code in ctx.tenant.cost_centers:
        raise FortnoxApiError(ALREADY_EXISTS, what="Kostnadsstället", key=code)
    payload.text(data, "Description", required=True)
    cost_center = CostCenter(code=code, description="")
    payload.apply_fields(cost_center, data, COST_CENTER_FIELDS)
    ctx.tenant.cost_centers[code] = cost_center
    ctx.changed()
    return created({"CostCenter": resources.cost_center_json(ctx.base, cost_center)}, "costcenters")


def put_cost_center(ctx: ApiContext, code: str) -> Response:
    """PUT /3/costcenters/{code}: change Description, Active or Note."""
    data = ctx.body("CostCenter")
    payload.refuse_unknown_fields(data, COST_CENTER_ACCEPTED)
    cost_center = find(ctx.tenant.cost_centers, code, COST_CENTER_NOT_FOUND_BY_ID)
    _refuse_identifier_change(data, "Code", code)
    payload.apply_fields(cost_center, data, COST_CENTER_FIELDS)
    ctx.changed()
    return ok({"CostCenter": resources.cost_center_json(ctx.base, cost_center)})


# --- financial years, locked period, company ------------------------------------------------------

def list_financial_years(ctx: ApiContext) -> Response:
    """GET /3/financialyears[?date=]: with `date`, the year covering it or an empty list."""
    raw = ctx.args.get("date") or ctx.args.get("Date")  # the docs use `date`, the spec `Date`
    day = parse_day_param(raw) if raw else None
    items = sorted((y for y in ctx.tenant.financial_years.values() if day is None or y.contains(day)),
                   key=lambda y: y.from_date)
    return ok(resources.paginate(ctx.args, "FinancialYears", items,
                                 lambda y: resources.financial_year_json(ctx.base, y)))


def get_financial_year(ctx: ApiContext, year_id: int) -> Response:
    """GET /3/financialyears/{id}."""
    year = find(ctx.tenant.financial_years, year_id, FINANCIAL_YEAR_NOT_FOUND_BY_ID)
    return ok({"FinancialYear": resources.financial_year_json(ctx.base, year)})


def get_locked_period(ctx: ApiContext) -> Response:
    """GET /3/settings/lockedperiod; EndDate is null when nothing is locked."""
    return ok({"LockedPeriod": {"EndDate": ctx.tenant.locked_until}})


def get_company_information(ctx: ApiContext) -> Response:
    """GET /3/companyinformation."""
    return ok({"CompanyInformation": resources.company_information_json(ctx.tenant)})


def get_me(ctx: ApiContext) -> Response:
    """GET /3/me."""
    return ok({"MeInformation": resources.me_json(ctx.tenant)})


def _refuse_identifier_change(data: Mapping[str, Any], field: str, current: object) -> None:
    if data.get(field) is not None and str(data[field]) != str(current):
        raise FortnoxApiError(IDENTIFIER_CHANGED, field=field)


# --- routing --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Route:
    """One API route: path pattern, methods, handler, and the scopes of which one is needed.

    `scopes` None means any valid token will do (`/3/me`, whose scope no source names).
    `permission`: the user right it needs beside the scope (refused through the control API).
    """

    rule: str
    methods: tuple[str, ...]
    handler: Callable[..., Response]
    scopes: frozenset[str] | None
    permission: str | None = None


BOOKKEEPING = frozenset({"bookkeeping"})
ROUTES: dict[str, Route] = {
    "vouchers.list": Route("/3/vouchers", ("GET",), list_vouchers, BOOKKEEPING),
    "vouchers.post": Route("/3/vouchers", ("POST",), post_voucher, BOOKKEEPING, permission="vouchers"),
    "vouchers.sublist": Route("/3/vouchers/sublist", ("GET",), list_vouchers, BOOKKEEPING),
    "vouchers.sublist_series": Route("/3/vouchers/sublist/<series>", ("GET",), list_vouchers, BOOKKEEPING),
    "vouchers.get": Route("/3/vouchers/<series>/<number>", ("GET",), get_voucher, BOOKKEEPING),
    "vouchers.change": Route("/3/vouchers/<series>/<number>", ("PUT", "DELETE"), refuse_voucher_change,
                             BOOKKEEPING),
    "voucherseries.list": Route("/3/voucherseries", ("GET",), list_series, BOOKKEEPING),
    "voucherseries.post": Route("/3/voucherseries", ("POST",), post_series, BOOKKEEPING),
    "voucherseries.get": Route("/3/voucherseries/<code>", ("GET",), get_series, BOOKKEEPING),
    "voucherseries.put": Route("/3/voucherseries/<code>", ("PUT",), put_series, BOOKKEEPING),
    "accounts.list": Route("/3/accounts", ("GET",), list_accounts, BOOKKEEPING),
    "accounts.post": Route("/3/accounts", ("POST",), post_account, BOOKKEEPING),
    "accounts.get": Route("/3/accounts/<int:number>", ("GET",), get_account, BOOKKEEPING),
    "accounts.put": Route("/3/accounts/<int:number>", ("PUT",), put_account, BOOKKEEPING),
    "costcenters.list": Route("/3/costcenters", ("GET",), list_cost_centers, frozenset({"costcenter"})),
    "costcenters.post": Route("/3/costcenters", ("POST",), post_cost_center, frozenset({"costcenter"})),
    "costcenters.get": Route("/3/costcenters/<code>", ("GET",), get_cost_center, frozenset({"costcenter"})),
    "costcenters.put": Route("/3/costcenters/<code>", ("PUT",), put_cost_center, frozenset({"costcenter"})),
    "financialyears.list": Route("/3/financialyears", ("GET",), list_financial_years, BOOKKEEPING),
    "financialyears.get": Route("/3/financialyears/<int:year_id>", ("GET",), get_financial_year, BOOKKEEPING),
    # No source names the scope of the locked period; either of the two believed ones will do.
    "lockedperiod.get": Route("/3/settings/lockedperiod", ("GET",), get_locked_period,
                              frozenset({"settings", "bookkeeping"})),
    "companyinformation.get": Route("/3/companyinformation", ("GET",), get_company_information,
                                    frozenset({"companyinformation"})),
    "me.get": Route("/3/me", ("GET",), get_me, None),
    "inbox.get": Route("/3/inbox", ("GET",), files.get_inbox, frozenset({"inbox"})),
    "inbox.post": Route("/3/inbox", ("POST",), files.upload_to_inbox, frozenset({"inbox"})),
    "archive.get": Route("/3/archive", ("GET",), files.get_archive, frozenset({"archive"})),
    "archive.post": Route("/3/archive", ("POST",), files.upload_to_archive, frozenset({"archive"})),
    "voucherfileconnections.list": Route("/3/voucherfileconnections", ("GET",), files.list_connections,
                                         frozenset({"connectfile"})),
    "voucherfileconnections.post": Route("/3/voucherfileconnections", ("POST",), files.connect_file,
                                         frozenset({"connectfile"})),
    "voucherfileconnections.get": Route("/3/voucherfileconnections/<file_id>", ("GET",), files.get_connection,
                                        frozenset({"connectfile"})),
}

URL_MAP = Map([Rule(route.rule, methods=list(route.methods), endpoint=name) for name, route in ROUTES.items()],
              strict_slashes=False)
