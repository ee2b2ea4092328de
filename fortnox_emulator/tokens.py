"""OAuth2 grants as Fortnox runs them (docs/fortnox/api-facts.md §4).

- Authorization codes: single use, 10 minutes. Presenting a used code again kills the tokens
  issued for it (RFC 6749 §4.1.2; Fortnox says nothing, we take the strict reading).
- Refresh tokens: single use, rotating, 45 days. Presenting a used one answers 400
  `invalid_grant` *and* kills its whole chain: the refresh token issued from it is revoked too
  and every access token of the chain stops working. This is what bites integrations that
  refresh from two places at once.
- client_credentials: needs the `TenantId` header and a consent given with account_type=service;
  no refresh token.
- Access tokens: HS256 JWTs with Fortnox's claims; valid while unexpired, their chain alive and
  not expired by the control API.

All functions run under the store lock (the app takes it), so two concurrent refreshes with the
same token have exactly one winner.
"""

from __future__ import annotations

import base64
import gzip
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from fortnox_emulator.settings import EmulatorSettings
from fortnox_emulator.state import (
    AccessTokenRecord,
    AuthorizationCode,
    EmulatorState,
    RefreshToken,
    ServiceConsent,
    TokenChain,
    now_utc,
)

#: The scopes Fortnox knows (C# SDK `FortnoxSDK/Auth/Scope.cs`, obsolete ones included);
#: anything else is refused with invalid_scope at the authorization endpoint.
KNOWN_SCOPES = frozenset({
    "archive", "article", "assets", "bookkeeping", "companyinformation", "connectfile", "costcenter",
    "currency", "customer", "deletevoucher", "inbox", "invoice", "noxfinansinvoice", "offer", "order",
    "payment", "price", "print", "profile", "project", "salary", "settings", "supplier",
    "supplierinvoice", "timereporting", "warehouse",
})

ISSUER = "https://api.fortnox.se/oauth2"
#: The emulator has one user per company; its id appears in the `sub` and `userId` claims.
USER_ID = 1


