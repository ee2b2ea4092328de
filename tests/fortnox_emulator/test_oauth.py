"""OAuth2 as Fortnox runs it (api-facts.md §4), over real HTTP."""

from __future__ import annotations

import re
import threading
import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from tests.fortnox_emulator.conftest import AUTH_QUERY, REDIRECT_URI, authorize, token_request


def _api_status(emulator, access_token: str, path: str = "/3/accounts") -> int:
    headers = {"Authorization": f"Bearer {access_token}"}
    return requests.get(emulator.url + path, headers=headers, timeout=10).status_code


def _code_grant(emulator, **kwargs) -> dict:
    emulator.control.set_auto_approve(True)
    code = authorize(emulator, **kwargs)["code"][0]
    response = token_request(emulator, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI})
    assert response.status_code == 200, response.text
    return response.json()


def _refresh(emulator, refresh_token: str) -> requests.Response:
    return token_request(emulator, {"grant_type": "refresh_token", "refresh_token": refresh_token})


def _assert_invalid_grant(response: requests.Response) -> None:
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/html")  # although the body is JSON
    assert response.json()["error"] == "invalid_grant"


def test_consent_page_is_swedish_with_company_choice_and_both_buttons(emulator):
    response = requests.get(emulator.url + "/oauth-v1/auth", params=AUTH_QUERY, timeout=10)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.text
    assert '<html lang="sv">' in page
    assert "Logga in på Fortnox" in page and "Lösenord" in page
    assert ">Godkänn</button>" in page and ">Avbryt</button>" in page
    assert "Restaurang Smakfullt AB (556677-8899)" in page
    assert "Bokföring" in page and "Kostnadsställen" in page
    assert 'name="state" value="abc123"' in page


def test_approving_the_consent_form_redirects_with_code_and_state(emulator, tenant_id):
    second = emulator.control.create_tenant("Pizzeria Napoli AB", "559911-2233")
    form = {**AUTH_QUERY, "tenant_id": str(second), "email": "anna@example.se", "password": "x", "decision": "approve"}

    response = requests.post(emulator.url + "/oauth-v1/auth", data=form, allow_redirects=False, timeout=10)

    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["state"] == ["abc123"]
    token = token_request(emulator, {"grant_type": "authorization_code", "code": query["code"][0],
                                     "redirect_uri": REDIRECT_URI}).json()
    assert jwt.decode(token["access_token"], options={"verify_signature": False})["tenantId"] == second


def test_cancelling_the_consent_redirects_with_access_denied_and_state(emulator):
    form = {**AUTH_QUERY, "decision": "deny"}

    response = requests.post(emulator.url + "/oauth-v1/auth", data=form, allow_redirects=False, timeout=10)

    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query) == {"error": ["access_denied"], "state": ["abc123"]}


def test_approving_without_login_shows_the_page_again_with_an_error(emulator, tenant_id):
    form = {**AUTH_QUERY, "tenant_id": str(tenant_id), "decision": "approve"}

    response = requests.post(emulator.url + "/oauth-v1/auth", data=form, allow_redirects=False, timeout=10)

    assert response.status_code == 400
    assert "Fyll i e-postadress och lösenord." in response.text


def test_auto_approve_redirects_at_once_and_can_deny(make_emulator):
    emulator = make_emulator(auto_approve=True)
    assert set(authorize(emulator)) == {"code", "state"}

    emulator.control.set_auto_approve(True, decision="deny")
    assert authorize(emulator, state="s2") == {"error": ["access_denied"], "state": ["s2"]}


def test_unknown_scope_is_refused_with_invalid_scope(emulator):
    emulator.control.set_auto_approve(True)
    assert authorize(emulator, scope="bookkeeping vouchers") == {"error": ["invalid_scope"], "state": ["st4te"]}


def test_unknown_client_gets_an_error_page_not_a_redirect(emulator):
    response = requests.get(emulator.url + "/oauth-v1/auth", params={**AUTH_QUERY, "client_id": "nope"},
                            allow_redirects=False, timeout=10)
    assert response.status_code == 400
    assert "Okänd integration" in response.text


def test_code_exchange_answers_like_fortnox_with_the_requested_scopes(emulator, tenant_id):
    emulator.control.set_auto_approve(True)
    code = authorize(emulator, scope="bookkeeping costcenter")["code"][0]

    response = token_request(emulator, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI})

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "token_type", "scope", "refresh_token"}
    assert body["expires_in"] == 3600
    assert body["token_type"] == "bearer"
    assert body["scope"] == "bookkeeping costcenter"
    assert re.fullmatch(r"[0-9a-f]{40}", body["refresh_token"])


