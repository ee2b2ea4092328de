"""FortnoxClient against the emulator over real HTTP: resources, typed refusals, the retry policy,
reconciling an ambiguous POST, and the rate-limit burst."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from backoffice.integrations.fortnox.client import (
    MAX_RATE_LIMIT_WAIT,
    RATE_LIMIT_RETRIES,
    FortnoxClient,
    carries_token,
    described_as,
)
from backoffice.integrations.fortnox.errors import (
    AccessDeniedError,
    AccountInactiveError,
    AccountMissingError,
    CostCenterInactiveError,
    CostCenterMissingError,
    FortnoxAuthError,
    FortnoxConnectionError,
    FortnoxRateLimited,
    FortnoxServerError,
    NoFinancialYearError,
    NotFoundError,
    PeriodLockedError,
    SeriesMissingError,
    SeriesNotManualError,
    VoucherInvalidError,
)
from backoffice.integrations.fortnox.ratelimit import SlidingWindowLimiter, limiter_for
from tests.integrations.fortnox.conftest import ALL_SCOPES, this_year_day, voucher

# --- resources --------------------------------------------------------------------------------------


def test_create_voucher_returns_the_stored_voucher_with_exact_decimal_amounts(client, emulator, tenant_id):
    day = this_year_day()

    stored = client.create_voucher(voucher(day), financial_year=2)

    assert stored["VoucherSeries"] == "F" and stored["VoucherNumber"] == 1 and stored["Year"] == 2
    assert stored["TransactionDate"] == day.isoformat()
    debits = [row["Debit"] for row in stored["VoucherRows"]]
    assert debits == [Decimal("125.50"), Decimal("0"), Decimal("0")]
    assert all(isinstance(row["Credit"], Decimal) for row in stored["VoucherRows"])
    [kept] = emulator.control.vouchers(tenant_id)
    assert [row["credit"] for row in kept["rows"]] == ["0.00", "100.40", "25.10"]


def test_get_voucher_reads_one_back_and_a_missing_one_is_not_found(client):
    day = this_year_day()
    number = client.create_voucher(voucher(day))["VoucherNumber"]

    assert client.get_voucher("F", number, financial_year=2)["Description"] == "Z-rapport 1, kassa K1"
    with pytest.raises(NotFoundError) as missing:
        client.get_voucher("F", 999)
    assert missing.value.status == 404 and missing.value.reason == "not_found"


DATE_READINGS = ("inclusive", "todate_exclusive", "ignored", "refused")


@pytest.mark.parametrize("reading", DATE_READINGS)
def test_find_vouchers_finds_the_token_and_only_it_under_every_reading_of_the_date_filters(client, emulator, reading):
    emulator.control.set_readings(date_filter=reading)
    day = this_year_day()
    client.create_voucher(voucher(day, description="Z-rapport 7, kassa K1", comments="Export-id: aaa111"))
    client.create_voucher(voucher(day, description="Z-rapport 8, kassa K1", comments="Export-id: bbb222"))
    client.create_voucher(voucher(day + timedelta(days=1), description="Z-rapport 9, kassa K1", comments="Export-id: ccc333"))

    [found] = client.find_vouchers("F", 2, day, carries_token("bbb222"))
    [next_day] = client.find_vouchers("F", 2, day, carries_token("ccc333"))  # on the day after: found too
    [earlier] = client.find_vouchers("F", 2, day + timedelta(days=1), carries_token("aaa111"))  # the day before

    assert (found["VoucherNumber"], next_day["VoucherNumber"], earlier["VoucherNumber"]) == (2, 3, 1)
    assert client.find_vouchers("F", 2, day, carries_token("bbb22")) == []  # a prefix is another token
    assert client.find_vouchers("F", 2, day, carries_token("ddd444")) == []


@pytest.mark.parametrize("reading", DATE_READINGS)
def test_absent_is_concluded_only_from_every_voucher_of_the_year(client, emulator, tenant_id, reading):
    emulator.control.set_readings(date_filter=reading)
    day = this_year_day()
    client.create_voucher(voucher(day, description="Z-rapport 8, kassa K1", comments="Export-id: bbb222"))
    emulator.control.clear_requests()

    assert client.find_vouchers("F", 2, day, carries_token("fff999")) == []

    lists = [(e["path"], e["query"], e["status"]) for e in emulator.control.requests(tenant_id)]
    assert lists[-1][0] == "/3/vouchers" and "fromdate" not in lists[-1][1] and "todate" not in lists[-1][1]
    assert "financialyear=2" in lists[-1][1]
    if reading == "refused":  # refused once: this client asks without date filters from then on
        assert lists[0][2] == 400
        emulator.control.clear_requests()
        client.find_vouchers("F", 2, day, carries_token("fff999"))
        assert [e["path"] for e in emulator.control.requests(tenant_id)] == ["/3/vouchers"]


def test_find_vouchers_finds_our_voucher_in_another_series_and_on_another_date(client, emulator):
    day = this_year_day()
    client.create_voucher(voucher(day - timedelta(days=3), series="A", comments="Export-id: abc123"))

    [found] = client.find_vouchers("F", 2, day, carries_token("abc123"))

    assert found["VoucherSeries"] == "A"


def test_described_as_sets_case_spacing_and_punctuation_aside():
    matches = described_as("Z-rapport 8 Kassa 1 (K1) 2026-11-20 · Café Åre")
    assert matches({"Description": "Z-rapport 8 Kassa 1 (K1) 2026-11-20 - Café Åre"})
    assert matches({"Description": "  z-rapport 8  Kassa 1 (K1) 2026-11-20 ? Café Åre "})
    assert not matches({"Description": "Z-rapport 9 Kassa 1 (K1) 2026-11-20 · Café Åre"})


def test_lists_read_every_page(client, emulator, tenant_id):
    client.page_limit = 10
    emulator.control.clear_requests()

    accounts = client.list_accounts()

    numbers = [account["Number"] for account in accounts]
    assert len(numbers) == len(set(numbers)) == 42  # the emulator's seeded chart
    assert 3001 in numbers and 1910 in numbers
    pages = [entry["query"] for entry in emulator.control.requests(tenant_id) if entry["path"] == "/3/accounts"]
    assert len(pages) == 5


@pytest.mark.parametrize("pages", ["whole", "paged"])
def test_file_connections_are_read_page_by_page_or_whole_and_never_twice(make_client, emulator, tenant_id, pages):
    client = make_client(scope=ALL_SCOPES + " inbox connectfile")
    for number in range(1, 4):
        stored = client.create_voucher(voucher(this_year_day(), description=f"Z {number}"), financial_year=2)
        uploaded = client.upload_to_inbox(f"Z-K1-{number}.pdf", b"%PDF-1.4\n%%EOF\n")
        client.connect_file(uploaded["Id"], "F", int(stored["VoucherNumber"]), financial_year=2)
    emulator.control.set_readings(file_connection_pages=pages, file_connection_filters="ignored")
    emulator.control.clear_requests()

    # Paged: two pages of 2, then one page of 3 (its MetaInformation says it is the last). Whole (limit and
    # page ignored): 3 items for a limit of 2 end it; for a limit of 3 the same page comes back once more.
    for limit in (2, 3):
        client.page_limit = limit
        listed = client.list_voucher_file_connections("F")
        assert sorted(int(c["VoucherNumber"]) for c in listed) == [1, 2, 3]
    assert client.voucher_file_connections("F", 3, years=(2,))[0]["VoucherNumber"] == "3"

    asked = [e["query"] for e in emulator.control.requests(tenant_id) if e["path"] == "/3/voucherfileconnections"]
    assert len(asked) == (2 + 1 + 1 if pages == "paged" else 1 + 2 + 2)


def test_accounts_series_and_cost_centers_can_be_created_and_listed(client):
    client.create_account(3005, "Försäljning, catering")
    client.update_account(3005, Active=False)
    client.create_voucher_series("K", "Kassa 2", manual=True)
    client.create_cost_center("ODEN", "Restaurang Oden")

    assert {a["Number"]: a["Active"] for a in client.list_accounts()}[3005] is False
    assert {s["Code"]: s["Manual"] for s in client.list_voucher_series()} == {
        "A": True,
        "B": False,
        "F": True,
        "K": True,
    }
    assert [c["Code"] for c in client.list_cost_centers()] == ["ODEN"]


def test_financial_years_can_be_filtered_by_date(client):
    year = date.today().year

    assert [fy["Id"] for fy in client.list_financial_years()] == [1, 2]
    assert [fy["FromDate"] for fy in client.list_financial_years(date(year, 6, 1))] == [f"{year}-01-01"]
    assert client.list_financial_years(date(2001, 6, 1)) == []


def test_locked_through_is_none_until_a_period_is_locked(client, emulator, tenant_id):
    assert client.locked_through() is None

    emulator.control.set_locked_period(tenant_id, this_year_day(1, 31))

    assert client.locked_through() == this_year_day(1, 31)


def test_company_information_and_me(client, tenant_id):
    assert client.company_information()["DatabaseNumber"] == tenant_id
    assert client.me()["Email"]


# --- typed refusals through the control API ---------------------------------------------------------


def test_inactive_account(client, emulator, tenant_id):
    emulator.control.set_account_active(tenant_id, 3001, False)

    with pytest.raises(AccountInactiveError) as refused:
        client.create_voucher(voucher(this_year_day()))

    assert refused.value.subject == 3001 and refused.value.reason == "account_inactive"
    assert refused.value.status == 400 and refused.value.fortnox_message


def test_missing_account(client):
    rows = [
        {"Account": 1910, "Debit": Decimal("10.00"), "Credit": Decimal("0.00")},
        {"Account": 3099, "Debit": Decimal("0.00"), "Credit": Decimal("10.00")},
    ]
    with pytest.raises(AccountMissingError) as refused:
        client.create_voucher(voucher(this_year_day(), rows=rows))

    assert refused.value.reason == "account_missing"
    assert refused.value.subject in (3099, None)


def test_series_not_manual(client, emulator, tenant_id):
    emulator.control.set_series_manual(tenant_id, "F", False)

    with pytest.raises(SeriesNotManualError) as refused:
        client.create_voucher(voucher(this_year_day()))

    assert refused.value.subject == "F" and refused.value.reason == "series_not_manual"


def test_missing_series(client, emulator, tenant_id):
    emulator.control.delete_series(tenant_id, "F")

    with pytest.raises(SeriesMissingError) as refused:
        client.create_voucher(voucher(this_year_day()))

    assert refused.value.reason == "series_missing"


def _rows_with_cost_center(code):
    return [
        {"Account": 1910, "Debit": Decimal("10.00"), "Credit": Decimal("0.00")},
        {"Account": 3001, "Debit": Decimal("0.00"), "Credit": Decimal("10.00"), "CostCenter": code},
    ]


def test_missing_cost_center(client):
    with pytest.raises(CostCenterMissingError) as refused:
        client.create_voucher(voucher(this_year_day(), rows=_rows_with_cost_center("NOPE")))

    assert refused.value.reason == "cost_center_missing"
    assert refused.value.subject == "NOPE"


def test_inactive_cost_center(client, emulator, tenant_id):
    client.create_cost_center("ODEN", "Restaurang Oden")
    emulator.control.set_cost_center_active(tenant_id, "ODEN", False)

    with pytest.raises(CostCenterInactiveError) as refused:
        client.create_voucher(voucher(this_year_day(), rows=_rows_with_cost_center("ODEN")))

    assert refused.value.reason == "cost_center_inactive"
    assert refused.value.subject == "ODEN"


def test_no_financial_year(client):
    with pytest.raises(NoFinancialYearError) as refused:
        client.create_voucher(voucher(date(2001, 3, 14)))

    assert refused.value.reason == "no_financial_year"


def test_locked_period(client, emulator, tenant_id):
    emulator.control.set_locked_period(tenant_id, this_year_day(3, 31))

    with pytest.raises(PeriodLockedError) as refused:
        client.create_voucher(voucher(this_year_day(3, 14)))

    assert refused.value.reason == "period_locked"
    assert refused.value.subject == this_year_day(3, 31)


def test_unbalanced_and_single_row_vouchers_are_invalid(client):
    unbalanced = [
        {"Account": 1910, "Debit": Decimal("10.00"), "Credit": Decimal("0.00")},
        {"Account": 3001, "Debit": Decimal("0.00"), "Credit": Decimal("9.99")},
    ]
    single = [{"Account": 1910, "Debit": Decimal("10.00"), "Credit": Decimal("0.00")}]

    with pytest.raises(VoucherInvalidError):
        client.create_voucher(voucher(this_year_day(), rows=unbalanced))
    with pytest.raises(VoucherInvalidError):
        client.create_voucher(voucher(this_year_day(), rows=single))


def test_missing_scope(make_client):
    client = make_client(scope="bookkeeping companyinformation settings")

    with pytest.raises(AccessDeniedError) as refused:
        client.list_cost_centers()

    assert refused.value.reason == "access_denied" and refused.value.status in (400, 403)


def test_expired_access_token(client, emulator, tenant_id):
    emulator.control.expire_access_tokens(tenant_id)

    with pytest.raises(FortnoxAuthError) as refused:
        client.list_accounts()

    assert refused.value.status == 401 and refused.value.reason == "auth_expired"


def test_revoked_chain(client, emulator, tenant_id):
    emulator.control.revoke_tokens(tenant_id)

    with pytest.raises(FortnoxAuthError) as refused:
        client.create_voucher(voucher(this_year_day()))

    assert refused.value.reason == "auth_expired"
    assert emulator.control.vouchers(tenant_id) == []


# --- retry policy -----------------------------------------------------------------------------------


def _posts(emulator, tenant_id):
    return [entry for entry in emulator.control.requests(tenant_id) if entry["method"] == "POST"]


def test_find_voucher_after_a_timeout_finds_the_voucher_fortnox_stored(make_client, emulator, tenant_id):
    client = make_client(timeout=(5.0, 1.0))
    emulator.control.add_fault("timeout_after_store", method="POST", path_prefix="/3/vouchers", seconds=3)
    day = this_year_day()

    with pytest.raises(FortnoxConnectionError) as lost:
        client.create_voucher(voucher(day, description="Z-rapport 42, kassa K1"))

    assert lost.value.ambiguous and lost.value.reason == "transient"
    assert isinstance(lost.value.__cause__, requests.ReadTimeout)
    [found] = client.find_vouchers("F", 2, day, described_as("Z-rapport 42, kassa K1"))
    assert found["VoucherNumber"] == 1
    assert len(_posts(emulator, tenant_id)) == 1  # never re-posted inside the client
    assert len(emulator.control.vouchers(tenant_id)) == 1


def test_a_dropped_connection_after_storing_is_ambiguous_and_not_retried(client, emulator, tenant_id):
    emulator.control.add_fault("timeout_after_store", method="POST", path_prefix="/3/vouchers", seconds=0, after="drop")

    with pytest.raises(FortnoxConnectionError) as lost:
        client.create_voucher(voucher(this_year_day(), description="Z-rapport 43, kassa K1"))

    assert lost.value.ambiguous
    assert len(_posts(emulator, tenant_id)) == 1
    assert client.find_vouchers("F", 2, this_year_day(), described_as("Z-rapport 43, kassa K1"))


def test_a_500_on_post_is_raised_at_once_as_ambiguous(client, emulator, tenant_id):
    emulator.control.add_fault("500", method="POST", path_prefix="/3/vouchers")

    with pytest.raises(FortnoxServerError) as failed:
        client.create_voucher(voucher(this_year_day()))

    assert failed.value.ambiguous and failed.value.status == 500
    assert len(_posts(emulator, tenant_id)) == 1


def test_gets_are_retried_after_a_500_and_a_dropped_connection(client, emulator, tenant_id):
    emulator.control.add_fault("500", method="GET", path_prefix="/3/accounts")
    emulator.control.add_fault("drop", method="GET", path_prefix="/3/accounts")
    emulator.control.clear_requests()

    assert len(client.list_accounts()) == 42

    statuses = [entry["status"] for entry in emulator.control.requests(tenant_id) if entry["path"] == "/3/accounts"]
    assert statuses == [500, None, 200]


def test_a_get_gives_up_after_its_bounded_retries(client, emulator):
    emulator.control.add_fault("500", count=3, method="GET", path_prefix="/3/me")

    with pytest.raises(FortnoxServerError):
        client.me()


def test_connection_refused_is_not_ambiguous(client):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    closed = FortnoxClient(client.session, base_url=f"http://127.0.0.1:{port}/3")

    with pytest.raises(FortnoxConnectionError) as refused:
        closed.create_voucher(voucher(this_year_day()))

    assert refused.value.ambiguous is False


class RecordingSleep:
    """Real sleep that remembers how long each pause was."""

    def __init__(self):
        self.pauses = []

    def __call__(self, seconds):
        self.pauses.append(seconds)
        time.sleep(seconds)


def test_a_429_on_post_is_waited_out_retried_once_and_counted(make_client, emulator, tenant_id):
    sleep = RecordingSleep()
    client = make_client(limiter=SlidingWindowLimiter(period=0.5, sleep=sleep))
    emulator.control.add_fault("429", method="POST", path_prefix="/3/vouchers")

    stored = client.create_voucher(voucher(this_year_day()))

    assert stored["VoucherNumber"] == 1
    assert client.rate_limited_count == 1
    assert [entry["status"] for entry in _posts(emulator, tenant_id)] == [429, 201]
    assert sum(sleep.pauses) == pytest.approx(0.5, abs=0.05)  # the whole window drained
    assert len(emulator.control.vouchers(tenant_id)) == 1


def test_429_after_429_gives_up_with_rate_limited(make_client, emulator, tenant_id):
    client = make_client(limiter=SlidingWindowLimiter(period=0.1))
    emulator.control.add_fault("429", count=RATE_LIMIT_RETRIES + 1, method="GET", path_prefix="/3/me")

    with pytest.raises(FortnoxRateLimited) as limited:
        client.me()

    assert limited.value.reason == "rate_limited"
    assert client.rate_limited_count == RATE_LIMIT_RETRIES + 1


@pytest.fixture
def scripted() -> Iterator[tuple[str, list]]:
    """A tiny real HTTP server answering GETs from a script of (status, headers, body) — for what the
    emulator does not do: Fortnox has never been seen sending Retry-After, but we honour it if it does."""
    script: list[tuple[int, dict, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status, headers, body = script.pop(0)
            data = json.dumps(body).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/3", script
    server.shutdown()
    server.server_close()


def test_retry_after_is_honoured(scripted):
    base_url, script = scripted
    script += [(429, {"Retry-After": "0.3"}, {"message": "Too Many Requests"}), (200, {}, {"MeInformation": {"Id": 1}})]
    sleep = RecordingSleep()
    client = FortnoxClient(requests.Session(), base_url=base_url, limiter=SlidingWindowLimiter(sleep=sleep))

    assert client.me() == {"Id": 1}

    assert client.rate_limited_count == 1
    assert sum(sleep.pauses) == pytest.approx(0.3, abs=0.05)


def test_a_retry_after_too_long_to_wait_in_a_call_is_raised_and_pauses_the_limiter_at_most_a_minute(scripted):
    base_url, script = scripted
    script += [(429, {"Retry-After": "3600"}, {"message": "Too Many Requests"})]
    clock = [100.0]
    limiter = SlidingWindowLimiter(clock=lambda: clock[0], sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    client = FortnoxClient(requests.Session(), base_url=base_url, limiter=limiter)

    with pytest.raises(FortnoxRateLimited) as limited:
        client.me()

    assert limited.value.retry_after == 3600 and script == []
    limiter.acquire()
    assert clock[0] == pytest.approx(100.0 + MAX_RATE_LIMIT_WAIT)


@pytest.mark.slow
def test_a_burst_of_100_from_several_threads_never_meets_a_429_and_keeps_to_the_floor(make_client, emulator, tenant_id):
    limiter = limiter_for(f"burst-test-{tenant_id}-{time.monotonic_ns()}")
    clients = [make_client(limiter=limiter) for _ in range(8)]
    total, per_thread = 100, [13, 13, 13, 13, 12, 12, 12, 12]
    assert sum(per_thread) == total
    emulator.control.clear_requests()
    failures = []

    def work(client, count):
        try:
            for _ in range(count):
                client.company_information()
        except Exception as exc:  # noqa: BLE001 - reported below, with the thread's error
            failures.append(exc)

    threads = [threading.Thread(target=work, args=pair) for pair in zip(clients, per_thread, strict=True)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started

    floor = (-(-total // limiter.max_calls) - 1) * limiter.period  # the 100th call may start at 20 s
    ratio = elapsed / floor
    print(f"\nburst: {total} calls in {elapsed:.3f} s, floor {floor:.1f} s, ratio {ratio:.4f}")
    assert failures == []
    assert sum(client.rate_limited_count for client in clients) == 0
    log = [entry for entry in emulator.control.requests(tenant_id) if entry["path"] == "/3/companyinformation"]
    assert [entry["status"] for entry in log] == [200] * total
    arrivals = sorted(datetime.fromisoformat(entry["time"]) for entry in log)
    busiest = max(
        sum(1 for later in arrivals[i:] if later - first < timedelta(seconds=5)) for i, first in enumerate(arrivals)
    )
    print(f"burst: at most {busiest} calls reached the emulator within any 5 s")
    assert busiest <= 24
    # Never faster than the floor (the limit); the upper bound only catches a client that serialises
    # its threads: how close it keeps to the floor is measured by bench.backlog, not by a timed test.
    assert floor <= elapsed <= floor * 1.5
