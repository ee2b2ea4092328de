"""Fortnox's OAuth2 endpoints under /oauth-v1/ (api-facts.md §4).

- GET /oauth-v1/auth: the login and consent page (Swedish), or with auto-approve an immediate
  redirect; POST /oauth-v1/auth is the page's form. The redirect carries `code` and `state`, or
  `error=access_denied` and `state`.
- POST /oauth-v1/token: Basic client authentication; grants authorization_code, refresh_token,
  client_credentials (with the TenantId header).
- POST /oauth-v1/revoke: `token_type_hint=refresh_token&token=…` → {"revoked": true}.
OAuth endpoints are not rate-limited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit, urlunsplit

from werkzeug.datastructures import MultiDict
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from fortnox_emulator.tokens import OAuthError, parse_scopes

if TYPE_CHECKING:
    from fortnox_emulator.app import EmulatorApp

#: How the consent page names each scope (Fortnox's own Swedish module names where we know them).
SCOPE_NAMES = {
    "bookkeeping": "Bokföring (verifikationer, konton, räkenskapsår)",
    "costcenter": "Kostnadsställen",
    "companyinformation": "Företagsinformation",
    "settings": "Inställningar",
    "profile": "Användarprofil",
    "invoice": "Fakturering",
    "customer": "Kunder",
    "article": "Artiklar",
    "supplierinvoice": "Leverantörsfakturor",
    "project": "Projekt",
}


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """A checked authorization request (the query of GET /oauth-v1/auth, or the form's copy)."""

    client_id: str
    redirect_uri: str
    scope: str
    scopes: tuple[str, ...] | None
    state: str | None
    account_type: str | None

    def redirect_back(self, **params: str) -> Response:
        """302 to redirect_uri with `params` and the client's `state` added to its query."""
        if self.state is not None:
            params["state"] = self.state
        parts = urlsplit(self.redirect_uri)
        query = "&".join(q for q in (parts.query, urlencode(params)) if q)
        return redirect(urlunsplit(parts._replace(query=query)), code=302)

    def hidden_fields(self) -> dict[str, str]:
        """The request's parameters, carried through the consent form."""
        fields = {"client_id": self.client_id, "redirect_uri": self.redirect_uri, "scope": self.scope,
                  "response_type": "code"}
        if self.state is not None:
            fields["state"] = self.state
        if self.account_type is not None:
            fields["account_type"] = self.account_type
        return fields


def _parse_auth_request(app: EmulatorApp, params: MultiDict[str, str]) -> AuthRequest | Response:
    """The request, or an error page when it cannot safely be redirected back (RFC 6749 §4.1.2.1)."""
    client_id = params.get("client_id", "")
    if client_id != app.settings.client_id:
        return _error_page(app, "Okänd integration", f"Det finns ingen integration med klient-id «{client_id}».")
    redirect_uri = params.get("redirect_uri", "")
    registered = app.settings.redirect_uris
    if not redirect_uri or (registered is not None and redirect_uri not in registered):
        return _error_page(app, "Ogiltig omdirigering",
                           "redirect_uri saknas eller är inte registrerad för integrationen.")
    scope = params.get("scope", "")
    return AuthRequest(client_id=client_id, redirect_uri=redirect_uri, scope=scope, scopes=parse_scopes(scope),
                       state=params.get("state"), account_type=params.get("account_type") or None)


def _refusal(auth: AuthRequest, params: MultiDict[str, str]) -> Response | None:
    """A redirect with an OAuth error for a bad but redirectable request, else None."""
    if params.get("response_type") != "code":
        return auth.redirect_back(error="unsupported_response_type")
    if auth.scopes is None:
        return auth.redirect_back(error="invalid_scope")
    if auth.account_type not in (None, "service"):
        return auth.redirect_back(error="invalid_request")
    return None


def authorize(app: EmulatorApp, request: Request) -> Response:
    """GET shows the consent page (or auto-approves); POST is the page's Godkänn/Avbryt."""
    params = request.args if request.method == "GET" else request.form
    auth = _parse_auth_request(app, params)
    if isinstance(auth, Response):
        return auth
    refusal = _refusal(auth, params)
    if refusal is not None:
        return refusal
    if request.method == "GET":
        if not app.settings.auto_approve:
            return _consent_page(app, auth)
        tenant_id = app.settings.auto_approve_tenant_id or min(app.store.state.tenants, default=-1)
        decision = app.settings.auto_approve_decision
    else:
        decision = request.form.get("decision", "")
        tenant_id = int(request.form["tenant_id"]) if request.form.get("tenant_id", "").isdigit() else -1
        if decision == "approve" and not (request.form.get("email") and request.form.get("password")):
            return _consent_page(app, auth, error="Fyll i e-postadress och lösenord.", status=400)
    if decision != "approve":
        return auth.redirect_back(error="access_denied")
    with app.store.lock:
        if tenant_id not in app.store.state.tenants:
            return _consent_page(app, auth, error="Välj ett företag.", status=400)
        code = app.tokens.issue_code(tenant_id=tenant_id, scopes=auth.scopes or (),
                                     redirect_uri=auth.redirect_uri, service_account=auth.account_type == "service")
        app.store.mark_dirty()
    return auth.redirect_back(code=code)


def _consent_page(app: EmulatorApp, auth: AuthRequest, *, error: str | None = None, status: int = 200) -> Response:
    tenants = sorted(app.store.state.tenants.values(), key=lambda t: t.id)
    html = app.templates.get_template("consent.html").render(
        auth=auth, tenants=tenants, error=error,
        scopes=[(s, SCOPE_NAMES.get(s, s)) for s in auth.scopes or ()])
    return Response(html, status, content_type="text/html; charset=utf-8")


def _error_page(app: EmulatorApp, title: str, message: str) -> Response:
    html = app.templates.get_template("error.html").render(title=title, message=message)
    return Response(html, 400, content_type="text/html; charset=utf-8")


def token(app: EmulatorApp, request: Request) -> Response:
    """POST /oauth-v1/token."""
    grant_type = request.form.get("grant_type")
    try:
        with app.store.lock:
            try:
                _check_client(app, request)
                if grant_type == "authorization_code":
                    answer = app.tokens.exchange_code(request.form.get("code"), request.form.get("redirect_uri"))
                elif grant_type == "refresh_token":
                    answer = app.tokens.refresh(request.form.get("refresh_token"))
                elif grant_type == "client_credentials":
                    answer = app.tokens.client_credentials(request.headers.get("TenantId"))
                else:
                    raise OAuthError(400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported",
                                     "application/json")
            finally:
                app.store.mark_dirty()  # a refused replay still kills a chain
    except OAuthError as exc:
        return _oauth_error(exc)
    return Response(json.dumps(answer), 200, content_type="application/json",
                    headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def revoke(app: EmulatorApp, request: Request) -> Response:
    """POST /oauth-v1/revoke."""
    try:
        with app.store.lock:
            _check_client(app, request)
            app.tokens.revoke(request.form.get("token"))
            app.store.mark_dirty()
    except OAuthError as exc:
        return _oauth_error(exc)
    return Response(json.dumps({"revoked": True}), 200, content_type="application/json")


def _check_client(app: EmulatorApp, request: Request) -> None:
    """HTTP Basic client authentication, the only kind Fortnox accepts on these endpoints."""
    credentials = request.authorization
    if credentials is None or credentials.type != "basic":
        app.tokens.check_client(None, None)
    else:
        app.tokens.check_client(credentials.username, credentials.password)


def _oauth_error(exc: OAuthError) -> Response:
    return Response(json.dumps(exc.body()), exc.status, content_type=exc.content_type)
