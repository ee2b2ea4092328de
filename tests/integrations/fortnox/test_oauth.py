"""The OAuth2 flows: against the emulator over real HTTP (consent → code → exchange → refresh → reuse →
revoke), and the exact request Fortnox gets (Basic auth, no secret in the body) with ``responses``."""

from __future__ import annotations

import base64
import logging
import os
import socket
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
import responses
from freezegun import freeze_time

from backoffice.integrations.fortnox import oauth
from backoffice.integrations.fortnox.client import FortnoxClient
from backoffice.integrations.fortnox.errors import (
    FortnoxAuthError,
    FortnoxConnectionError,
    FortnoxError,
    InvalidClientError,
)
from backoffice.integrations.fortnox.oauth import (
    TokenSet,
    authorization_url,
    exchange_code,
    refresh,
    revoke,
    tenant_id_from_access_token,
)
from tests.integrations.fortnox.conftest import ALL_SCOPES, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI

FORTNOX_TOKEN_URL = "https://apps.fortnox.se/oauth-v1/token"


def urls(emulator):
    base = emulator.url + "/oauth-v1"
    return base + "/auth", base + "/token", base + "/revoke"


def consent(emulator, *, state="s3cret-state"):
    """Open our consent URL with auto-approve on and return the callback's query (code and state)."""
    auth_url, _, _ = urls(emulator)
    emulator.control.set_auto_approve(True)
    response = requests.get(
        authorization_url(CLIENT_ID, auth_url, REDIRECT_URI, state), allow_redirects=False, timeout=5
    )
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def connect(emulator) -> TokenSet:
    _, token_url, _ = urls(emulator)
    return exchange_code(CLIENT_ID, CLIENT_SECRET, token_url, consent(emulator)["code"], REDIRECT_URI)


def api_works(emulator, token_set: TokenSet) -> bool:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token_set.access_token}"
    try:
        FortnoxClient(session, base_url=emulator.url + "/3").me()
    except FortnoxAuthError:
        return False
    return True


# --- the consent URL ---------------------------------------------------------------------------------


def test_authorization_url_carries_what_fortnox_documents():
    url = authorization_url("my-client", "https://apps.fortnox.se/oauth-v1/auth", "https://bo.example.se/cb", "xyz")

    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "apps.fortnox.se", "/oauth-v1/auth")
    assert parse_qs(parts.query) == {
        "response_type": ["code"],
        "client_id": ["my-client"],
        "redirect_uri": ["https://bo.example.se/cb"],
        "scope": ["bookkeeping costcenter companyinformation settings"],
        "state": ["xyz"],
        "access_type": ["offline"],
    }


def test_plain_http_is_refused_except_on_loopback(monkeypatch):
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)

    with pytest.raises(ValueError, match="https"):
        authorization_url("c", "http://apps.fortnox.se/oauth-v1/auth", "https://bo.example.se/cb", "s")
    with pytest.raises(ValueError, match="https"):
        refresh("c", "secret", "http://evil.example/token", "refresh")

    assert authorization_url("c", "http://localhost:5050/oauth-v1/auth", "http://localhost/cb", "s")
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ  # set only around the loopback call


# --- the flows against the emulator ------------------------------------------------------------------


def test_consent_code_exchange_and_refresh(emulator, tenant_id):
    query = consent(emulator, state="abc-123")
    _, token_url, _ = urls(emulator)
    before = datetime.now(UTC)

    first = exchange_code(CLIENT_ID, CLIENT_SECRET, token_url, query["code"], REDIRECT_URI)

    assert query["state"] == "abc-123"
    assert first.scope == ALL_SCOPES
    assert before + timedelta(seconds=3590) <= first.expires_at <= datetime.now(UTC) + timedelta(seconds=3600)
    assert tenant_id_from_access_token(first.access_token) == tenant_id
    assert api_works(emulator, first)

    second = refresh(CLIENT_ID, CLIENT_SECRET, token_url, first.refresh_token)

    assert second.refresh_token != first.refresh_token and second.access_token != first.access_token
    assert second.expires_at >= first.expires_at
    assert api_works(emulator, second)


