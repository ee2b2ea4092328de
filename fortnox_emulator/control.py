"""`EmulatorControl`: the Python client of the control API (/_emulator/), one method per endpoint.

Back-office tests use it to shape the emulated company (deactivate an account, lock a period),
to break things on purpose (faults, delays, expired tokens), and to look at what arrived
(request log, stored vouchers). Every method raises `requests.HTTPError` when the emulator refuses.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import requests


class EmulatorControl:
    """Talks to one emulator's control API at `base_url` (e.g. "http://127.0.0.1:50123") with its
    control `token` (`EmulatorSettings.control_token`)."""

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        if token:
            self._session.headers["X-Emulator-Token"] = token

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    def _call(self, method: str, path: str, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        if json is None and method != "GET":
            json = {}  # a change is always sent as application/json
        response = self._session.request(method, f"{self.base_url}/_emulator{path}", json=json, params=params,
                                         timeout=self.timeout)
        response.raise_for_status()
        return response.json()

    # --- emulator-wide --------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """GET /_emulator/: client id, tenant ids, default tenant, delay, auto-approve, rate limit."""
        return self._call("GET", "/")

    def list_tenants(self) -> list[dict[str, Any]]:
        """GET /_emulator/tenants: [{"tenant_id", "name", "org_number"}]."""
        return self._call("GET", "/tenants")["tenants"]

    def create_tenant(self, name: str, org_number: str) -> int:
        """POST /_emulator/tenants: a new seeded company; returns its tenant id."""
        return self._call("POST", "/tenants", {"name": name, "org_number": org_number})["tenant_id"]

    def get_delay(self) -> float:
        """GET /_emulator/delay: seconds every /3/ call waits."""
        return self._call("GET", "/delay")["seconds"]

    def set_delay(self, seconds: float) -> None:
        """PUT /_emulator/delay: make every /3/ call wait `seconds` (0 to stop)."""
        self._call("PUT", "/delay", {"seconds": seconds})

    def readings(self) -> dict[str, Any]:
        """GET /_emulator/readings: date_filter, descriptions, rate_window, file_connection_filters,
        voucher_year_reading, file_connection_pages, retry_after, the choices and which are unsourced."""
        return self._call("GET", "/readings")

    def set_readings(self, **readings: Any) -> dict[str, Any]:
        """PUT /_emulator/readings: play other readings of the unsettled facts (``date_filter="refused"``,
        ``descriptions="normalised"``, ``rate_window="weighted"``, ``file_connection_filters="ignored"``,
        ``voucher_year_reading="calendar"``, ``file_connection_pages="paged"``, ``retry_after=2`` or None)."""
        return self._call("PUT", "/readings", readings)

    def add_fault(self, kind: str, *, count: int = 1, method: str | None = None, path_prefix: str = "/",
                  tenant_id: int | None = None, seconds: float | None = None, after: str = "answer"
                  ) -> dict[str, Any]:
        """POST /_emulator/faults: arm `kind` ("500", "429", "drop", "timeout_after_store") for the
        next `count` requests matching method, path prefix and tenant. `seconds` is the wait of
        timeout_after_store (`after`: "answer" or "drop") or the Retry-After of a 429."""
        return self._call("POST", "/faults", {"kind": kind, "count": count, "method": method,
                                              "path_prefix": path_prefix, "tenant_id": tenant_id,
                                              "seconds": seconds, "after": after})

    def list_faults(self) -> list[dict[str, Any]]:
        """GET /_emulator/faults: the faults still armed."""
        return self._call("GET", "/faults")["faults"]

    def clear_faults(self) -> None:
        """DELETE /_emulator/faults."""
        self._call("DELETE", "/faults")

    def requests(self, tenant_id: int | None = None) -> list[dict[str, Any]]:
        """GET /_emulator/requests: [{"method", "path", "query", "tenant_id", "status", "time",
        "fault"}], oldest first; status is None when no answer was sent."""
        params = {"tenant_id": tenant_id} if tenant_id is not None else None
        return self._call("GET", "/requests", params=params)["requests"]

    def clear_requests(self) -> None:
        """DELETE /_emulator/requests."""
        self._call("DELETE", "/requests")

    def get_auto_approve(self) -> dict[str, Any]:
        """GET /_emulator/auto-approve: {"enabled", "tenant_id", "decision"}."""
        return self._call("GET", "/auto-approve")

    def set_auto_approve(self, enabled: bool, *, tenant_id: int | None = None, decision: str = "approve"
                         ) -> dict[str, Any]:
        """PUT /_emulator/auto-approve: skip the consent page, for `tenant_id` (default: the first
        tenant), answering `decision` ("approve" or "deny")."""
        return self._call("PUT", "/auto-approve", {"enabled": enabled, "tenant_id": tenant_id,
                                                    "decision": decision})

    # --- one tenant -------------------------------------------------------------------------------
    def reset_tenant(self, tenant_id: int) -> None:
        """POST /_emulator/tenants/{id}/reset: books back to the seed (tokens keep working)."""
        self._call("POST", f"/tenants/{tenant_id}/reset")

    def issue_tokens(self, tenant_id: int, scope: str = "bookkeeping costcenter companyinformation settings"
                     ) -> dict[str, Any]:
        """POST /_emulator/tenants/{id}/tokens: a token answer as /oauth-v1/token gives, without consent."""
        return self._call("POST", f"/tenants/{tenant_id}/tokens", {"scope": scope})

    def expire_access_tokens(self, tenant_id: int) -> int:
        """POST /_emulator/tenants/{id}/tokens/expire: its access tokens answer 401; returns how many."""
        return self._call("POST", f"/tenants/{tenant_id}/tokens/expire")["expired"]

    def age_tokens(self, tenant_id: int, seconds: int) -> int:
        """POST /_emulator/tenants/{id}/tokens/age: ``seconds`` pass for its tokens; returns how many moved."""
        return self._call("POST", f"/tenants/{tenant_id}/tokens/age", {"seconds": seconds})["aged"]

    def revoke_tokens(self, tenant_id: int) -> int:
        """POST /_emulator/tenants/{id}/tokens/revoke: every token chain dies; returns how many."""
        return self._call("POST", f"/tenants/{tenant_id}/tokens/revoke")["revoked_chains"]

    def set_account_active(self, tenant_id: int, number: int, active: bool, *, financial_year: int | None = None
                           ) -> dict[str, Any]:
        """PUT /_emulator/tenants/{id}/accounts/{number}: (de)activate in one year or all years."""
        return self._call("PUT", f"/tenants/{tenant_id}/accounts/{number}",
                          {"active": active, "financial_year": financial_year})

    def set_series_manual(self, tenant_id: int, code: str, manual: bool, *, financial_year: int | None = None
                          ) -> dict[str, Any]:
        """PUT /_emulator/tenants/{id}/voucherseries/{code}: make a series (non-)manual."""
        return self._call("PUT", f"/tenants/{tenant_id}/voucherseries/{code}",
                          {"manual": manual, "financial_year": financial_year})

    def delete_series(self, tenant_id: int, code: str, *, financial_year: int | None = None) -> dict[str, Any]:
        """DELETE /_emulator/tenants/{id}/voucherseries/{code}: from one year or all years."""
        params = {"financial_year": financial_year} if financial_year is not None else None
        return self._call("DELETE", f"/tenants/{tenant_id}/voucherseries/{code}", params=params)

    def set_cost_center_active(self, tenant_id: int, code: str, active: bool) -> dict[str, Any]:
        """PUT /_emulator/tenants/{id}/costcenters/{code}: (de)activate a cost centre."""
        return self._call("PUT", f"/tenants/{tenant_id}/costcenters/{code}", {"active": active})

    def delete_cost_center(self, tenant_id: int, code: str) -> dict[str, Any]:
        """DELETE /_emulator/tenants/{id}/costcenters/{code}."""
        return self._call("DELETE", f"/tenants/{tenant_id}/costcenters/{code}")

    def set_locked_period(self, tenant_id: int, end_date: date | str | None) -> dict[str, Any]:
        """PUT /_emulator/tenants/{id}/lockedperiod: lock up to and including `end_date` (None unlocks)."""
        value = end_date.isoformat() if isinstance(end_date, date) else end_date
        return self._call("PUT", f"/tenants/{tenant_id}/lockedperiod", {"end_date": value})

    def delete_financial_year(self, tenant_id: int, year_id: int) -> dict[str, Any]:
        """DELETE /_emulator/tenants/{id}/financialyears/{year_id}."""
        return self._call("DELETE", f"/tenants/{tenant_id}/financialyears/{year_id}")

    def create_financial_year(self, tenant_id: int, from_date: date | str, to_date: date | str) -> int:
        """POST /_emulator/tenants/{id}/financialyears: a new year with the chart of the one before; its id."""
        body = {"from_date": str(from_date), "to_date": str(to_date)}
        return self._call("POST", f"/tenants/{tenant_id}/financialyears", body)["financial_year"]

    def move_financial_year(self, tenant_id: int, year_id: int, from_date: date | str, to_date: date | str
                            ) -> dict[str, Any]:
        """PUT /_emulator/tenants/{id}/financialyears/{year_id}: other dates for a year without vouchers."""
        body = {"from_date": str(from_date), "to_date": str(to_date)}
        return self._call("PUT", f"/tenants/{tenant_id}/financialyears/{year_id}", body)

    def set_permission(self, tenant_id: int, name: str, granted: bool) -> dict[str, Any]:
        """PUT /_emulator/tenants/{id}/permissions/{name}: give or take a user right (``vouchers``)."""
        return self._call("PUT", f"/tenants/{tenant_id}/permissions/{name}", {"granted": granted})

    def vouchers(self, tenant_id: int) -> list[dict[str, Any]]:
        """GET /_emulator/tenants/{id}/vouchers: every stored voucher with rows (amounts as strings)."""
        return self._call("GET", f"/tenants/{tenant_id}/vouchers")["vouchers"]

    def type_over_voucher(self, tenant_id: int, financial_year: int, series: str, number: int,
                          rows: list[dict[str, Any]]) -> dict[str, Any]:
        """PUT /_emulator/tenants/{id}/vouchers/{year}/{series}/{number}: replace a voucher's rows, as
        a correction typed over it in Fortnox's UI leaves them (``removed: true`` marks a struck row)."""
        return self._call("PUT", f"/tenants/{tenant_id}/vouchers/{financial_year}/{series}/{number}", {"rows": rows})

    def files(self, tenant_id: int) -> list[dict[str, Any]]:
        """GET /_emulator/tenants/{id}/files: every uploaded file, its folder and the voucher it is connected to."""
        return self._call("GET", f"/tenants/{tenant_id}/files")["files"]