class OAuthError(Exception):
    """A refusal by the token or revoke endpoint, with Fortnox's status and content type.

    Fortnox sends `invalid_grant` with `text/html` and `invalid_client` with `text/plain`, although
    both bodies are JSON (recorded answers); clients must not trust the content type.
    """

    def __init__(self, status: int, error: str, description: str, content_type: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description
        self.content_type = content_type

    def body(self) -> dict[str, str]:
        """The JSON body of the refusal."""
        return {"error": self.error, "error_description": self.description}


def invalid_grant(description: str) -> OAuthError:
    """400 invalid_grant, text/html as recorded."""
    return OAuthError(400, "invalid_grant", description, "text/html; charset=UTF-8")


def invalid_client() -> OAuthError:
    """401 invalid_client, text/plain as recorded."""
    return OAuthError(401, "invalid_client", "The client credentials are invalid", "text/plain;charset=UTF-8")


def invalid_request(description: str) -> OAuthError:
    """400 invalid_request (no recording; JSON content type)."""
    return OAuthError(400, "invalid_request", description, "application/json")


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling the API: from a valid access token."""

    client_id: str
    tenant_id: int
    scopes: frozenset[str]


def parse_scopes(scope: str | None) -> tuple[str, ...] | None:
    """Space-separated, case-sensitive scope names; None when empty or any name is unknown."""
    names = tuple(dict.fromkeys((scope or "").split()))
    if not names or any(name not in KNOWN_SCOPES for name in names):
        return None
    return names


class TokenService:
    """Issues, rotates, revokes and checks tokens in an `EmulatorState`."""

    def __init__(self, state: EmulatorState, settings: EmulatorSettings) -> None:
        self.state = state
        self.settings = settings
        self._issued_since_prune = 0
        self._verified: dict[str, dict[str, Any]] = {}

    # --- authorization endpoint ---------------------------------------------------------------
    def issue_code(self, *, tenant_id: int, scopes: tuple[str, ...], redirect_uri: str | None,
                   service_account: bool) -> str:
        """A fresh authorization code for an approved consent."""
        code = secrets.token_urlsafe(24)
        self.state.codes[code] = AuthorizationCode(
            code=code, client_id=self.settings.client_id, tenant_id=tenant_id, scopes=scopes,
            redirect_uri=redirect_uri, service_account=service_account,
            expires_at=now_utc() + timedelta(seconds=self.settings.authorization_code_lifetime))
        return code

    # --- token endpoint -------------------------------------------------------------------------
    def check_client(self, client_id: str | None, client_secret: str | None) -> None:
        """Basic client authentication; 401 invalid_client otherwise."""
        if not (client_id is not None and client_secret is not None
                and secrets.compare_digest(client_id.encode(), self.settings.client_id.encode())
                and secrets.compare_digest(client_secret.encode(), self.settings.client_secret.encode())):
            raise invalid_client()

    def exchange_code(self, code: str | None, redirect_uri: str | None) -> dict[str, Any]:
        """grant_type=authorization_code."""
        grant = self.state.codes.get(code or "")
        if grant is None or grant.expires_at <= now_utc():
            raise invalid_grant("Invalid authorization code")
        if grant.chain_id is not None:
            self._kill_chain(grant.chain_id)
            raise invalid_grant("Authorization code has already been used")
        if grant.redirect_uri is not None and redirect_uri != grant.redirect_uri:
            raise invalid_grant("redirect_uri does not match the authorization request")
        chain = self._new_chain(grant.tenant_id, grant.scopes)
        grant.chain_id = chain.id
        if grant.service_account:
            key = f"{grant.client_id}:{grant.tenant_id}"
            self.state.service_consents[key] = ServiceConsent(grant.client_id, grant.tenant_id, grant.scopes)
        return self._token_response(chain, with_refresh_token=True)

    def refresh(self, token: str | None) -> dict[str, Any]:
        """grant_type=refresh_token: single use; a replay kills the chain."""
        record = self.state.refresh_tokens.get(token or "")
        if record is None:
            raise invalid_grant("Invalid refresh token")
        chain = self.state.chains.get(record.chain_id)
        if record.used:
            # Fortnox: "Either you have already used the refresh token or it has expired. To
            # continue the integration must be reactivated by a user." The chain dies.
            self._kill_chain(record.chain_id)
            raise invalid_grant("Invalid refresh token")
        if chain is None or chain.revoked or record.expires_at <= now_utc():
            raise invalid_grant("Invalid refresh token")
        record.used = True
        return self._token_response(chain, with_refresh_token=True)

    def client_credentials(self, tenant_header: str | None) -> dict[str, Any]:
        """grant_type=client_credentials with the TenantId header (service accounts)."""
        if not tenant_header or not tenant_header.strip().isdigit():
            raise invalid_request("The TenantId header is missing or not a number")
        tenant_id = int(tenant_header)
        consent = self.state.service_consents.get(f"{self.settings.client_id}:{tenant_id}")
        if consent is None or tenant_id not in self.state.tenants:
            raise OAuthError(400, "unauthorized_client",
                             "No service account consent for this client and tenant", "application/json")
        chain = self._new_chain(tenant_id, consent.scopes)
        return self._token_response(chain, with_refresh_token=False)

    def revoke(self, token: str | None) -> None:
        """POST /oauth-v1/revoke: kills the chain of a refresh (or access) token of this client.

        Unknown tokens are accepted silently, as RFC 7009 §2.2 asks.
        """
        record = self.state.refresh_tokens.get(token or "")
        if record is not None:
            self._kill_chain(record.chain_id)
            return
        claims = self._decode(token or "")
        if claims is not None and claims.get("jti") in self.state.access_tokens:
            self._kill_chain(self.state.access_tokens[claims["jti"]].chain_id)

    # --- API side -------------------------------------------------------------------------------
    def authenticate(self, authorization: str | None) -> Identity | None:
        """The caller behind `Authorization: Bearer <jwt>`, or None (the API answers 401)."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        claims = self._decode(authorization[7:].strip())
        if claims is None:
            return None
        record = self.state.access_tokens.get(claims.get("jti", ""))
        if record is None or record.expired or record.expires_at <= now_utc():
            return None
        chain = self.state.chains.get(record.chain_id)
        if chain is None or chain.revoked or chain.client_id != self.settings.client_id:
            return None
        return Identity(chain.client_id, chain.tenant_id, frozenset(chain.scopes))

    # --- control API ----------------------------------------------------------------------------
    def expire_access_tokens(self, tenant_id: int) -> int:
        """Make every access token of a tenant fail as expired; refresh tokens keep working."""
        count = 0
        for record in self.state.access_tokens.values():
            chain = self.state.chains.get(record.chain_id)
            if chain is not None and chain.tenant_id == tenant_id and not record.expired:
                record.expired = True
                count += 1
        return count

    def age_tenant(self, tenant_id: int, seconds: int) -> int:
        """Let ``seconds`` pass for a tenant's tokens: every expiry moves that far into the past.

        Tests of what happens after weeks without a refresh (a refresh token's 45 days) use it
        instead of waiting. Returns how many tokens it moved.
        """
        delta = timedelta(seconds=seconds)
        chains = {c.id for c in self.state.chains.values() if c.tenant_id == tenant_id}
        count = 0
        for refresh in self.state.refresh_tokens.values():
            if refresh.chain_id in chains:
                refresh.expires_at -= delta
                count += 1
        for access in self.state.access_tokens.values():
            if access.chain_id in chains:
                access.expires_at -= delta
                count += 1
        return count

    def revoke_tenant(self, tenant_id: int) -> int:
        """Kill every token chain of a tenant ("Kopplingen har invaliderats av Fortnox")."""
        chains = [c for c in self.state.chains.values() if c.tenant_id == tenant_id and not c.revoked]
        for chain in chains:
            chain.revoked = True
        return len(chains)

    def issue_directly(self, tenant_id: int, scopes: tuple[str, ...]) -> dict[str, Any]:
        """A token pair without the consent page (control API shortcut for tests and the demo)."""
        return self._token_response(self._new_chain(tenant_id, scopes), with_refresh_token=True)

    # --- internals ------------------------------------------------------------------------------
    def _new_chain(self, tenant_id: int, scopes: tuple[str, ...]) -> TokenChain:
        chain = TokenChain(id=uuid.uuid4().hex, client_id=self.settings.client_id, tenant_id=tenant_id,
                           scopes=scopes)
        self.state.chains[chain.id] = chain
        return chain

    def _kill_chain(self, chain_id: str) -> None:
        chain = self.state.chains.get(chain_id)
        if chain is not None:
            chain.revoked = True

    def _token_response(self, chain: TokenChain, *, with_refresh_token: bool) -> dict[str, Any]:
        self._prune_now_and_then()
        lifetime = self.settings.access_token_lifetime
        issued_at = time.time()
        iat = int(issued_at)
        jti = uuid.uuid4().hex
        scope = " ".join(chain.scopes)
        claims = {
            "userId": USER_ID,
            "tenantId": chain.tenant_id,
            "clientId": chain.client_id,
            "rightsAsJson": _rights_blob(chain.scopes),
            "scopes": list(chain.scopes),
            "authsource": "OAUTH2",
            "iss": ISSUER,
            "aud": chain.client_id,
            "sub": f"{USER_ID}@{chain.tenant_id}",
            "exp": iat + lifetime,
            "iat": iat,
            "jti": jti,
            "token_type": "bearer",
            "scope": scope,
        }
        self.state.access_tokens[jti] = AccessTokenRecord(
            # The record, not the whole-second `exp` claim, decides: a token lives `lifetime`
            # seconds from issue (the claim may say up to a second less), so short test lifetimes
            # never give a token that is dead on arrival.
            jti=jti, chain_id=chain.id, expires_at=datetime.fromtimestamp(issued_at + lifetime, UTC))
        answer: dict[str, Any] = {
            "access_token": jwt.encode(claims, self.state.jwt_secret, algorithm="HS256"),
            "expires_in": lifetime,
            "token_type": "bearer",
            "scope": scope,
        }
        if with_refresh_token:
            token = secrets.token_hex(20)  # 40 characters, as the C# SDK describes Fortnox's
            self.state.refresh_tokens[token] = RefreshToken(
                token=token, chain_id=chain.id,
                expires_at=now_utc() + timedelta(seconds=self.settings.refresh_token_lifetime))
            answer["refresh_token"] = token
        return answer

    def _decode(self, token: str) -> dict[str, Any] | None:
        """The claims of a token signed by us, or None; expiry is checked by `authenticate`.

        Verifying the signature costs more than the rest of an API call, so verified claims are
        cached by token text; expiry and revocation live in the server-side record that
        `authenticate` reads on every call.
        """
        claims = self._verified.get(token)
        if claims is None:
            try:
                claims = jwt.decode(token, self.state.jwt_secret, algorithms=["HS256"],
                                    options={"verify_aud": False, "verify_exp": False,
                                             "require": ["exp", "iat", "jti"]})
            except jwt.InvalidTokenError:
                return None
            if len(self._verified) >= 10_000:
                self._verified.clear()
            self._verified[token] = claims
        return claims

    def _prune_now_and_then(self) -> None:
        """Forget expired access tokens and codes, and refresh tokens past their 45 days.

        A used refresh token is kept until it expires: presenting it again must still kill its chain.
        """
        self._issued_since_prune += 1
        if self._issued_since_prune < 500:
            return
        self._issued_since_prune = 0
        now = now_utc()
        state = self.state
        state.access_tokens = {k: v for k, v in state.access_tokens.items() if v.expires_at > now}
        state.codes = {k: v for k, v in state.codes.items() if v.expires_at > now}
        state.refresh_tokens = {k: v for k, v in state.refresh_tokens.items() if v.expires_at > now}


def _rights_blob(scopes: tuple[str, ...]) -> str:
    """Fortnox's `rightsAsJson` claim is gzip+base64 JSON; ours holds the granted scopes."""
    return base64.b64encode(gzip.compress(json.dumps({"scopes": list(scopes)}).encode(), mtime=0)).decode()
