"""The emulator as one WSGI application: what happens to every request, in order.

For /3/ (the API) and /oauth-v1/ (OAuth):
1. find the caller (API only: a valid bearer token gives client and tenant), and log the request
   for the control API (its status is filled in when the answer goes out);
2. wait the configured response delay (API only);
3. take an injected fault if one matches: `500`, `429` and `drop` answer without processing;
4. API only: 401 without a valid token, 429 over the rate limit, the scope check, then the
   handler under the store lock; OAuth: the endpoint;
5. write the state file if the request changed anything;
6. a `timeout_after_store` fault now waits (or drops the connection) after the work is done.
/_emulator/ is the control API (only when enabled); / is a small Swedish landing page.
"""

from __future__ import annotations

import socket
import threading
from datetime import date
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from fortnox_emulator import api, control_api, oauth, seed
from fortnox_emulator.errors import (
    MISSING_SCOPE,
    NO_SUCH_ROUTE,
    PERMISSION_DENIED,
    SYSTEM_EXCEPTION,
    FortnoxApiError,
)
from fortnox_emulator.faults import Fault, FaultInjector, LoggedRequest, RequestLog
from fortnox_emulator.jsonio import json_response
from fortnox_emulator.ratelimit import make_limiter
from fortnox_emulator.settings import EmulatorSettings
from fortnox_emulator.state import PERMISSION_NAMES, now_utc
from fortnox_emulator.store import Store
from fortnox_emulator.tokens import Identity, TokenService

UNAUTHORIZED = {"message": "unauthorized"}  # recorded: 401, not the ErrorInformation envelope
TOO_MANY_REQUESTS = {"message": "Too Many Requests"}  # not recorded anywhere; no Retry-After either
OAUTH_ROUTES = {"/oauth-v1/auth": oauth.authorize, "/oauth-v1/token": oauth.token, "/oauth-v1/revoke": oauth.revoke}


class DroppedConnection(ConnectionAbortedError):
    """Raised after the socket was shut down on purpose; Werkzeug's server treats it as a dropped
    connection and sends nothing."""


