"""The readings of the facts no source settles (docs/fortnox/facts-2026-12.md): one setting each,
changeable through the control API, so the back office can be tested under every one."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import requests

from fortnox_emulator.bookkeeping import normalised_text
from fortnox_emulator.ratelimit import WeightedWindowRateLimiter
from tests.fortnox_emulator.conftest import error_of


def _voucher(day: date, description: str = "Z-rapport 1 · Kassa 1", comments: str | None = None) -> dict:
    return {"Voucher": {"Description": description, "TransactionDate": day.isoformat(), "VoucherSeries": "F",
                        "Comments": comments,
                        "VoucherRows": [{"Account": 1910, "Debit": 100, "Credit": 0},
                                        {"Account": 3001, "Debit": 0, "Credit": 100}]}}


@pytest.fixture
def three_days(fortnox):
    """Vouchers on three days in a row of this year; returns the middle day."""
    today = date.today()
    middle = today - timedelta(days=1) if today.month > 1 or today.day > 2 else today + timedelta(days=1)
    for day in (middle - timedelta(days=1), middle, middle + timedelta(days=1)):
        assert fortnox.post("/3/vouchers", _voucher(day), financialyear=2).status_code == 201
    return middle


@pytest.mark.parametrize(("reading", "days"), [("inclusive", {0, 1}), ("todate_exclusive", {0}), ("ignored", {-1, 0, 1})])
def test_date_filters_on_the_sublist_play_each_reading(emulator, fortnox, three_days, reading, days):
    emulator.control.set_readings(date_filter=reading)

    answer = fortnox.get("/3/vouchers/sublist/F", financialyear=2, fromdate=three_days.isoformat(),
                         todate=(three_days + timedelta(days=1)).isoformat())

    assert {(date.fromisoformat(v["TransactionDate"]) - three_days).days for v in answer.json()["Vouchers"]} == days


def test_refused_date_filters_answer_2000588_and_the_unfiltered_list_still_works(emulator, fortnox, three_days):
    emulator.control.set_readings(date_filter="refused")

    refused = fortnox.get("/3/vouchers/sublist/F", financialyear=2, todate=three_days.isoformat())

    assert refused.status_code == 400 and error_of(refused)[0] == 2000588
    assert len(fortnox.get("/3/vouchers", financialyear=2).json()["Vouchers"]) == 3


def test_normalised_descriptions_are_trimmed_collapsed_and_lose_their_punctuation(emulator, fortnox):
    emulator.control.set_readings(descriptions="normalised")

    stored = fortnox.post("/3/vouchers", _voucher(date.today(), "  Z-rapport 1 · Kassa  1 … Café Åre ", "Export-id:  abc"),
                          financialyear=2).json()["Voucher"]

    assert stored["Description"] == "Z-rapport 1 - Kassa 1 ... Café Åre"
    assert stored["Comments"] == "Export-id: abc"
    assert normalised_text("a\u2013b\u00a0c ✓") == "a-b c ?"


def test_verbatim_descriptions_are_kept_byte_for_byte(fortnox):
    text = "  Z-rapport 1 · Kassa  1 … "
    stored = fortnox.post("/3/vouchers", _voucher(date.today(), text), financialyear=2).json()["Voucher"]
    assert stored["Description"] == text


def test_the_weighted_window_refuses_a_burst_the_sliding_window_allows():
    clock = [0.0]
    weighted = WeightedWindowRateLimiter(25, 5.0, clock=lambda: clock[0])
    assert all(weighted.allow("t") for _ in range(25))  # 25 at the start of one window
    clock[0] = 5.5  # 0.5 s into the next one: 25 × 0.9 still weighs
    assert [weighted.allow("t") for _ in range(3)] == [True, True, False]
    clock[0] = 9.9  # nearly through it: 25 × 0.02 + 2
    assert sum(weighted.allow("t") for _ in range(30)) == 22
    clock[0] = 20.0  # two windows later nothing weighs
    assert sum(weighted.allow("t") for _ in range(30)) == 25


def test_readings_are_read_and_set_through_the_control_api_and_say_what_is_unsourced(emulator, tenant_id):
    control = emulator.control
    shown = control.readings()
    assert (shown["date_filter"], shown["descriptions"], shown["rate_window"], shown["retry_after"]) == (
        "inclusive", "verbatim", "sliding", None)
    assert shown["choices"]["date_filter"] == ["inclusive", "todate_exclusive", "ignored", "refused"]
    assert "todate_exclusive" in shown["unsourced"]["date_filter"] and shown["unsourced"]["rate_window"] == ["weighted"]

    changed = control.set_readings(rate_window="weighted", retry_after=2)
    assert (changed["rate_window"], changed["retry_after"]) == ("weighted", 2.0)
    assert control.info()["readings"]["rate_window"] == "weighted"
    token = control.issue_tokens(tenant_id)["access_token"]
    statuses = [requests.get(emulator.url + "/3/companyinformation", headers={"Authorization": f"Bearer {token}"},
                             timeout=10) for _ in range(26)]
    assert statuses[-1].status_code == 429 and statuses[-1].headers["Retry-After"] == "2"
    for refused in ({"date_filter": "sometimes"}, {"speed": "fast"}, {"retry_after": "soon"}):
        with pytest.raises(requests.HTTPError) as error:
            control.set_readings(**refused)
        assert error.value.response.status_code == 400


def test_the_attachment_readings_are_read_and_set_through_the_control_api_and_change_the_file_list(
        emulator, session_for, tenant_id):
    from tests.fortnox_emulator.test_files import FILE_SCOPES, _connect, _upload

    control = emulator.control
    shown = control.readings()
    assert (shown["file_connection_filters"], shown["voucher_year_reading"], shown["file_connection_pages"]) == (
        "honoured", "id", "whole")
    assert shown["choices"]["file_connection_pages"] == ["whole", "paged"]
    assert shown["unsourced"]["voucher_year_reading"] == ["id", "calendar"]
    files = session_for(tenant_id, FILE_SCOPES)
    today = emulator.app.today()
    for description in ("Z 1", "Z 2", "Z 3"):
        voucher = files.post("/3/vouchers", _voucher(today, description), financialyear=2).json()["Voucher"]
        assert _connect(files, _upload(files).json()["File"]["Id"], voucher, financialyear=2).status_code == 201

    changed = control.set_readings(file_connection_filters="ignored", voucher_year_reading="calendar",
                                   file_connection_pages="paged")

    assert control.info()["readings"]["file_connection_pages"] == "paged"
    assert (changed["file_connection_filters"], changed["voucher_year_reading"]) == ("ignored", "calendar")
    page = files.get("/3/voucherfileconnections", vouchernumber=1, limit=2, page=2).json()
    assert page["MetaInformation"] == {"@TotalResources": 3, "@TotalPages": 2, "@CurrentPage": 2}
    assert [(c["VoucherNumber"], c["VoucherYear"]) for c in page["VoucherFileConnections"]] == [("3", today.year)]
    control.set_readings(file_connection_filters="honoured", voucher_year_reading="id", file_connection_pages="whole")
    whole = files.get("/3/voucherfileconnections", vouchernumber=1, limit=2, page=2).json()
    assert "MetaInformation" not in whole
    assert [(c["VoucherNumber"], c["VoucherYear"]) for c in whole["VoucherFileConnections"]] == [("1", 2)]
    for refused in ({"file_connection_pages": "sometimes"}, {"voucher_year_reading": "fiscal"}):
        with pytest.raises(requests.HTTPError) as error:
            control.set_readings(**refused)
        assert error.value.response.status_code == 400
