"""Fortnox's rate limit: 25 requests per sliding 5 seconds per (client id, tenant)."""

from __future__ import annotations

import time

import requests

from tests.fortnox_emulator.conftest import token_request


def _get(emulator, token: str) -> requests.Response:
    return requests.get(emulator.url + "/3/companyinformation", headers={"Authorization": f"Bearer {token}"},
                        timeout=10)


def test_the_26th_request_within_5_seconds_gets_429_and_other_tenants_do_not(emulator, tenant_id):
    token = emulator.control.issue_tokens(tenant_id)["access_token"]
    other = emulator.control.issue_tokens(emulator.control.create_tenant("Café Kanel AB", "559000-1111"))
    start = time.monotonic()

    statuses = [_get(emulator, token).status_code for _ in range(26)]

    assert time.monotonic() - start < 5, "the machine was too slow to test the window"
    assert statuses == [200] * 25 + [429]
    refused = _get(emulator, token)
    assert refused.status_code == 429
    assert refused.json() == {"message": "Too Many Requests"}
    assert "Retry-After" not in refused.headers  # no source shows one
    assert _get(emulator, other["access_token"]).status_code == 200


def test_the_limit_is_per_tenant_not_per_access_token(emulator, tenant_id):
    tokens = [emulator.control.issue_tokens(tenant_id)["access_token"] for _ in range(2)]

    statuses = [_get(emulator, tokens[i % 2]).status_code for i in range(26)]

    assert statuses[-1] == 429 and statuses.count(200) == 25


def test_the_window_slides_and_refused_requests_do_not_count(make_emulator):
    emulator = make_emulator(rate_limit_requests=5, rate_limit_window=2.0)
    token = emulator.control.issue_tokens(emulator.default_tenant_id)["access_token"]

    first = [_get(emulator, token).status_code for _ in range(5)]
    hammered = [_get(emulator, token).status_code for _ in range(10)]
    time.sleep(2.05)
    after_window = [_get(emulator, token).status_code for _ in range(6)]

    assert first == [200] * 5
    assert hammered == [429] * 10
    assert after_window == [200] * 5 + [429]


def test_oauth_endpoints_are_not_rate_limited(emulator):
    statuses = {token_request(emulator, {"grant_type": "refresh_token", "refresh_token": "x"}).status_code
                for _ in range(40)}
    assert statuses == {400}


def test_requests_without_a_valid_token_are_not_counted(emulator, tenant_id):
    for _ in range(30):
        assert requests.get(emulator.url + "/3/accounts", timeout=10).status_code == 401
    token = emulator.control.issue_tokens(tenant_id)["access_token"]
    assert _get(emulator, token).status_code == 200


def test_retry_after_is_sent_only_when_configured(make_emulator):
    emulator = make_emulator(rate_limit_requests=1, retry_after=3)
    token = emulator.control.issue_tokens(emulator.default_tenant_id)["access_token"]
    _get(emulator, token)

    refused = _get(emulator, token)

    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "3"


def test_a_429_fault_can_carry_its_own_retry_after(emulator, tenant_id):
    token = emulator.control.issue_tokens(tenant_id)["access_token"]
    emulator.control.add_fault("429", path_prefix="/3/companyinformation", seconds=0.5)
    emulator.control.add_fault("429", path_prefix="/3/companyinformation")

    with_header, without = _get(emulator, token), _get(emulator, token)

    assert with_header.headers["Retry-After"] == "0.5"
    assert "Retry-After" not in without.headers