def test_access_token_is_an_hs256_jwt_with_fortnox_claims(emulator, tenant_id):
    token = _code_grant(emulator, scope="bookkeeping companyinformation")["access_token"]

    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["tenantId"] == tenant_id
    assert claims["clientId"] == "demo" and claims["aud"] == "demo"
    assert claims["scopes"] == ["bookkeeping", "companyinformation"]
    assert claims["scope"] == "bookkeeping companyinformation"
    assert claims["iss"] == "https://api.fortnox.se/oauth2"
    assert claims["sub"] == f"{claims['userId']}@{tenant_id}"
    assert claims["authsource"] == "OAUTH2"
    assert claims["exp"] - claims["iat"] == 3600


@pytest.mark.parametrize("auth", [("demo", "wrong"), ("other", "demo-secret")], ids=["wrong-secret", "wrong-id"])
def test_wrong_client_credentials_answer_401_invalid_client_as_text_plain(emulator, auth):
    response = token_request(emulator, {"grant_type": "refresh_token", "refresh_token": "x"}, auth=auth)

    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.json() == {"error": "invalid_client", "error_description": "The client credentials are invalid"}


def test_client_credentials_in_the_body_instead_of_basic_auth_are_refused(emulator):
    response = requests.post(emulator.url + "/oauth-v1/token", timeout=10,
                             data={"grant_type": "refresh_token", "refresh_token": "x",
                                   "client_id": "demo", "client_secret": "demo-secret"})
    assert response.status_code == 401


def test_client_id_and_secret_can_be_configured(make_emulator):
    emulator = make_emulator(client_id="backoffice", client_secret="s3cret")
    refused = token_request(emulator, {"grant_type": "refresh_token", "refresh_token": "x"})
    accepted_client = token_request(emulator, {"grant_type": "refresh_token", "refresh_token": "x"},
                                    auth=("backoffice", "s3cret"))
    assert refused.status_code == 401
    _assert_invalid_grant(accepted_client)  # client accepted, token unknown


def test_authorization_code_works_once_and_a_replay_kills_its_tokens(emulator):
    emulator.control.set_auto_approve(True)
    code = authorize(emulator)["code"][0]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    first = token_request(emulator, data).json()
    assert _api_status(emulator, first["access_token"]) == 200

    _assert_invalid_grant(token_request(emulator, data))

    assert _api_status(emulator, first["access_token"]) == 401
    _assert_invalid_grant(_refresh(emulator, first["refresh_token"]))


def test_code_exchange_with_another_redirect_uri_is_invalid_grant(emulator):
    emulator.control.set_auto_approve(True)
    code = authorize(emulator)["code"][0]
    response = token_request(emulator, {"grant_type": "authorization_code", "code": code,
                                        "redirect_uri": "http://127.0.0.1:9/other"})
    _assert_invalid_grant(response)


def test_refresh_rotates_the_refresh_token_and_old_access_tokens_keep_working(emulator):
    first = _code_grant(emulator)

    second = _refresh(emulator, first["refresh_token"])

    assert second.status_code == 200
    body = second.json()
    assert body["refresh_token"] != first["refresh_token"]
    assert body["scope"] == first["scope"]
    assert _api_status(emulator, body["access_token"]) == 200
    assert _api_status(emulator, first["access_token"]) == 200


def test_reusing_a_refresh_token_is_invalid_grant_and_kills_the_whole_chain(emulator):
    first = _code_grant(emulator)
    second = _refresh(emulator, first["refresh_token"]).json()

    _assert_invalid_grant(_refresh(emulator, first["refresh_token"]))

    assert _api_status(emulator, first["access_token"]) == 401
    assert _api_status(emulator, second["access_token"]) == 401
    _assert_invalid_grant(_refresh(emulator, second["refresh_token"]))


def test_two_concurrent_refreshes_with_one_token_have_one_winner(emulator):
    refresh_token = _code_grant(emulator)["refresh_token"]
    results: list[int] = []
    barrier = threading.Barrier(2)

    def refresh() -> None:
        barrier.wait()
        results.append(_refresh(emulator, refresh_token).status_code)

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [200, 400]


