"""Fortnox's refusals and transport failures as exception classes that carry data.

One base, :class:`FortnoxError`, and a subclass only where the export engine behaves differently
(style B7). Every class has a stable, machine-readable :attr:`FortnoxError.reason` (snake_case) that
the engine stores as the block reason code; ``backoffice.messages`` turns it into Swedish at the edge, and
``str(exc)`` stays English, for logs.

:func:`error_for` is the only place that reads a Fortnox error body (``docs/fortnox/api-facts.md``
§3, §4.4, §5). What it has to cope with:

- ``ErrorInformation`` comes with both ``Error/Message/Code`` and ``error/message/code``, and ``code``
  as a number or a string;
- an expired access token answers 401 ``{"message": "unauthorized"}``, not ``ErrorInformation``;
- the token endpoint answers OAuth errors (``{"error": "invalid_grant", ...}``) with a ``text/html``
  or ``text/plain`` content type although the body is JSON;
- a 429's body and headers are unknown; outages and unknown routes answer ``text/html``.

Classification goes by HTTP status first (401, 403, 404, 429, 5xx), then by Fortnox code where the
code is documented, then by the Swedish message. Codes the sources do not know are never guessed:
the emulator uses 2999000–2999999 for them, so those refusals are classified by their message only
(``docs/fortnox/README.md``, "Decisions where the sources are silent").
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError


class FortnoxError(Exception):
    """Base class of everything that can go wrong talking to Fortnox.

    message: an English sentence for logs (``str(exc)`` adds the HTTP status and Fortnox's own text).
    status: the HTTP status, or None when no response arrived.
    code: Fortnox's ``ErrorInformation`` code as an int, or None when the body carried none.
    fortnox_message: Fortnox's own (usually Swedish) text, shown to the user under our sentence.
    subject: what the refusal is about when Fortnox's message names it (the account number, the
        series or cost-centre code, the last locked date), else None; ``subject_kind`` says which.
    reason: a stable snake_case code for this kind of failure (a class attribute); a refusal's is the
        value of the ``export.reasons.Reason`` a job it blocks carries (tests/export/test_engine.py).
    summary: what went wrong in English, the start of the messages ``error_for`` writes (a class attribute).
    subject_kind: the detail key of ``subject`` ("account", "series", "cost_center",
        "locked_through"), or None for a class whose refusals name nothing (a class attribute).
    ambiguous: True when the request may have taken effect although no success was seen, so a
        POST must be reconciled (``find_voucher``) before it is sent again.
    """

    reason: ClassVar[str] = "fortnox_error"
    summary: ClassVar[str] = "Fortnox answered with an unexpected response"
    subject_kind: ClassVar[str | None] = None
    ambiguous: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        fortnox_message: str | None = None,
        subject: int | str | date | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.fortnox_message = fortnox_message
        self.subject = subject

    def __str__(self) -> str:
        details = []
        if self.status is not None:
            details.append(f"HTTP {self.status}")
        if self.code is not None:
            details.append(f"Fortnox code {self.code}")
        if self.fortnox_message:
            details.append(f"Fortnox says {self.fortnox_message!r}")
        return f"{self.message} ({', '.join(details)})" if details else self.message


class FortnoxConnectionError(FortnoxError):
    """No answer came back: timeout, connection refused or reset, name resolution, broken body.

    ambiguous: True when the request may have reached Fortnox (read timeout, reset after sending),
        False when it surely did not (connect timeout, connection refused, unknown host).
    """

    reason = "transient"

    def __init__(self, message: str, *, ambiguous: bool) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous


class FortnoxServerError(FortnoxError):
    """Fortnox answered 5xx (or an unreadable success): try again later.

    Ambiguous: for a POST the voucher may still have been stored, so reconcile before posting again.
    """

    reason = "transient"
    summary = "Fortnox had a server error"
    ambiguous = True


class FortnoxRateLimited(FortnoxError):
    """Fortnox answered 429: more than its 25 calls per 5 s. Fortnox did not process the request.

    retry_after: seconds from the ``Retry-After`` header, or None (it is not known to be sent).
    """

    reason = "rate_limited"
    summary = "Fortnox rate limit exceeded"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class FortnoxAuthError(FortnoxError):
    """The authorisation is gone: access token refused (401) or refresh token used, expired or revoked
    (``invalid_grant``). The user must connect the company to Fortnox again."""

    reason = "auth_expired"
    summary = "Fortnox refused the authorisation (expired or revoked)"


class InvalidClientError(FortnoxAuthError):
    """The token endpoint refused our client id or secret (401 ``invalid_client``): our configuration."""

    reason = "invalid_client"
    summary = "Fortnox refused our client id or secret"


class NotFoundError(FortnoxError):
    """A GET by id found nothing (HTTP 404)."""

    reason = "not_found"
    summary = "Fortnox found no such resource"


class FortnoxRejected(FortnoxError):
    """Fortnox refused the request for a cause that waits for a fix by the user (a blocking cause).

    Each subclass's ``reason`` is the value of the ``Reason`` a job it blocks carries; a refusal no
    subclass names keeps ``rejected`` (a voucher's is a ``VoucherInvalidError``).
    """

    reason = "rejected"
    summary = "Fortnox refused the request"


class AccessDeniedError(FortnoxRejected):
    """A scope or licence is missing (2000663, 2001101, 2001103; HTTP 400 or 403)."""

    reason = "access_denied"
    summary = "Fortnox denied access (missing scope or licence)"


class SeriesNotManualError(FortnoxRejected):
    """The voucher series does not allow manual vouchers ("Verifikationsserien är inte manuell (F)").

    subject: the series code when the message names it, else None.
    """

    reason = "series_not_manual"
    summary = "the voucher series does not allow manual vouchers"
    subject_kind = "series"


class SeriesMissingError(FortnoxRejected):
    """The voucher series does not exist in that financial year ("Ogiltig verifikationsserie").

    subject: the series code when the message names it, else None.
    """

    reason = "series_missing"
    summary = "the voucher series does not exist in that financial year"
    subject_kind = "series"


class AccountMissingError(FortnoxRejected):
    """An account does not exist ("Kunde inte hitta konto", "Kontot "4011" existerar inte").

    subject: the account number when the message names it, else None.
    """

    reason = "account_missing"
    summary = "an account does not exist in Fortnox"
    subject_kind = "account"


class AccountInactiveError(FortnoxRejected):
    """An account exists but is not active (``Konto "3001" är inte aktivt``).

    subject: the account number when the message names it, else None.
    """

    reason = "account_inactive"
    summary = "an account is inactive in Fortnox"
    subject_kind = "account"


class CostCenterMissingError(FortnoxRejected):
    """A cost centre does not exist.

    subject: the cost-centre code when the message names it, else None.
    """

    reason = "cost_center_missing"
    summary = "a cost centre does not exist in Fortnox"
    subject_kind = "cost_center"


class CostCenterInactiveError(FortnoxRejected):
    """A cost centre exists but is not active (2000947).

    subject: the cost-centre code when the message names it, else None.
    """

    reason = "cost_center_inactive"
    summary = "a cost centre is inactive in Fortnox"
    subject_kind = "cost_center"


class NoFinancialYearError(FortnoxRejected):
    """No financial year covers the voucher's date ("Räkenskapsår saknas för valt datum")."""

    reason = "no_financial_year"
    summary = "no financial year covers the voucher's date"


class PeriodLockedError(FortnoxRejected):
    """The voucher's date is in a locked period (2000401, "…har låst perioden t.o.m. 2026-10-31…").

    subject: the last locked date when the message names it, else None.
    """

    reason = "period_locked"
    summary = "the voucher's date is in a locked period"
    subject_kind = "locked_through"


class VoucherInvalidError(FortnoxRejected):
    """Any other refusal of a voucher (unbalanced, fewer than two rows 2001897, …)."""

    reason = "voucher_invalid"
    summary = "Fortnox refused the voucher"


# --- classification -------------------------------------------------------------------------------

#: Documented codes (api-facts.md §3.2, README decisions). Codes the sources do not know are absent
#: on purpose: those refusals are classified by their message.
_CLASS_BY_CODE: dict[int, type[FortnoxError]] = {
    2000310: FortnoxAuthError,  # "Ogiltig inloggning" (legacy auth)
    2000311: FortnoxAuthError,  # "Kan inte logga in, access-token eller client-secret saknas"
    2000663: AccessDeniedError,  # "Har inte behörighet för scope" (HTTP 400 or 403)
    2001101: AccessDeniedError,  # "Det finns ingen aktiv licens för önskat scope"
    2001103: AccessDeniedError,  # "Api-licens saknas."
    2001940: SeriesNotManualError,  # "Verifikationsserien är inte manuell (F)." (OPEN Two)
    2001304: AccountMissingError,  # "Kunde inte hitta konto"
    2000423: AccountMissingError,  # "Kan inte hitta kontot."
    2000947: CostCenterInactiveError,
    2000401: PeriodLockedError,  # "…har låst perioden t.o.m. <date>…"
    2001897: VoucherInvalidError,  # fewer than two rows
}

#: Message rules, tried in order (the first match wins), each a tuple of (lower-case fragments that
#: must all occur, class). Cost centres and series come before accounts, because "existerar inte"
#: and "inte aktivt" occur in all three; accounts before financial years, because an account message
#: may name the year ("Kontot 3001 existerar inte i räkenskapsåret"); a bare "existerar inte" is last.
_RULES_BY_MESSAGE: tuple[tuple[tuple[str, ...], type[FortnoxError]], ...] = (
    (("behörighet",), AccessDeniedError),  # "Saknar behörighet …"
    (("rättighet",), AccessDeniedError),  # "Saknar rättighet …" (facts-2026-12: both are user permission refusals)
    (("scope",), AccessDeniedError),
    (("licens",), AccessDeniedError),
    (("låst period",), PeriodLockedError),
    (("kostnadsställe", "inte aktiv"), CostCenterInactiveError),
    (("kostnadsställe", "inaktiv"), CostCenterInactiveError),
    (("kostnadsställe", "ej aktiv"), CostCenterInactiveError),
    (("kostnadsställe", "hitta"), CostCenterMissingError),
    (("kostnadsställe", "existerar inte"), CostCenterMissingError),
    (("kostnadsställe", "finns inte"), CostCenterMissingError),
    (("kostnadsställe", "saknas"), CostCenterMissingError),
    (("inte manuell",), SeriesNotManualError),
    (("ogiltig verifikationsserie",), SeriesMissingError),
    (("verifikationsserie", "existerar inte"), SeriesMissingError),
    (("verifikationsserie", "finns inte"), SeriesMissingError),
    (("verifikationsserie", "saknas"), SeriesMissingError),
    (("konto", "inte aktiv"), AccountInactiveError),
    (("konto", "inaktiv"), AccountInactiveError),
    (("hitta konto",), AccountMissingError),
    (("kont", "existerar inte"), AccountMissingError),
    (("räkenskapsår",), NoFinancialYearError),
    (("fiscal year",), NoFinancialYearError),
    (("financial year",), NoFinancialYearError),
    (("existerar inte",), AccountMissingError),
)

_QUOTED = re.compile(r"[\"“”']([^\"“”']{1,10})[\"“”']")
_PARENTHESISED = re.compile(r"\(([A-Za-z0-9]{1,10})\)")
_ACCOUNT = re.compile(r"kont(?:o|ot)\s*:?\s*[\"“”']?(\d{4})\b", re.IGNORECASE)
_ISO_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


def error_for(response: requests.Response) -> FortnoxError:
    """Return the :class:`FortnoxError` that a non-successful Fortnox ``response`` stands for.

    Works for the REST API (``/3/...``) and the OAuth endpoints alike, whatever the body: an
    ``ErrorInformation`` envelope in either key casing, a bare ``{"message": ...}``, an OAuth
    ``{"error": ...}``, HTML, an empty body or invalid JSON.
    """
    status = response.status_code
    data = _json_object(response.content)
    code, fortnox_message, oauth_error = _read_error_body(data)
    cls = _classify(status, code, fortnox_message, oauth_error, _is_voucher_post(response))
    message = f"{cls.summary}: {_request_line(response)}"
    if data is None and response.content:  # an HTML outage page is no message to show anyone
        content_type = response.headers.get("Content-Type", "no content type")
        message += f" (the body was {len(response.content)} bytes of {content_type}, not a JSON object)"
    common = {"status": status, "code": code, "fortnox_message": fortnox_message}
    text = fortnox_message or ""
    if cls is FortnoxRateLimited:
        return FortnoxRateLimited(message, retry_after=_retry_after(response), **common)
    subject = _SUBJECT_IN[cls.subject_kind](text) if cls.subject_kind else None
    return cls(message, subject=subject, **common)


#: What ``requests`` raises when no usable answer came back; :func:`connection_error_for` turns these
#: into :class:`FortnoxConnectionError`. Configuration mistakes (``InvalidURL``…) are left to surface.
TRANSPORT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def connection_error_for(exc: BaseException, *, method: str, url: str) -> FortnoxConnectionError:
    """Turn a transport exception (from requests/urllib3) into a :class:`FortnoxConnectionError`.

    Only a failure to connect at all (connect timeout, refused, unknown host) is unambiguous; anything
    else may have reached Fortnox, and for a POST that means the voucher may exist.
    """
    ambiguous = not _surely_not_sent(exc)
    certainty = "may have reached Fortnox" if ambiguous else "did not reach Fortnox"
    return FortnoxConnectionError(
        f"no answer from Fortnox to {method} {urlsplit(url).path} ({type(exc).__name__}); the request {certainty}",
        ambiguous=ambiguous,
    )


def _classify(
    status: int, code: int | None, text: str | None, oauth_error: str | None, is_voucher_post: bool
) -> type[FortnoxError]:
    """Pick the class: HTTP status first, then documented code, then message."""
    if status == 429:
        return FortnoxRateLimited
    if oauth_error == "invalid_client":
        return InvalidClientError
    # A refused refresh token, and a client-credentials grant without (or with a revoked) service
    # consent: Fortnox documents neither answer exactly, so both OAuth codes mean "connect again".
    if oauth_error in ("invalid_grant", "unauthorized_client") or status == 401:
        return FortnoxAuthError
    if status >= 500:
        return FortnoxServerError
    if status == 404:
        return NotFoundError
    if status == 403:
        return AccessDeniedError
    if not 400 <= status < 500:
        return FortnoxError
    if oauth_error is not None:  # invalid_request, invalid_scope, unsupported_grant_type…
        return FortnoxRejected
    if code in _CLASS_BY_CODE:
        return _CLASS_BY_CODE[code]
    lowered = (text or "").casefold()
    for fragments, cls in _RULES_BY_MESSAGE:
        if all(fragment in lowered for fragment in fragments):
            return cls
    return VoucherInvalidError if is_voucher_post else FortnoxRejected


def _json_object(content: bytes) -> dict | None:
    """The body as a JSON object, whatever the content type claims, or None."""
    if not content:
        return None
    try:
        data = json.loads(content)
    except ValueError:  # HTML outage page, plain text, truncated JSON, bad UTF-8
        return None
    return data if isinstance(data, dict) else None


def _read_error_body(data: dict | None) -> tuple[int | None, str | None, str | None]:
    """Return ``(code, message, oauth_error)`` from any known error body shape.

    ``ErrorInformation`` with ``Error/Message/Code`` or ``error/message/code`` (any casing); a bare
    ``{"message": ...}`` (401, maybe 429); an OAuth ``{"error": "invalid_grant",
    "error_description": ...}`` from the token endpoint.
    """
    if data is None:
        return None, None, None
    fields = _casefolded(data)
    information = fields.get("errorinformation")
    if isinstance(information, dict):
        inner = _casefolded(information)
        return _as_code(inner.get("code")), _as_text(inner.get("message")), None
    oauth_error = fields.get("error")
    if isinstance(oauth_error, str):
        description = _as_text(fields.get("error_description"))
        return None, f"{oauth_error}: {description}" if description else oauth_error, oauth_error
    return _as_code(fields.get("code")), _as_text(fields.get("message")), None


def _casefolded(data: dict) -> dict:
    return {str(key).casefold(): value for key, value in data.items()}


def _as_code(value: object) -> int | None:
    """Fortnox sends ``code`` as a number or a string; anything else is no code."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _is_voucher_post(response: requests.Response) -> bool:
    request = response.request
    if request is None or request.method != "POST" or not request.url:
        return False
    return urlsplit(request.url).path.rstrip("/").endswith("/vouchers")


def _request_line(response: requests.Response) -> str:
    request = response.request
    if request is None or not request.url:
        return f"HTTP {response.status_code}"
    return f"{request.method} {urlsplit(request.url).path}"


def _retry_after(response: requests.Response) -> float | None:
    """Seconds from ``Retry-After`` (delta-seconds or an HTTP date), or None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _series_in(text: str) -> str | None:
    """``Verifikationsserien är inte manuell (F).`` names the series in parentheses, or quoted."""
    match = _PARENTHESISED.search(text) or _QUOTED.search(text)
    return match.group(1) if match else None


def _account_in(text: str) -> int | None:
    """``Konto "3001" är inte aktivt`` / ``Kontot "4011" existerar inte`` / ``Kunde inte hitta konto 3001``."""
    match = _ACCOUNT.search(text)
    if match is None:
        quoted = _QUOTED.search(text)
        return int(quoted.group(1)) if quoted and re.fullmatch(r"\d{4}", quoted.group(1)) else None
    return int(match.group(1))


def _quoted_in(text: str) -> str | None:
    match = _QUOTED.search(text)
    return match.group(1) if match else None


def _date_in(text: str) -> date | None:
    match = _ISO_DATE.search(text)
    if match is None:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


#: How ``error_for`` reads a refusal's ``subject`` from Fortnox's message, by ``subject_kind``.
_SUBJECT_IN = {"series": _series_in, "account": _account_in, "cost_center": _quoted_in, "locked_through": _date_in}


def _surely_not_sent(exc: BaseException) -> bool:
    """True when the chain of ``exc`` shows the connection was never made.

    requests wraps urllib3's errors (``ConnectionError(MaxRetryError(reason=NewConnectionError))``),
    so the chain is walked through ``args``, ``reason``, ``__cause__`` and ``__context__``.
    """
    never_connected = (requests.exceptions.ConnectTimeout, ConnectTimeoutError, NewConnectionError)
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, never_connected):
            return True
        linked = [*current.args, getattr(current, "reason", None), current.__cause__, current.__context__]
        stack.extend(item for item in linked if isinstance(item, BaseException))
    return False