class EmulatorApp:
    """The emulated Fortnox: a WSGI callable plus the runtime knobs the control API turns."""

    def __init__(self, settings: EmulatorSettings | None = None) -> None:
        self.settings = settings or EmulatorSettings()
        self.store, is_new = Store.open(self.settings.state_file, jwt_secret=self.settings.jwt_secret)
        if is_new and self.settings.seed_demo_tenant:
            seed.create_tenant(self.store.state, name=seed.DEMO_COMPANY_NAME, org_number=seed.DEMO_ORG_NUMBER,
                               today=self.today())
            self.store.mark_dirty()
            self.store.save_if_dirty()
        self.tokens = TokenService(self.store.state, self.settings)
        self.limiter = make_limiter(self.settings.rate_window, self.settings.rate_limit_requests,
                                    self.settings.rate_limit_window)
        self.faults = FaultInjector()
        self.requests = RequestLog(self.settings.request_log_size)
        self.response_delay = self.settings.response_delay
        #: set when the server stops, so delays and fault waits end at once
        self.stopping = threading.Event()
        self.templates = Environment(loader=PackageLoader("fortnox_emulator", "templates"),
                                     autoescape=select_autoescape())
        self._api_routes = api.URL_MAP.bind("emulator")

    @staticmethod
    def today() -> date:
        """Today's date in UTC (which financial year is "preselected", what the seed covers)."""
        return now_utc().date()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        path = request.path
        if path.startswith("/3/"):
            response = self._external(request, api_call=True)
        elif path.startswith("/oauth-v1/"):
            response = self._external(request, api_call=False)
        elif path.startswith("/_emulator") and self.settings.control:
            response = control_api.handle(self, request)
        elif path == "/":
            response = self._index()
        else:
            response = _not_found()
        return response(environ, start_response)

    # --- /3/ and /oauth-v1/ ------------------------------------------------------------------------
    def _external(self, request: Request, *, api_call: bool) -> Response:
        identity = self.tokens.authenticate(request.headers.get("Authorization")) if api_call else None
        tenant_id = identity.tenant_id if identity else None
        entry = LoggedRequest(method=request.method, path=request.path,
                              query=request.query_string.decode("latin-1"), tenant_id=tenant_id,
                              status=None, time=now_utc())
        self.requests.record(entry)  # logged on arrival; status stays None until an answer is sent
        if api_call and self.response_delay:
            self.stopping.wait(self.response_delay)
        fault = self.faults.take(request.method, request.path, tenant_id)
        entry.fault = fault.kind if fault else None
        if fault is not None and fault.kind != "timeout_after_store":
            response = self._fault_answer(fault, request)
        else:
            response = self._api(request, identity) if api_call else self._oauth(request)
            self.store.save_if_dirty()
            if fault is not None:
                self.stopping.wait(fault.seconds if fault.seconds is not None
                                   else self.settings.timeout_after_store_seconds)
                if fault.after == "drop":
                    _drop_connection(request)
        entry.status = response.status_code
        return response

    def _fault_answer(self, fault: Fault, request: Request) -> Response:
        if fault.kind == "drop":
            _drop_connection(request)
        if fault.kind == "429":
            return self._too_many_requests(fault.seconds)
        return json_response(SYSTEM_EXCEPTION.body(), 500)

    def _too_many_requests(self, retry_after: float | None = None) -> Response:
        """429 `{"message": "Too Many Requests"}`, with Retry-After only when one is configured."""
        seconds = retry_after if retry_after is not None else self.settings.retry_after
        headers = {"Retry-After": f"{seconds:g}"} if seconds is not None else None
        return json_response(TOO_MANY_REQUESTS, 429, headers)

    def _oauth(self, request: Request) -> Response:
        endpoint = OAUTH_ROUTES.get(request.path.rstrip("/"))
        return endpoint(self, request) if endpoint is not None else _not_found()

    def _api(self, request: Request, identity: Identity | None) -> Response:
        if identity is None:
            return json_response(UNAUTHORIZED, 401)
        if not self.limiter.allow((identity.client_id, identity.tenant_id)):
            return self._too_many_requests()
        try:
            endpoint, path_args = self._api_routes.match(request.path.rstrip("/"), request.method)
            route = api.ROUTES[endpoint]
            if route.scopes is not None and not route.scopes & identity.scopes:
                raise FortnoxApiError(MISSING_SCOPE, status=self.settings.scope_error_status)
            with self.store.lock:
                tenant = self.store.state.tenants.get(identity.tenant_id)
                if tenant is None:
                    return json_response(UNAUTHORIZED, 401)
                if route.permission is not None and route.permission in tenant.refused_permissions:
                    raise FortnoxApiError(PERMISSION_DENIED, status=self.settings.permission_error_status,
                                          permission=PERMISSION_NAMES[route.permission])
                context = api.ApiContext(request=request, args=request.args, tenant=tenant,
                                         base=request.host_url.rstrip("/"), today=self.today(),
                                         changed=self.store.mark_dirty, settings=self.settings)
                return route.handler(context, **path_args)
        except (NotFound, MethodNotAllowed):
            return json_response(NO_SUCH_ROUTE.body(), NO_SUCH_ROUTE.status)
        except FortnoxApiError as exc:
            return json_response(exc.body(), exc.status)

    def _index(self) -> Response:
        html = self.templates.get_template("index.html").render(
            tenants=sorted(self.store.state.tenants.values(), key=lambda t: t.id),
            client_id=self.settings.client_id, control=self.settings.control)
        return Response(html, content_type="text/html; charset=utf-8")


def _not_found() -> Response:
    """Outside /3/ Fortnox answers unknown paths with an HTML page."""
    return Response("Not Found", 404, content_type="text/html; charset=utf-8")


def _drop_connection(request: Request) -> None:
    """Close the client's connection without an HTTP answer (needs the emulator's own server)."""
    sock = request.environ.get("werkzeug.socket")
    if sock is None:
        raise RuntimeError("a dropped connection needs the emulator's own server (werkzeug.socket)")
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    raise DroppedConnection("connection dropped by an injected fault")


def create_app(**settings: Any) -> EmulatorApp:
    """The emulator WSGI app from keyword settings (see `EmulatorSettings`)."""
    return EmulatorApp(EmulatorSettings.from_kwargs(**settings))