def test_an_expired_refresh_token_is_invalid_grant(make_emulator):
    emulator = make_emulator(refresh_token_lifetime=1)
    refresh_token = _code_grant(emulator)["refresh_token"]
    time.sleep(1.1)
    _assert_invalid_grant(_refresh(emulator, refresh_token))


def test_revoking_a_refresh_token_kills_its_chain(emulator):
    tokens = _code_grant(emulator)

    response = requests.post(emulator.url + "/oauth-v1/revoke", auth=("demo", "demo-secret"), timeout=10,
                             data={"token_type_hint": "refresh_token", "token": tokens["refresh_token"]})

    assert response.status_code == 200
    assert response.json() == {"revoked": True}
    assert _api_status(emulator, tokens["access_token"]) == 401
    _assert_invalid_grant(_refresh(emulator, tokens["refresh_token"]))


def test_revoke_needs_client_authentication(emulator):
    tokens = _code_grant(emulator)
    response = requests.post(emulator.url + "/oauth-v1/revoke", auth=("demo", "bad"), timeout=10,
                             data={"token_type_hint": "refresh_token", "token": tokens["refresh_token"]})
    assert response.status_code == 401
    assert _api_status(emulator, tokens["access_token"]) == 200


def test_client_credentials_need_a_service_account_consent_and_the_tenant_header(emulator, tenant_id):
    refused = token_request(emulator, {"grant_type": "client_credentials"}, headers={"TenantId": str(tenant_id)})
    assert refused.status_code == 400
    _code_grant(emulator, scope="bookkeeping", extra={"account_type": "service"})
    missing_header = token_request(emulator, {"grant_type": "client_credentials"})

    response = token_request(emulator, {"grant_type": "client_credentials"}, headers={"TenantId": str(tenant_id)})

    assert missing_header.status_code == 400
    assert response.status_code == 200
    body = response.json()
    assert "refresh_token" not in body
    assert body["scope"] == "bookkeeping"
    assert _api_status(emulator, body["access_token"]) == 200


def test_an_expired_access_token_answers_401_unauthorized(make_emulator):
    emulator = make_emulator(access_token_lifetime=1)
    token = _code_grant(emulator)["access_token"]
    assert _api_status(emulator, token) == 200
    time.sleep(1.1)

    response = requests.get(emulator.url + "/3/accounts", headers={"Authorization": f"Bearer {token}"}, timeout=10)

    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"message": "unauthorized"}


@pytest.mark.parametrize("header", [None, "Bearer not-a-jwt", "Basic ZGVtbzpkZW1vLXNlY3JldA=="],
                         ids=["none", "garbage", "basic"])
def test_missing_or_invalid_access_token_answers_401(emulator, header):
    headers = {"Authorization": header} if header else {}
    response = requests.get(emulator.url + "/3/accounts", headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.json() == {"message": "unauthorized"}


def test_a_token_signed_with_another_key_is_refused(emulator, tenant_id):
    claims = jwt.decode(_code_grant(emulator)["access_token"], options={"verify_signature": False})
    forged = jwt.encode(claims, "another-key-that-is-long-enough-for-hs256", algorithm="HS256")
    assert _api_status(emulator, forged) == 401


def test_control_can_expire_access_tokens_while_refresh_still_works(emulator, tenant_id):
    tokens = _code_grant(emulator)

    assert emulator.control.expire_access_tokens(tenant_id) >= 1

    assert _api_status(emulator, tokens["access_token"]) == 401
    fresh = _refresh(emulator, tokens["refresh_token"])
    assert fresh.status_code == 200
    assert _api_status(emulator, fresh.json()["access_token"]) == 200


def test_control_can_revoke_every_token_of_a_tenant(emulator, tenant_id):
    tokens = _code_grant(emulator)

    emulator.control.revoke_tokens(tenant_id)

    assert _api_status(emulator, tokens["access_token"]) == 401
    _assert_invalid_grant(_refresh(emulator, tokens["refresh_token"]))


def test_control_can_age_a_tenants_tokens_so_a_refresh_token_outlives_its_45_days(emulator, tenant_id):
    early = _code_grant(emulator)
    emulator.control.age_tokens(tenant_id, 44 * 86400)  # 44 days pass
    assert _api_status(emulator, early["access_token"]) == 401  # the hour is long over
    renewed = _refresh(emulator, early["refresh_token"])
    assert renewed.status_code == 200  # still inside the 45 days; the new token has 45 days again

    emulator.control.age_tokens(tenant_id, 46 * 86400)

    _assert_invalid_grant(_refresh(emulator, renewed.json()["refresh_token"]))
