"""The control API: faults, delays, request log, stored vouchers, tenants, auto-approve, state file."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from fortnox_emulator.server import start_emulator
from tests.fortnox_emulator.conftest import authorize, token_request, voucher_body


@pytest.fixture
def day(emulator) -> str:
    return emulator.app.today().isoformat()


def _stored(emulator, tenant_id) -> list[tuple[str, int]]:
    return [(v["series"], v["number"]) for v in emulator.control.vouchers(tenant_id)]


def test_a_500_fault_answers_error_information_without_processing(fortnox, emulator, tenant_id, day):
    emulator.control.add_fault("500", method="POST", path_prefix="/3/vouchers")

    failed = fortnox.post("/3/vouchers", voucher_body(day))
    retried = fortnox.post("/3/vouchers", voucher_body(day))

    assert failed.status_code == 500
    assert failed.json() == {"ErrorInformation": {"Error": 1, "Message": "Ett systemfel har inträffat.",
                                                  "Code": 1000003}}
    assert retried.status_code == 201
    assert _stored(emulator, tenant_id) == [("F", 1)]


def test_a_429_fault_answers_without_processing(fortnox, emulator, tenant_id, day):
    emulator.control.add_fault("429", count=2, path_prefix="/3/vouchers")

    statuses = [fortnox.post("/3/vouchers", voucher_body(day)).status_code for _ in range(3)]

    assert statuses == [429, 429, 201]
    assert _stored(emulator, tenant_id) == [("F", 1)]


def test_a_drop_fault_closes_the_connection_before_processing(fortnox, emulator, tenant_id, day):
    emulator.control.add_fault("drop", method="POST", path_prefix="/3/vouchers")

    with pytest.raises(requests.ConnectionError):
        fortnox.post("/3/vouchers", voucher_body(day))

    assert _stored(emulator, tenant_id) == []
    assert emulator.control.requests()[-1]["status"] is None
    assert emulator.control.requests()[-1]["fault"] == "drop"


def test_timeout_after_store_keeps_the_voucher_but_the_answer_never_comes_in_time(fortnox, emulator, tenant_id, day):
    emulator.control.add_fault("timeout_after_store", method="POST", path_prefix="/3/vouchers", seconds=3)
    start = time.monotonic()

    with pytest.raises(requests.Timeout):
        fortnox.http.post(emulator.url + "/3/vouchers", json=voucher_body(day, description="Z 7"), timeout=0.5)

    assert time.monotonic() - start < 2
    assert _stored(emulator, tenant_id) == [("F", 1)]  # the voucher IS stored
    found = fortnox.get("/3/vouchers/sublist/F").json()["Vouchers"]
    assert [(v["Description"], v["VoucherNumber"]) for v in found] == [("Z 7", 1)]


def test_timeout_after_store_answers_late_when_waited_for(fortnox, emulator, day):
    emulator.control.add_fault("timeout_after_store", method="POST", path_prefix="/3/vouchers", seconds=0.3)
    start = time.monotonic()

    response = fortnox.post("/3/vouchers", voucher_body(day))

    assert response.status_code == 201
    assert time.monotonic() - start >= 0.3


def test_timeout_after_store_can_drop_the_connection_after_processing(fortnox, emulator, tenant_id, day):
    emulator.control.add_fault("timeout_after_store", method="POST", path_prefix="/3/vouchers", seconds=0,
                               after="drop")

    with pytest.raises(requests.ConnectionError):
        fortnox.post("/3/vouchers", voucher_body(day))

    assert _stored(emulator, tenant_id) == [("F", 1)]


def test_the_default_wait_of_timeout_after_store_is_a_setting(make_emulator):
    emulator = make_emulator(timeout_after_store_seconds=0.2)
    token = emulator.control.issue_tokens(emulator.default_tenant_id)["access_token"]
    emulator.control.add_fault("timeout_after_store", path_prefix="/3/me")
    start = time.monotonic()

    requests.get(emulator.url + "/3/me", headers={"Authorization": f"Bearer {token}"}, timeout=5)

    assert 0.2 <= time.monotonic() - start < 2


def test_faults_match_method_path_and_tenant_and_count_down(fortnox, emulator, tenant_id, session_for):
    other = session_for(emulator.control.create_tenant("Café Kanel AB", "559000-1111"))
    emulator.control.add_fault("500", count=2, method="GET", path_prefix="/3/accounts", tenant_id=tenant_id)

    assert other.get("/3/accounts").status_code == 200  # other tenant
    assert fortnox.get("/3/voucherseries").status_code == 200  # other path
    assert emulator.control.list_faults()[0]["remaining"] == 2
    assert [fortnox.get("/3/accounts").status_code for _ in range(3)] == [500, 500, 200]
    assert emulator.control.list_faults() == []


def test_faults_apply_to_the_token_endpoint_too(emulator):
    emulator.control.add_fault("500", path_prefix="/oauth-v1/token")
    assert token_request(emulator, {"grant_type": "refresh_token", "refresh_token": "x"}).status_code == 500


def test_faults_can_be_cleared(fortnox, emulator):
    emulator.control.add_fault("500", count=5)
    emulator.control.clear_faults()
    assert fortnox.get("/3/me").status_code == 200


def test_an_unknown_fault_kind_is_refused(emulator):
    with pytest.raises(requests.HTTPError):
        emulator.control.add_fault("teapot")


def test_a_response_delay_slows_api_calls_but_not_oauth(fortnox, emulator):
    emulator.control.set_delay(0.3)
    start = time.monotonic()
    assert fortnox.get("/3/me").status_code == 200
    api_time = time.monotonic() - start
    start = time.monotonic()
    token_request(emulator, {"grant_type": "refresh_token", "refresh_token": "x"})
    oauth_time = time.monotonic() - start

    assert emulator.control.get_delay() == 0.3
    assert api_time >= 0.3
    assert oauth_time < 0.3


def test_stopping_ends_a_pending_delay(emulator, tenant_id):
    token = emulator.control.issue_tokens(tenant_id)["access_token"]
    emulator.control.set_delay(30)
    start = time.monotonic()
    thread = threading.Thread(target=lambda: requests.get(emulator.url + "/3/me", timeout=60,
                                                          headers={"Authorization": f"Bearer {token}"}))
    thread.start()
    time.sleep(0.2)
    emulator.stop()
    thread.join(timeout=5)

    assert time.monotonic() - start < 5


def test_the_request_log_records_method_path_query_tenant_status_and_time(fortnox, emulator, tenant_id):
    emulator.control.clear_requests()
    fortnox.get("/3/vouchers", financialyear=2)
    requests.get(emulator.url + "/3/accounts", timeout=10)

    log = emulator.control.requests()

    assert [(e["method"], e["path"], e["query"], e["tenant_id"], e["status"]) for e in log] == [
        ("GET", "/3/vouchers", "financialyear=2", tenant_id, 200), ("GET", "/3/accounts", "", None, 401)]
    assert log[0]["time"].endswith("+00:00")
    assert [e["path"] for e in emulator.control.requests(tenant_id=tenant_id)] == ["/3/vouchers"]
    emulator.control.clear_requests()
    assert emulator.control.requests() == []


def test_stored_vouchers_are_listed_with_rows_and_exact_amounts(fortnox, emulator, tenant_id, day):
    fortnox.post("/3/vouchers", voucher_body(day, rows=[{"Account": 1910, "Debit": "1234.50"},
                                                       {"Account": 3001, "Credit": 987.6},
                                                       {"Account": 2611, "Credit": 246.9}]))

    (voucher,) = emulator.control.vouchers(tenant_id)

    assert (voucher["series"], voucher["number"], voucher["financial_year"], voucher["transaction_date"]) == (
        "F", 1, 2, day)
    assert [(r["account"], r["debit"], r["credit"]) for r in voucher["rows"]] == [
        (1910, "1234.50", "0.00"), (3001, "0.00", "987.60"), (2611, "0.00", "246.90")]


def test_a_voucher_typed_over_is_read_back_with_its_struck_rows_marked_removed(fortnox, emulator, tenant_id, day):
    fortnox.post("/3/vouchers", voucher_body(day, rows=[{"Account": 1910, "Debit": "100.00"},
                                                       {"Account": 3001, "Credit": "100.00"}]))

    emulator.control.type_over_voucher(tenant_id, 2, "F", 1, [
        {"account": 1910, "debit": "100.00", "credit": "0"},
        {"account": 3001, "debit": "0", "credit": "100.00", "removed": True},
        {"account": 3002, "debit": "0", "credit": "100.00"},
    ])
    read = fortnox.get("/3/vouchers/F/1", params={"financialyear": 2}).json()["Voucher"]
    with pytest.raises(requests.HTTPError) as refused:
        emulator.control.type_over_voucher(tenant_id, 2, "F", 99, [{"account": 1910, "debit": "1", "credit": "0"}])

    assert [(r["Account"], r["Credit"], r["Removed"], r["Description"]) for r in read["VoucherRows"]] == [
        (1910, 0, False, "Kassa"), (3001, 100, True, "Försäljning inom Sverige, 25 % moms"),
        (3002, 100, False, "Försäljning inom Sverige, 12 % moms")]
    assert [r["removed"] for r in emulator.control.vouchers(tenant_id)[0]["rows"]] == [False, True, False]
    assert refused.value.response.status_code == 404


def test_a_typed_over_voucher_survives_a_restart_with_a_state_file(tmp_path):
    state_file = tmp_path / "fortnox.json"
    with start_emulator(state_file=state_file) as first:
        tenant = first.default_tenant_id
        headers = {"Authorization": f"Bearer {first.control.issue_tokens(tenant)['access_token']}"}
        day = first.app.today().isoformat()
        requests.post(first.url + "/3/vouchers", json=voucher_body(day), headers=headers, timeout=10)
        rows = first.control.vouchers(tenant)[0]["rows"]
        first.control.type_over_voucher(tenant, 2, "F", 1, [dict(row, removed=True) for row in rows] + rows)

    with start_emulator(state_file=state_file) as second:
        assert [r["removed"] for r in second.control.vouchers(tenant)[0]["rows"]] == [True] * len(rows) + [False] * len(rows)


def test_tenants_can_be_created_listed_and_reset(fortnox, emulator, tenant_id, day):
    created = emulator.control.create_tenant("Pizzeria Napoli AB", "559911-2233")
    fortnox.post("/3/vouchers", voucher_body(day))
    emulator.control.set_account_active(tenant_id, 3001, False)

    emulator.control.reset_tenant(tenant_id)

    assert [t["tenant_id"] for t in emulator.control.list_tenants()] == [tenant_id, created]
    assert emulator.control.vouchers(tenant_id) == []
    assert fortnox.get("/3/accounts/3001").json()["Account"]["Active"] is True  # token survived the reset
    assert fortnox.post("/3/vouchers", voucher_body(day)).json()["Voucher"]["VoucherNumber"] == 1


def test_auto_approve_can_be_read_and_pointed_at_another_tenant(emulator):
    other = emulator.control.create_tenant("Pizzeria Napoli AB", "559911-2233")
    assert emulator.control.get_auto_approve() == {"enabled": False, "tenant_id": None, "decision": "approve"}

    emulator.control.set_auto_approve(True, tenant_id=other)
    code = authorize(emulator)["code"][0]
    token = token_request(emulator, {"grant_type": "authorization_code", "code": code,
                                     "redirect_uri": "http://127.0.0.1:9/callback"}).json()
    info = requests.get(emulator.url + "/3/companyinformation", timeout=10,
                        headers={"Authorization": f"Bearer {token['access_token']}"}).json()

    assert info["CompanyInformation"]["DatabaseNumber"] == other


def test_control_calls_for_unknown_things_are_404(emulator, tenant_id):
    for call in (lambda: emulator.control.reset_tenant(424242),
                 lambda: emulator.control.set_account_active(tenant_id, 1111, False),
                 lambda: emulator.control.delete_series(tenant_id, "Q"),
                 lambda: emulator.control.delete_cost_center(tenant_id, "NONE"),
                 lambda: emulator.control.delete_financial_year(tenant_id, 9)):
        with pytest.raises(requests.HTTPError) as info:
            call()
        assert info.value.response.status_code == 404


def test_the_control_api_takes_only_json_with_its_token(emulator, tenant_id):
    """A web page on another port can send a form or a `text/plain` fetch without a CORS preflight,
    but neither a custom header nor `application/json`: both are required."""
    url = f"{emulator.url}/_emulator/tenants/{tenant_id}/tokens/revoke"
    token = {"X-Emulator-Token": emulator.app.settings.control_token}
    plain = requests.post(url, data="{}", headers={**token, "Content-Type": "text/plain"}, timeout=10)
    form = requests.post(url, data={"a": "b"}, headers=token, timeout=10)
    no_token = requests.post(url, json={}, timeout=10)
    wrong = requests.post(url, json={}, headers={"X-Emulator-Token": "guess"}, timeout=10)
    read = requests.get(f"{emulator.url}/_emulator/tenants", timeout=10)
    assert (plain.status_code, form.status_code) == (415, 415)
    assert (no_token.status_code, wrong.status_code, read.status_code) == (401, 401, 401)
    assert emulator.control.revoke_tokens(tenant_id) >= 0  # the client with the token still works


def test_the_control_api_is_off_unless_enabled(make_emulator):
    emulator = make_emulator(control=False)
    assert requests.get(emulator.url + "/_emulator/", timeout=10).status_code == 404
    assert requests.get(emulator.url + "/", timeout=10).status_code == 200


def test_the_state_file_keeps_tenants_tokens_and_vouchers_across_a_restart(tmp_path):
    state_file = tmp_path / "fortnox.json"
    with start_emulator(state_file=state_file) as first:
        tenant = first.control.create_tenant("Pizzeria Napoli AB", "559911-2233")
        first.control.set_auto_approve(True, tenant_id=tenant)
        code = authorize(first)["code"][0]
        tokens = token_request(first, {"grant_type": "authorization_code", "code": code,
                                       "redirect_uri": "http://127.0.0.1:9/callback"}).json()
        rotated = token_request(first, {"grant_type": "refresh_token",
                                        "refresh_token": tokens["refresh_token"]}).json()
        headers = {"Authorization": f"Bearer {rotated['access_token']}"}
        day = first.app.today().isoformat()
        assert requests.post(first.url + "/3/vouchers", json=voucher_body(day), headers=headers,
                             timeout=10).status_code == 201

    with start_emulator(state_file=state_file) as second:
        answer = requests.post(second.url + "/3/vouchers", json=voucher_body(day), headers=headers, timeout=10)
        replay = token_request(second, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})

        assert [t["tenant_id"] for t in second.control.list_tenants()] == [second.default_tenant_id, tenant]
        assert answer.status_code == 201
        assert answer.json()["Voucher"]["VoucherNumber"] == 2
        assert replay.status_code == 400  # a used refresh token stays used across restarts
        assert len(second.control.vouchers(tenant)) == 2


def test_the_state_file_is_written_after_each_change_not_only_at_stop(tmp_path):
    state_file = tmp_path / "fortnox.json"
    with start_emulator(state_file=state_file) as emulator:
        before = state_file.read_text(encoding="utf-8")
        emulator.control.create_tenant("Pizzeria Napoli AB", "559911-2233")
        assert "Pizzeria Napoli AB" in state_file.read_text(encoding="utf-8")
        assert "Pizzeria Napoli AB" not in before


def _post(emulator, token: str, day: str) -> requests.Response:
    return requests.post(emulator.url + "/3/vouchers", json=voucher_body(day), timeout=10,
                         headers={"Authorization": f"Bearer {token}"})


def test_vouchers_are_journalled_so_a_crash_before_the_snapshot_never_reuses_a_number(tmp_path):
    state_file = tmp_path / "fortnox.json"
    with start_emulator(state_file=state_file) as first:
        token = first.control.issue_tokens(first.default_tenant_id)["access_token"]
        day = first.app.today().isoformat()
        _post(first, token, day)
        snapshot_after_first = state_file.read_text(encoding="utf-8")
        _post(first, token, day)
    state_file.write_text(snapshot_after_first, encoding="utf-8")  # as if killed before the rewrite

    with start_emulator(state_file=state_file) as second:
        answer = _post(second, token, day)

        assert answer.json()["Voucher"]["VoucherNumber"] == 3
        assert [v["number"] for v in second.control.vouchers(second.default_tenant_id)] == [1, 2, 3]


def test_a_reset_tenant_stays_reset_after_a_restart(tmp_path):
    state_file = tmp_path / "fortnox.json"
    with start_emulator(state_file=state_file) as first:
        token = first.control.issue_tokens(first.default_tenant_id)["access_token"]
        day = first.app.today().isoformat()
        _post(first, token, day)
        first.control.reset_tenant(first.default_tenant_id)
        _post(first, token, day)

    with start_emulator(state_file=state_file) as second:
        assert [v["number"] for v in second.control.vouchers(second.default_tenant_id)] == [1]
        assert _post(second, token, day).json()["Voucher"]["VoucherNumber"] == 2


@pytest.mark.parametrize("status", [403, 400])
def test_a_refused_permission_refuses_vouchers_until_granted_again(make_emulator, openapi, status):
    from tests.fortnox_emulator.conftest import FortnoxSession, error_of

    emulator = make_emulator(permission_error_status=status)
    tenant_id = emulator.control.create_tenant("Behörig AB", "556000-0001")
    fortnox = FortnoxSession(emulator.url, emulator.control.issue_tokens(tenant_id)["access_token"], openapi)
    day = emulator.app.today().isoformat()
    emulator.control.set_permission(tenant_id, "vouchers", False)

    refused = fortnox.post("/3/vouchers", voucher_body(day))
    listed = fortnox.get("/3/vouchers")
    emulator.control.set_permission(tenant_id, "vouchers", True)
    granted = fortnox.post("/3/vouchers", voucher_body(day))

    assert refused.status_code == status
    assert error_of(refused) == (2999021, "Saknar rättighet för att skapa verifikationer.")
    assert listed.status_code == 200  # reading is another right
    assert granted.status_code == 201
    assert _stored(emulator, tenant_id) == [("F", 1)]


def test_an_unknown_permission_is_404(emulator, tenant_id):
    with pytest.raises(requests.HTTPError) as refused:
        emulator.control.set_permission(tenant_id, "payroll", False)
    assert refused.value.response.status_code == 404


def test_a_created_financial_year_takes_the_chart_of_the_year_before_and_books_vouchers(fortnox, emulator, tenant_id):
    today = emulator.app.today()
    start = today.replace(year=today.year + 1, month=1, day=1)
    before = fortnox.post("/3/vouchers", voucher_body(start.isoformat()), financialyear=3)

    year_id = emulator.control.create_financial_year(tenant_id, start, start.replace(month=12, day=31))
    years = fortnox.get("/3/financialyears").json()["FinancialYears"]
    accounts = fortnox.get("/3/accounts", financialyear=year_id).json()["Accounts"]
    series = fortnox.get("/3/voucherseries", financialyear=year_id).json()["VoucherSeriesCollection"]
    booked = fortnox.post("/3/vouchers", voucher_body(start.isoformat()), financialyear=year_id)

    assert before.status_code == 400
    assert year_id == 3
    assert [(y["Id"], y["FromDate"]) for y in years][-1] == (3, start.isoformat())
    assert {a["Number"] for a in accounts} >= {1910, 3001}
    assert {s["Code"] for s in series} == {"A", "B", "F"}
    assert booked.status_code == 201
    assert booked.json()["Voucher"]["VoucherNumber"] == 1
    with pytest.raises(requests.HTTPError) as overlap:
        emulator.control.create_financial_year(tenant_id, start, start)
    assert overlap.value.response.status_code == 409