def test_an_authorization_code_works_once(emulator):
    _, token_url, _ = urls(emulator)
    code = consent(emulator)["code"]
    exchange_code(CLIENT_ID, CLIENT_SECRET, token_url, code, REDIRECT_URI)

    with pytest.raises(FortnoxAuthError):
        exchange_code(CLIENT_ID, CLIENT_SECRET, token_url, code, REDIRECT_URI)


def test_reusing_a_spent_refresh_token_is_an_auth_error_and_kills_the_chain(emulator):
    _, token_url, _ = urls(emulator)
    first = connect(emulator)
    second = refresh(CLIENT_ID, CLIENT_SECRET, token_url, first.refresh_token)

    with pytest.raises(FortnoxAuthError) as refused:
        refresh(CLIENT_ID, CLIENT_SECRET, token_url, first.refresh_token)

    assert refused.value.status == 400 and refused.value.reason == "auth_expired"
    assert "invalid_grant" in refused.value.fortnox_message
    assert not api_works(emulator, second)
    with pytest.raises(FortnoxAuthError):
        refresh(CLIENT_ID, CLIENT_SECRET, token_url, second.refresh_token)


def test_revoke_ends_the_connection(emulator):
    _, token_url, revoke_url = urls(emulator)
    tokens = connect(emulator)

    revoke(CLIENT_ID, CLIENT_SECRET, revoke_url, tokens.refresh_token)

    assert not api_works(emulator, tokens)
    with pytest.raises(FortnoxAuthError):
        refresh(CLIENT_ID, CLIENT_SECRET, token_url, tokens.refresh_token)


def test_a_wrong_client_secret_is_invalid_client(emulator):
    _, token_url, revoke_url = urls(emulator)
    code = consent(emulator)["code"]

    with pytest.raises(InvalidClientError) as refused:
        exchange_code(CLIENT_ID, "wrong", token_url, code, REDIRECT_URI)
    assert refused.value.reason == "invalid_client" and refused.value.status == 401

    tokens = connect(emulator)
    with pytest.raises(FortnoxAuthError):
        revoke(CLIENT_ID, "wrong", revoke_url, tokens.refresh_token)
    assert api_works(emulator, tokens)


def test_a_token_endpoint_that_does_not_answer_is_a_connection_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(FortnoxConnectionError) as failed:
        refresh(CLIENT_ID, CLIENT_SECRET, f"http://127.0.0.1:{port}/oauth-v1/token", "refresh")

    assert failed.value.ambiguous is False


def test_no_token_code_or_secret_reaches_the_logs(emulator, caplog):
    caplog.set_level(logging.DEBUG)
    _, token_url, revoke_url = urls(emulator)
    code = consent(emulator)["code"]

    first = exchange_code(CLIENT_ID, CLIENT_SECRET, token_url, code, REDIRECT_URI)
    second = refresh(CLIENT_ID, CLIENT_SECRET, token_url, first.refresh_token)
    revoke(CLIENT_ID, CLIENT_SECRET, revoke_url, second.refresh_token)

    secrets = [code, CLIENT_SECRET, first.access_token, first.refresh_token, second.access_token, second.refresh_token]
    assert caplog.records, "DEBUG logging was on, something should have been logged"
    assert [secret for secret in secrets if secret in caplog.text] == []


# --- the exact request, and the answer's arithmetic, with responses ----------------------------------


@freeze_time("2026-03-15 09:30:00")
def test_refresh_sends_basic_auth_and_no_credentials_in_the_body():
    answer = {
        "access_token": "new-access",
        "refresh_token": "new-refresh",
        "expires_in": 120,  # whatever Fortnox says, not an assumed hour
        "token_type": "bearer",
        "scope": "bookkeeping settings",
    }
    with responses.RequestsMock() as mock:
        mock.post(FORTNOX_TOKEN_URL, json=answer)
        tokens = refresh("my-client", "my-secret", FORTNOX_TOKEN_URL, "old-refresh")
        sent = mock.calls[0].request

    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(b"my-client:my-secret").decode()
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(sent.body) == {"grant_type": ["refresh_token"], "refresh_token": ["old-refresh"]}
    assert tokens == TokenSet(
        access_token="new-access",
        refresh_token="new-refresh",
        expires_at=datetime(2026, 3, 15, 9, 32, tzinfo=UTC),
        scope="bookkeeping settings",
    )


