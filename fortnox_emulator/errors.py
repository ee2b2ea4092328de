"""Every error the emulated Fortnox API answers with, in one table.

Codes are Fortnox's where a public source gives them (docs/fortnox/api-facts.md §3.2 and the
README's "Decisions where the sources are silent"); where no source gives a code, the code comes
from 2999000–2999999, a range Fortnox does not use, so no test can come to depend on a guessed real
code. docs/EMULATOR.md repeats this table for people.

Fortnox's `ErrorInformation` comes with two key casings (`Error/Message/Code` in recorded 404s,
`error/message/code` in recorded 400s) and some clients read `code` as a string. The casing is
fixed per error kind here, so answers are deterministic while every casing occurs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Casing(StrEnum):
    """How the keys of one `ErrorInformation` object are spelled."""

    #: {"Error": 1, "Message": "...", "Code": 2000433}: as in recorded 404 answers
    PASCAL = "pascal"
    #: {"error": 1, "message": "...", "code": 2000587}: as in recorded 400 answers
    LOWER = "lower"
    #: {"error": 1, "message": "...", "code": "2000588"}: the C# SDK maps `code` as a string
    LOWER_STRING_CODE = "lower_string_code"


@dataclass(frozen=True, slots=True)
class ErrorKind:
    """One kind of refusal: HTTP status, Fortnox code, Swedish message template and key casing.

    `message` may hold `{name}` placeholders, filled from the parameters of `FortnoxApiError`.
    `source` says where the code and message come from (for docs/EMULATOR.md).
    """

    name: str
    status: int
    code: int
    message: str
    casing: Casing
    source: str

    def body(self, **params: Any) -> dict[str, Any]:
        """The `{"ErrorInformation": {...}}` envelope of this kind, in its casing."""
        message = self.message.format(**params)
        if self.casing is Casing.PASCAL:
            inner: dict[str, Any] = {"Error": 1, "Message": message, "Code": self.code}
        elif self.casing is Casing.LOWER:
            inner = {"error": 1, "message": message, "code": self.code}
        else:
            inner = {"error": 1, "message": message, "code": str(self.code)}
        return {"ErrorInformation": inner}


class FortnoxApiError(Exception):
    """A refusal by the emulated API; the view layer turns it into the ErrorInformation answer.

    `status` overrides the kind's HTTP status (used for the configurable missing-scope status).
    """

    def __init__(self, kind: ErrorKind, *, status: int | None = None, **params: Any) -> None:
        super().__init__(f"{kind.name}: {kind.message.format(**params)}")
        self.kind = kind
        self.status = status or kind.status
        self.params = params

    def body(self) -> dict[str, Any]:
        """The JSON body Fortnox would send for this refusal."""
        return self.kind.body(**self.params)


def _kind(name: str, status: int, code: int, message: str, casing: Casing, source: str) -> ErrorKind:
    return ErrorKind(name, status, code, message, casing, source)


P, L, S = Casing.PASCAL, Casing.LOWER, Casing.LOWER_STRING_CODE

# --- voucher rules (HTTP 400) -------------------------------------------------------------------
VOUCHER_TOO_FEW_ROWS = _kind(
    "voucher_too_few_rows", 400, 2001897, "Verifikationen måste ha minst två rader.", P,
    "code: Sharespine [B]; message: ours")
VOUCHER_UNBALANCED = _kind(
    "voucher_unbalanced", 400, 2999001,
    "Verifikationen balanserar inte. Debet {debit} och kredit {credit} skiljer sig åt.", L,
    "no source: code and message ours")
ACCOUNT_NOT_FOUND = _kind(
    "account_not_found", 400, 2001304, "Kunde inte hitta konto", P, "official errors page [V]")
ACCOUNT_INACTIVE = _kind(
    "account_inactive", 400, 2999002, 'Konto "{account}" är inte aktivt', L,
    "message: Onslip/gastrogate/Mynt/Loco help pages [B]; code ours")
COST_CENTER_NOT_FOUND = _kind(
    "cost_center_not_found", 400, 2999003, 'Kostnadsstället "{code}" finns inte', L,
    "no source: code and message ours")
COST_CENTER_INACTIVE = _kind(
    "cost_center_inactive", 400, 2000947, 'Kostnadsstället "{code}" är inte aktivt', L,
    "code: Sharespine [B]; message ours")
COST_CENTER_MANDATORY = _kind(
    "cost_center_mandatory", 400, 2000946, 'Kostnadsställe är obligatoriskt på konto "{account}"', L,
    "code: Sharespine [B]; message: Pleo help [B]")
COST_CENTER_NOT_ALLOWED = _kind(
    "cost_center_not_allowed", 400, 2999004, 'Kostnadsställe är ej tillåtet på konto "{account}"', L,
    "message: Pleo help [B]; code ours")
SERIES_NOT_FOUND = _kind(
    "series_not_found", 400, 2999005, "Ogiltig verifikationsserie angiven", L,
    "message: Nox Finans/Pleo help [B]; code ours")
SERIES_NOT_MANUAL = _kind(
    "series_not_manual", 400, 2001940, "Verifikationsserien är inte manuell ({series}).", P,
    "README decision (OPEN Two help page)")
NO_FINANCIAL_YEAR = _kind(
    "no_financial_year", 400, 2999006, "Räkenskapsår saknas för valt datum", L,
    "message: support.fortnox.se UI text [B]; code ours")
DATE_OUTSIDE_FINANCIAL_YEAR = _kind(
    "date_outside_financial_year", 400, 2999007,
    "Verifikationsdatumet {date} ligger inte i valt räkenskapsår ({from_date} – {to_date})", L,
    "no source: code and message ours")
PERIOD_LOCKED = _kind(
    "period_locked", 400, 2000401,
    "Bokföringen har låst perioden t.o.m. {end_date}. Lås upp perioden för att fortsätta.", S,
    "README decision (Sharespine [B])")
VOUCHER_IMMUTABLE = _kind(
    "voucher_immutable", 400, 2999008,
    "En bokförd verifikation kan inte ändras eller tas bort. Gör en rättelseverifikation.", S,
    "no source: code and message ours (Fortnox has no update of vouchers)")

# --- request shape (HTTP 400) -------------------------------------------------------------------
FIELD_REQUIRED = _kind(
    "field_required", 400, 2999009, 'Fältet "{field}" måste anges.', L, "no source: ours")
FIELD_TOO_LONG = _kind(
    "field_too_long", 400, 2999010, 'Fältet "{field}" får vara högst {max_length} tecken.', L,
    "no source: ours")
INVALID_DATE = _kind(
    "invalid_date", 400, 2999011, 'Ogiltigt datum i fältet "{field}": {value}', L, "no source: ours")
ALREADY_EXISTS = _kind(
    "already_exists", 400, 2999012, "{what} {key} finns redan.", L, "no source: ours")
IDENTIFIER_CHANGED = _kind(
    "identifier_changed", 400, 2999013, 'Fältet "{field}" kan inte ändras.', L, "no source: ours")
FINANCIAL_YEAR_PARAM_UNKNOWN = _kind(
    "financial_year_param_unknown", 400, 2999014, "Räkenskapsåret {year} finns inte.", L,
    "no source: ours")
NOT_NUMERIC = _kind(
    "not_numeric", 400, 2000108, 'Värdet i fältet "{field}" måste vara numeriskt.', L,
    "official errors page [V] (English text only); message ours")
NOT_BOOLEAN = _kind(
    "not_boolean", 400, 2000134, 'Värdet i fältet "{field}" måste vara ett booleskt värde.', L,
    "official errors page [V] (English text only); message ours")
INVALID_FIELD_NAME = _kind(
    "invalid_field_name", 400, 2001399, 'Ogiltigt fältnamn "{field}".', S,
    "official errors page [V] (English text only); message ours")
NO_DATA_IN_BODY = _kind(
    "no_data_in_body", 400, 2001392, "Ingen eller felaktig data i anropet.", S,
    "official errors page [V] (English text only); message ours")
INVALID_JSON = _kind(
    "invalid_json", 400, 2002115, "Fel vid tolkning av JSON.", S,
    "official errors page [V] (English text only); message ours")
INVALID_PARAMETER = _kind(
    "invalid_parameter", 400, 2000588, "Ogiltig parameter i anropet.", S, "official errors page [V]")

# --- files: inbox, archive, voucher file connections (HTTP 400) ----------------------------------
FILE_MISSING = _kind(
    "file_missing", 400, 2999015, 'Ingen fil i anropet (fältet "file").', L, "no source: code and message ours")
FILE_TOO_LARGE = _kind(
    "file_too_large", 400, 2999016, "Filen är för stor: högst {limit} byte.", L,
    "no source: code and message ours; the limit is the max_upload_bytes setting (facts-2026-12 #10)")
FOLDER_NOT_FOUND = _kind(
    "folder_not_found", 400, 2999017, "Kan inte hitta mappen {path}.", L, "no source: code and message ours")
FILE_NOT_FOUND = _kind(
    "file_not_found", 400, 2999018, "Kan inte hitta filen {file_id}.", L, "no source: code and message ours")
FILE_ALREADY_CONNECTED = _kind(
    "file_already_connected", 400, 2999019, "Filen {file_id} är redan kopplad till en verifikation.", L,
    "no source: code and message ours")
VOUCHER_YEAR_IN_BODY = _kind(
    "voucher_year_in_body", 400, 2000321, "VoucherYear kan inte anges vid koppling av fil.", L,
    "code: reported for a VoucherYear in the body (facts-2026-12) [B]; message ours")
CONNECTION_VOUCHER_NOT_FOUND = _kind(
    "connection_voucher_not_found", 400, 2999020,
    "Kan inte hitta verifikation {series}{number} i räkenskapsår {year}.", L, "no source: code and message ours")

# --- access ---------------------------------------------------------------------------------------
MISSING_SCOPE = _kind(
    "missing_scope", 400, 2000663, "Har inte behörighet för scope", S,
    "official errors page [V]; status 400 as seen live (403 via the scope_error_status setting)")
PERMISSION_DENIED = _kind(
    "permission_denied", 403, 2999021, "Saknar rättighet för {permission}.", L,
    "message: Saknar rättighet … (facts-2026-12) [B, Pleo]; code ours; status 403 "
    "(400 via the permission_error_status setting)")

# --- not found (HTTP 404) -------------------------------------------------------------------------
VOUCHER_NOT_FOUND = _kind(
    "voucher_not_found", 404, 2999101, "Kan inte hitta verifikationen.", P, "no source: code ours")
ACCOUNT_NOT_FOUND_BY_ID = _kind(
    "account_not_found_by_id", 404, 2999102, "Kan inte hitta kontot.", P,
    "message: a fixture [B]; code ours (2000423 there is synthetic)")
COST_CENTER_NOT_FOUND_BY_ID = _kind(
    "cost_center_not_found_by_id", 404, 2999103, "Kan inte hitta kostnadsstället.", P,
    "no source: code ours")
SERIES_NOT_FOUND_BY_ID = _kind(
    "series_not_found_by_id", 404, 2999104, "Kan inte hitta verifikationsserien.", P,
    "no source: code ours")
CONNECTION_NOT_FOUND_BY_ID = _kind(
    "connection_not_found_by_id", 404, 2999106, "Kan inte hitta kopplingen.", P, "no source: code ours")
FINANCIAL_YEAR_NOT_FOUND_BY_ID = _kind(
    "financial_year_not_found_by_id", 404, 2999105, "Kan inte hitta räkenskapsåret.", P,
    "no source: code ours")
NO_SUCH_ROUTE = _kind(
    "no_such_route", 404, 2000762, "No such route", P, "softwerkab issue #51 [V]")

# --- server (HTTP 500, injected by the control API) -----------------------------------------------
SYSTEM_EXCEPTION = _kind(
    "system_exception", 500, 1000003, "Ett systemfel har inträffat.", P,
    "code: official errors page [V] (System exception); message ours")

#: Every kind, in the order docs/EMULATOR.md lists them.
ALL_ERROR_KINDS: tuple[ErrorKind, ...] = tuple(v for v in list(globals().values()) if isinstance(v, ErrorKind))

del P, L, S
