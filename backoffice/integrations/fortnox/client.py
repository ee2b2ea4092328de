"""``FortnoxClient``: one method per Fortnox resource the product uses (``docs/fortnox/api-facts.md`` §2).

The caller owns authentication: it passes a ``requests.Session`` that authenticates each request
(``auth=`` setting ``Authorization: Bearer <access token>``, or a plain session with the header set,
in tests). The client adds the base URL, an explicit ``(connect, read)`` timeout, the rate limiter,
JSON with exact ``Decimal`` amounts both ways, and turns every failure into a
:class:`~backoffice.integrations.fortnox.errors.FortnoxError`.

Retry policy (style B7, B8):

- Every HTTP request, retries included, first takes a slot from the tenant's rate-limit budget
  (:mod:`~backoffice.integrations.fortnox.budget`). That is why retries are a
  small bounded loop here and not urllib3's ``Retry`` mounted on the session: urllib3 would send its
  retries behind the limiter's back (each one a request Fortnox counts), and mounting an adapter would
  change a session the caller owns.
- A 429 means Fortnox did not process the request, so any request, POST included, is retried after the
  window drains (``Retry-After`` when sent), at most :data:`RATE_LIMIT_RETRIES` times, each counted in
  :attr:`FortnoxClient.rate_limited_count`.
- A GET is retried after a transport error or a 5xx, at most ``len(GET_RETRY_DELAYS)`` times.
- **A POST is never retried otherwise.** Fortnox vouchers cannot be deleted and Fortnox offers no
  idempotency key, so every voucher carries our token in ``Comments`` and after an ambiguous failure
  the export engine looks for it (:meth:`find_vouchers`, then :meth:`get_voucher`) first.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from backoffice.integrations.fortnox.errors import (
    TRANSPORT_ERRORS,
    AccessDeniedError,
    FortnoxConnectionError,
    FortnoxError,
    FortnoxRateLimited,
    FortnoxRejected,
    FortnoxServerError,
    connection_error_for,
    error_for,
)
from backoffice.integrations.fortnox.ratelimit import RateBudget, SlidingWindowLimiter
from backoffice.integrations.fortnox.schemas import dumps_body

#: Fortnox's largest page (C# SDK ``ApiConstants.MaxLimit``); its default is 100.
PAGE_LIMIT = 500
#: How often a request answered 429 is sent again before :class:`FortnoxRateLimited` is raised.
RATE_LIMIT_RETRIES = 3
#: A ``Retry-After`` longer than this is not waited out inside a call: the engine schedules a retry.
MAX_RATE_LIMIT_WAIT = 60.0
#: Pauses before the retries of a GET that failed in transport or with a 5xx.
GET_RETRY_DELAYS = (0.5, 2.0)
#: The inbox folder for vouchers' underlag (``POST /3/inbox?path=inbox_v``).
VOUCHER_INBOX = "inbox_v"


class FortnoxClient:
    """The Fortnox REST API (``base_url`` like ``https://api.fortnox.se/3``) for one connection.

    session: authenticates every request (the caller's business; see the module docstring).
    timeout: ``(connect, read)`` seconds, never None.
    limiter: the tenant's rate-limit budget, normally ``budget.budget_for(…)`` so that every client of
        that tenant, in this process and (on PostgreSQL) in every other, shares it; a private one when None.
    before_send: called before every request; it may refuse by raising (``connection.no_transaction_open``
        refuses while a database transaction is open).
    rate_limited_count: how many 429 answers this client has met (and waited out).
    page_limit: items asked for per page of a list (Fortnox's largest page, 500).
    """

    page_limit = PAGE_LIMIT

    def __init__(
        self,
        session: requests.Session,
        *,
        base_url: str,
        timeout: tuple[float, float] = (5.0, 30.0),
        limiter: RateBudget | None = None,
        before_send: Callable[[], None] | None = None,
    ) -> None:
        if timeout is None or len(timeout) != 2:
            raise ValueError("timeout must be a (connect, read) pair")
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.limiter: RateBudget = limiter if limiter is not None else SlidingWindowLimiter()
        self.before_send = before_send
        self.rate_limited_count = 0
        self._count_lock = threading.Lock()
        #: Fortnox refused a date filter on a voucher list once: :meth:`find_vouchers` sends none again
        self._date_filter_refused = False

    # --- vouchers ---------------------------------------------------------------------------------

    def create_voucher(self, body: dict, *, financial_year: int | None = None) -> dict:
        """POST a ready ``{"Voucher": {...}}`` body and return the stored ``Voucher`` (with its number).

        ``financial_year`` is the financial-year *Id*; without it Fortnox uses the preselected year.
        Never retried except after a 429; an ambiguous failure (``exc.ambiguous``) must be
        reconciled with :meth:`find_vouchers` before posting again.
        """
        params = {"financialyear": financial_year} if financial_year is not None else None
        return self._request("POST", "/vouchers", params=params, body=body)["Voucher"]

    def find_vouchers(
        self, series: str, financial_year: int, near: date, matches: Callable[[dict], bool]
    ) -> list[dict]:
        """Every voucher list item of ``financial_year`` that ``matches`` (``carries_token``), oldest first.

        Right whatever ``fromdate``/``todate`` mean on the sublist (docs/fortnox/facts-2026-12.md §1:
        inclusive, ``todate`` exclusive, ignored or refused): the first look asks for ``series`` from
        ``near`` to the day after (the day is inside under every reading that filters), and only a
        match found there is taken from it. An empty first look proves nothing, so then every voucher
        of the financial year, in every series, is read page by page, with no date filter; "none"
        comes only from that. A refused date filter (HTTP 400) goes straight to the full read, and
        this client stops sending date filters.
        """
        year = {"financialyear": financial_year}
        if not self._date_filter_refused:
            window = {**year, "fromdate": near.isoformat(), "todate": (near + timedelta(days=1)).isoformat()}
            try:
                found = [item for item in self._list(f"/vouchers/sublist/{_segment(series)}", "Vouchers", window)
                         if matches(item)]
            except FortnoxRejected as exc:
                if isinstance(exc, AccessDeniedError):
                    raise
                self._date_filter_refused = True
            else:
                if found:
                    return found
        return [item for item in self._list("/vouchers", "Vouchers", year) if matches(item)]

    def list_vouchers(self, series: str, *, financial_year: int) -> list[dict]:
        """Every voucher list item (no rows) of ``series`` in a financial year, every page.

        No date filter is sent: whether ``fromdate``/``todate`` work on this endpoint, and how, no
        source settles (``docs/fortnox/facts-2026-12.md`` 1), so the caller picks the dates itself.
        """
        return self._list(f"/vouchers/sublist/{_segment(series)}", "Vouchers", {"financialyear": financial_year})

    def list_all_vouchers(self, *, financial_year: int | None = None) -> list[dict]:
        """Every voucher list item (all series, every page) of the preselected or given financial year."""
        params = {"financialyear": financial_year} if financial_year is not None else None
        return self._list("/vouchers", "Vouchers", params)

    def get_voucher(self, series: str, number: int, financial_year: int | None = None) -> dict:
        """Return one voucher with its rows (raises ``NotFoundError`` when there is none)."""
        params = {"financialyear": financial_year} if financial_year is not None else None
        return self._request("GET", f"/vouchers/{_segment(series)}/{int(number)}", params=params)["Voucher"]

    # --- accounts ---------------------------------------------------------------------------------

    def list_accounts(self, *, financial_year: int | None = None) -> list[dict]:
        """All accounts (every page) of the preselected financial year, or of ``financial_year``."""
        params = {"financialyear": financial_year} if financial_year is not None else None
        return self._list("/accounts", "Accounts", params)

    def create_account(self, number: int, description: str, *, active: bool = True) -> dict:
        """Create an account in the preselected financial year and return it."""
        body = {"Account": {"Number": int(number), "Description": description, "Active": active}}
        return self._request("POST", "/accounts", body=body)["Account"]

    def update_account(self, number: int, **fields: Any) -> dict:
        """Change an account's fields, named as Fortnox names them (``Active=False``, ``VATCode="MP1"``)."""
        return self._request("PUT", f"/accounts/{int(number)}", body={"Account": fields})["Account"]

    # --- voucher series, cost centres, financial years, settings ----------------------------------

    def list_voucher_series(self, *, financial_year: int | None = None) -> list[dict]:
        """All voucher series (``VoucherSeriesCollection``) of the preselected or given financial year."""
        params = {"financialyear": financial_year} if financial_year is not None else None
        return self._list("/voucherseries", "VoucherSeriesCollection", params)

    def create_voucher_series(self, code: str, description: str, *, manual: bool = True) -> dict:
        """Create a voucher series (``Manual`` allows vouchers from integrations) and return it."""
        body = {"VoucherSeries": {"Code": code, "Description": description, "Manual": manual}}
        return self._request("POST", "/voucherseries", body=body)["VoucherSeries"]

    def list_cost_centers(self) -> list[dict]:
        """All cost centres (they are not per financial year)."""
        return self._list("/costcenters", "CostCenters")

    def create_cost_center(self, code: str, description: str) -> dict:
        """Create a cost centre and return it."""
        body = {"CostCenter": {"Code": code, "Description": description}}
        return self._request("POST", "/costcenters", body=body)["CostCenter"]

    def list_financial_years(self, for_date: date | None = None) -> list[dict]:
        """All financial years, or only the one covering ``for_date`` (an empty list: none does).

        The filter is ``date``; ``financialyeardate`` does not filter this endpoint (api-facts §2.6).
        """
        params = {"date": for_date.isoformat()} if for_date is not None else None
        return self._list("/financialyears", "FinancialYears", params)

    def locked_through(self) -> date | None:
        """The last date of the locked period, or None when nothing is locked.

        Fortnox: "If no date is returned, no period is locked"; a missing, null or empty ``EndDate``
        all mean that, since the exact representation is unverified (api-facts §2.7).
        """
        locked = self._request("GET", "/settings/lockedperiod").get("LockedPeriod") or {}
        end_date = locked.get("EndDate")
        return date.fromisoformat(end_date) if end_date else None

    def company_information(self) -> dict:
        """The ``CompanyInformation`` object (``DatabaseNumber`` is the tenant id)."""
        return self._request("GET", "/companyinformation")["CompanyInformation"]

    def me(self) -> dict:
        """The ``MeInformation`` object of the user who authorised the connection."""
        return self._request("GET", "/me")["MeInformation"]

    # --- files: the inbox and voucher file connections (facts-2026-12, "Attaching a file") --------

    def upload_to_inbox(self, name: str, content: bytes, *, folder: str = VOUCHER_INBOX) -> dict:
        """POST the file to the inbox folder (``inbox_v``: underlag for vouchers), ``multipart/form-data``
        with the field ``file``; return the stored ``File`` (``Id``, ``Name``, ``Size``…).

        Never retried except after a 429: after an ambiguous failure the file may be in the inbox, so
        the caller looks for it there (:meth:`list_inbox`) before uploading again.
        """
        files = {"file": (name, content, "application/pdf")}
        return self._request("POST", "/inbox", params={"path": folder}, files=files)["File"]

    def list_inbox(self, *, folder: str = VOUCHER_INBOX) -> list[dict]:
        """The files lying in an inbox folder, not yet connected to anything (``Folder.Files``)."""
        found = self._request("GET", "/inbox", params={"path": folder}).get("Folder") or {}
        return list(found.get("Files") or [])

    def connect_file(self, file_id: str, series: str, number: int, *, financial_year: int) -> dict:
        """Connect an uploaded file to the voucher ``series`` ``number`` of ``financial_year`` (its Id).

        The year is required here: without it Fortnox connects the file to the voucher with that number
        in the preselected year, which may be another day's voucher. ``VoucherYear`` must not be in the
        body (2000321). Never retried except after a 429.
        """
        body = {"VoucherFileConnection": {"FileId": file_id, "VoucherSeries": series, "VoucherNumber": str(number)}}
        return self._request("POST", "/voucherfileconnections", params={"financialyear": financial_year},
                             body=body)["VoucherFileConnection"]

    def voucher_file_connections(self, series: str, number: int, *, years: tuple[int, ...]) -> list[dict]:
        """The files connected to the vouchers ``series`` ``number`` whose ``VoucherYear`` is one of ``years``.

        The filters ``voucherseries`` and ``vouchernumber`` are named only by a third-party page, so
        the answer is filtered again here: right whether Fortnox honours them or lists every connection.
        No source says whether ``VoucherYear`` is the financial-year Id (like a voucher's ``Year``) or a
        calendar year, so the caller passes both and no year filter is sent; a connection without one
        is kept. Our own file is recognised by its ``FileId`` anyway, which is unique. Every page is
        read (:meth:`_list`), whether Fortnox pages this list or answers it whole.
        """
        params = {"voucherseries": series, "vouchernumber": int(number)}
        items = self._list("/voucherfileconnections", "VoucherFileConnections", params)
        wanted = {str(year) for year in years} | {"None", ""}
        return [
            item for item in items
            if item.get("VoucherSeries") == series and str(item.get("VoucherNumber")) == str(number)
            and str(item.get("VoucherYear")) in wanted
        ]

    def list_voucher_file_connections(self, series: str) -> list[dict]:
        """Every file connection of the vouchers in ``series`` (all years), every page.

        ``voucherseries`` is sent to shorten the answer, and the answer is filtered again here (the filter
        is named only by a third-party page). No year filter: whether ``VoucherYear`` is the year's Id or a
        calendar year is unsettled, so the caller matches it under both readings.
        """
        items = self._list("/voucherfileconnections", "VoucherFileConnections", {"voucherseries": series})
        return [item for item in items if item.get("VoucherSeries") == series]

    # --- plumbing ---------------------------------------------------------------------------------

    def _list(self, path: str, key: str, params: Mapping[str, Any] | None = None) -> list[dict]:
        """Every item of a paged list: ``limit`` (500) and ``page`` until ``@TotalPages`` is reached.

        An empty list answers ``@TotalPages: 0`` with ``@CurrentPage: 1``. Without ``MetaInformation``
        the next page is read while a page comes back exactly full; a list answered whole (more items
        than ``limit``, or the same page again: ``limit`` and ``page`` ignored) ends there, so a list
        that is not paged is read once and never twice.
        """
        items: list[dict] = []
        page = 1
        previous: list[dict] | None = None
        while True:
            data = self._request("GET", path, params={**(params or {}), "limit": self.page_limit, "page": page})
            batch = data.get(key) or []
            meta = data.get("MetaInformation")
            if not meta and batch == previous:  # the same page again: ``page`` is ignored
                return items
            items.extend(batch)
            if not batch:
                return items
            if meta:
                if page >= int(meta.get("@TotalPages") or 0):
                    return items
            elif len(batch) != self.page_limit:
                return items
            previous = batch
            page += 1

    def _request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: dict | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> dict:
        """Send one logical request with the retry policy of the module docstring; return the JSON object.

        ``body`` is sent as JSON; ``files`` as ``multipart/form-data`` (requests sets its boundary).
        """
        url = self.base_url + path
        data = dumps_body(body).encode("ascii") if body is not None else None
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        rate_limited = 0
        transient = 0
        while True:
            try:
                return self._send(method, url, params, data, headers, files)
            except FortnoxRateLimited as exc:
                self._count_rate_limited()
                rate_limited += 1
                pause = exc.retry_after
                # Every client of this connection pauses (the limiter is shared), also when we give up
                # here; the next acquire() sleeps until the pause is over and Fortnox's window is empty.
                self.limiter.report_rate_limited(min(pause, MAX_RATE_LIMIT_WAIT) if pause is not None else None)
                if rate_limited > RATE_LIMIT_RETRIES or (pause is not None and pause > MAX_RATE_LIMIT_WAIT):
                    raise
            except (FortnoxConnectionError, FortnoxServerError):
                if method != "GET" or transient >= len(GET_RETRY_DELAYS):
                    raise
                time.sleep(GET_RETRY_DELAYS[transient])
                transient += 1

    def _send(self, method: str, url: str, params: Mapping[str, Any] | None, data: bytes | None, headers: dict,
              files: Mapping[str, tuple[str, bytes, str]] | None = None) -> dict:
        """One HTTP request through the limiter; raise the matching FortnoxError unless it succeeded."""
        if self.before_send is not None:
            self.before_send()
        with self.limiter.slot():
            try:
                response = self.session.request(
                    method, url, params=params, data=data, headers=headers, timeout=self.timeout, files=files
                )
                content = response.content  # read the body inside the try: it can break too
            except TRANSPORT_ERRORS as exc:
                raise connection_error_for(exc, method=method, url=url) from exc
        if response.status_code >= 400:
            raise error_for(response)
        if not content:
            return {}
        try:
            parsed = response.json(parse_float=Decimal)
        except ValueError as exc:
            # A success whose body we cannot read: for a POST the resource may exist, so ambiguous.
            raise FortnoxServerError(
                f"Fortnox answered {method} {_path_of(url)} with a body that is not JSON", status=response.status_code
            ) from exc
        if not isinstance(parsed, dict):
            status = response.status_code
            raise FortnoxError(f"Fortnox answered {method} {_path_of(url)} with a non-object", status=status)
        return parsed

    def _count_rate_limited(self) -> None:
        with self._count_lock:
            self.rate_limited_count += 1


_WORD = re.compile(r"[0-9a-z]+")


def carries_token(token: str) -> Callable[[dict], bool]:
    """Whether a voucher (list item or whole) carries ``token`` in its ``Comments``. Our tokens are
    lower-case letters and digits, which no reading of Fortnox's text handling changes."""
    return lambda voucher: token in _WORD.findall((voucher.get("Comments") or "").lower())


def described_as(description: str) -> Callable[[dict], bool]:
    """Whether a voucher's ``Description`` is ``description`` once case, spacing and punctuation are
    set aside (Fortnox may normalise them: facts-2026-12 §2). For vouchers posted before tokens."""
    wanted = _comparable(description)
    return lambda voucher: _comparable(voucher.get("Description") or "") == wanted


def _comparable(text: str) -> str:
    return " ".join("".join(c if c.isalnum() else " " for c in text.casefold()).split())


def _segment(value: str) -> str:
    """A path segment: series codes are short, but never let one add a path level or a query."""
    return quote(str(value), safe="")


def _path_of(url: str) -> str:
    """The path of ``url``, for messages."""
    return urlsplit(url).path