def test_exchange_sends_the_code_and_redirect_uri_with_basic_auth():
    answer = {"access_token": "a", "refresh_token": "r", "expires_in": 3600, "token_type": "bearer", "scope": "x"}
    with responses.RequestsMock() as mock:
        mock.post(FORTNOX_TOKEN_URL, json=answer)
        exchange_code("my-client", "my-secret", FORTNOX_TOKEN_URL, "the-code", "https://bo.example.se/cb")
        sent = mock.calls[0].request

    assert sent.headers["Authorization"].startswith("Basic ")
    assert parse_qs(sent.body) == {
        "grant_type": ["authorization_code"],
        "code": ["the-code"],
        "redirect_uri": ["https://bo.example.se/cb"],
    }


def test_revoke_sends_the_documented_form():
    with responses.RequestsMock() as mock:
        mock.post("https://apps.fortnox.se/oauth-v1/revoke", json={"revoked": True})
        revoke("my-client", "my-secret", "https://apps.fortnox.se/oauth-v1/revoke", "the-refresh")
        sent = mock.calls[0].request

    assert sent.headers["Authorization"].startswith("Basic ")
    assert parse_qs(sent.body) == {"token_type_hint": ["refresh_token"], "token": ["the-refresh"]}


def test_invalid_grant_with_text_html_becomes_an_auth_error():
    with responses.RequestsMock() as mock:
        mock.post(
            FORTNOX_TOKEN_URL,
            body='{"error":"invalid_grant","error_description":"Invalid refresh token"}',
            status=400,
            content_type="text/html; charset=UTF-8",
        )
        with pytest.raises(FortnoxAuthError) as refused:
            refresh("my-client", "my-secret", FORTNOX_TOKEN_URL, "spent")

    assert type(refused.value) is FortnoxAuthError


# --- small values ------------------------------------------------------------------------------------


def test_token_set_repr_hides_the_tokens():
    tokens = TokenSet("access-SECRET", "refresh-SECRET", datetime(2026, 3, 15, tzinfo=UTC), "bookkeeping")

    assert "SECRET" not in repr(tokens) and "bookkeeping" in repr(tokens)


def test_expires_soon():
    tokens = TokenSet("a", "r", datetime(2026, 3, 15, 10, 0, tzinfo=UTC), "")

    assert not tokens.expires_soon(datetime(2026, 3, 15, 9, 54, tzinfo=UTC))
    assert tokens.expires_soon(datetime(2026, 3, 15, 9, 55, tzinfo=UTC))
    assert tokens.expires_soon(datetime(2026, 3, 15, 9, 59, tzinfo=UTC), margin=timedelta(seconds=30)) is False


def test_tenant_id_is_read_without_the_signing_key():
    key = "fortnox-signs-with-a-key-we-do-not-have"
    token = jwt.encode({"tenantId": 1234567, "scope": "bookkeeping"}, key, algorithm="HS256")

    assert tenant_id_from_access_token(token) == 1234567
    with pytest.raises(FortnoxError):
        tenant_id_from_access_token(jwt.encode({"sub": "x"}, key, algorithm="HS256"))
    with pytest.raises(FortnoxError):
        tenant_id_from_access_token("not-a-jwt")


def test_the_module_keeps_requests_oauthlib_debug_records_out():
    record = logging.LogRecord("requests_oauthlib.oauth2_session", logging.DEBUG, __file__, 1, "token %s", (), None)
    logger = logging.getLogger("requests_oauthlib.oauth2_session")

    assert oauth.DEFAULT_SCOPES == tuple(ALL_SCOPES.split())
    assert logger.filter(record) is False
