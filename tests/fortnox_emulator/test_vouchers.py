"""Vouchers: Fortnox's rules, numbering, immutability and lists, over real HTTP."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.fortnox_emulator.conftest import decimal_json, error_of, voucher_body


@pytest.fixture
def today(emulator) -> date:
    return emulator.app.today()


@pytest.fixture
def day(today) -> str:
    return today.isoformat()


def test_posting_a_voucher_answers_201_with_location_and_the_stored_voucher(fortnox, day):
    response = fortnox.post("/3/vouchers", voucher_body(day))

    assert response.status_code == 201
    assert response.headers["Location"] == "vouchers"
    voucher = decimal_json(response)["Voucher"]
    assert voucher["VoucherSeries"] == "F"
    assert voucher["VoucherNumber"] == 1
    assert voucher["Year"] == 2  # the financial-year Id, not a calendar year
    assert voucher["TransactionDate"] == day
    assert voucher["ReferenceType"] == "MANUAL"
    assert voucher["Comments"] is None  # absent values are null, not omitted
    assert voucher["@url"].endswith("/3/vouchers/F/1?financialyear=2")
    assert [(r["Account"], r["Debit"], r["Credit"]) for r in voucher["VoucherRows"]] == [
        (1910, Decimal("125.0"), Decimal("0.0")), (3001, Decimal("0.0"), Decimal("100.0")),
        (2611, Decimal("0.0"), Decimal("25.0"))]
    assert voucher["VoucherRows"][0]["Description"] == "Kassa"  # filled in from the account
    assert "\\/3\\/vouchers\\/F\\/1" in response.text  # Fortnox escapes slashes


def test_numbers_run_per_series_and_financial_year_without_gaps(fortnox, emulator, tenant_id, today):
    last_year = date(today.year - 1, 6, 30).isoformat()
    numbers = []
    for body, params in [
        (voucher_body(today.isoformat()), {}),
        (voucher_body(today.isoformat(), series="A"), {}),
        (voucher_body(today.isoformat(), rows=[{"Account": 1910, "Debit": 1}, {"Account": 3001, "Credit": 2}]), {}),
        (voucher_body(today.isoformat()), {}),
        (voucher_body(last_year), {"financialyear": 1}),
    ]:
        response = fortnox.post("/3/vouchers", body, **params)
        numbers.append((response.status_code, response.json().get("Voucher", {}).get("VoucherNumber")))

    assert numbers == [(201, 1), (201, 1), (400, None), (201, 2), (201, 1)]
    stored = [(v["financial_year"], v["series"], v["number"]) for v in emulator.control.vouchers(tenant_id)]
    assert stored == [(2, "F", 1), (2, "A", 1), (2, "F", 2), (1, "F", 1)]
    assert fortnox.get("/3/voucherseries/F").json()["VoucherSeries"]["NextVoucherNumber"] == 3


def test_a_voucher_is_read_back_by_series_number_and_financial_year(fortnox, day):
    fortnox.post("/3/vouchers", voucher_body(day, description="Z-rapport 42"))

    response = fortnox.get("/3/vouchers/F/1", financialyear=2)

    assert response.status_code == 200
    assert response.json()["Voucher"]["Description"] == "Z-rapport 42"
    assert fortnox.get("/3/vouchers/F/1", financialyear=1).status_code == 404


def test_an_unknown_voucher_is_404_with_error_information(fortnox):
    response = fortnox.get("/3/vouchers/F/99")

    assert response.status_code == 404
    assert response.json() == {"ErrorInformation": {"Error": 1, "Message": "Kan inte hitta verifikationen.",
                                                    "Code": 2999101}}


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_stored_voucher_can_never_be_changed(fortnox, emulator, tenant_id, day, method):
    fortnox.post("/3/vouchers", voucher_body(day))
    changed = voucher_body(day, description="Ändrad")

    response = fortnox.request(method, "/3/vouchers/F/1", json=changed)

    assert response.status_code == 400
    assert error_of(response)[0] == 2999008
    assert emulator.control.vouchers(tenant_id)[0]["description"] == "Z-rapport 1, kassa K1"


def test_money_is_compared_exactly_not_as_floats(fortnox, emulator, tenant_id, day):
    # 0.1 + 0.2 != 0.3 in binary floating point; Fortnox compares öre.
    rows = [{"Account": 1910, "Debit": 0.1}, {"Account": 1930, "Debit": "0.2"}, {"Account": 3004, "Credit": 0.3}]

    response = fortnox.post("/3/vouchers", voucher_body(day, rows=rows))

    assert response.status_code == 201
    stored = emulator.control.vouchers(tenant_id)[0]["rows"]
    assert [(r["account"], r["debit"], r["credit"]) for r in stored] == [
        (1910, "0.10", "0.00"), (1930, "0.20", "0.00"), (3004, "0.00", "0.30")]


def test_amounts_are_rounded_to_the_ore_half_up_before_the_balance_check(fortnox, emulator, tenant_id, day):
    rows = [{"Account": 1910, "Debit": "10.005"}, {"Account": 3004, "Credit": "10.01"}]

    response = fortnox.post("/3/vouchers", voucher_body(day, rows=rows))

    assert response.status_code == 201
    assert decimal_json(response)["Voucher"]["VoucherRows"][0]["Debit"] == Decimal("10.01")


def test_one_ore_off_is_unbalanced(fortnox, day):
    rows = [{"Account": 1910, "Debit": "100.00"}, {"Account": 3004, "Credit": "99.99"}]

    response = fortnox.post("/3/vouchers", voucher_body(day, rows=rows))

    assert response.status_code == 400
    assert response.json()["ErrorInformation"] == {
        "error": 1, "code": 2999001,
        "message": "Verifikationen balanserar inte. Debet 100.00 och kredit 99.99 skiljer sig åt."}


ONE_ROW = [{"Account": 1910, "Debit": 0, "Credit": 0}]
CASES = [
    # id, rows, series, expected code, expected message
    ("one-row", ONE_ROW, "F", 2001897, "Verifikationen måste ha minst två rader."),
    ("unknown-account", [{"Account": 1911, "Debit": 5}, {"Account": 3001, "Credit": 5}], "F", 2001304,
     "Kunde inte hitta konto"),
    ("account-out-of-range", [{"Account": 99999, "Debit": 5}, {"Account": 3001, "Credit": 5}], "F", 2001304,
     "Kunde inte hitta konto"),
    ("inactive-account", [{"Account": 1910, "Debit": 5}, {"Account": 3050, "Credit": 5}], "F", 2999002,
     'Konto "3050" är inte aktivt'),
    ("unknown-cost-center", [{"Account": 1910, "Debit": 5}, {"Account": 3001, "Credit": 5, "CostCenter": "NOPE"}],
     "F", 2999003, 'Kostnadsstället "NOPE" finns inte'),
    ("unknown-series", None, "X", 2999005, "Ogiltig verifikationsserie angiven"),
    ("series-not-manual", None, "B", 2001940, "Verifikationsserien är inte manuell (B)."),
    ("unknown-field", [{"Account": 1910, "Debet": 5}, {"Account": 3001, "Credit": 5}], "F", 2001399,
     'Ogiltigt fältnamn "Debet".'),
    ("non-numeric-amount", [{"Account": 1910, "Debit": "fem"}, {"Account": 3001, "Credit": 5}], "F", 2000108,
     'Värdet i fältet "Debit" måste vara numeriskt.'),
    ("boolean-amount", [{"Account": 1910, "Debit": True}, {"Account": 3001, "Credit": 1}], "F", 2000108,
     'Värdet i fältet "Debit" måste vara numeriskt.'),
]


@pytest.mark.parametrize(("rows", "series", "code", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_voucher_rules(fortnox, emulator, tenant_id, day, rows, series, code, message):
    response = fortnox.post("/3/vouchers", voucher_body(day, rows=rows, series=series))

    assert response.status_code == 400
    assert error_of(response) == (code, message)
    assert emulator.control.vouchers(tenant_id) == []


def test_an_account_deactivated_in_fortnox_is_refused_by_number(fortnox, emulator, tenant_id, day):
    emulator.control.set_account_active(tenant_id, 3001, False)

    response = fortnox.post("/3/vouchers", voucher_body(day))

    assert error_of(response) == (2999002, 'Konto "3001" är inte aktivt')
    emulator.control.set_account_active(tenant_id, 3001, True)
    assert fortnox.post("/3/vouchers", voucher_body(day)).status_code == 201


def test_an_account_is_checked_in_the_financial_year_of_the_voucher(fortnox, emulator, tenant_id, today):
    emulator.control.set_account_active(tenant_id, 3001, False, financial_year=1)
    last_year = date(today.year - 1, 12, 31).isoformat()

    assert fortnox.post("/3/vouchers", voucher_body(last_year), financialyear=1).status_code == 400
    assert fortnox.post("/3/vouchers", voucher_body(today.isoformat())).status_code == 201


def test_a_series_made_non_manual_is_refused_with_2001940(fortnox, emulator, tenant_id, day):
    emulator.control.set_series_manual(tenant_id, "F", False)

    response = fortnox.post("/3/vouchers", voucher_body(day))

    assert response.json() == {"ErrorInformation": {"Error": 1, "Code": 2001940,
                                                    "Message": "Verifikationsserien är inte manuell (F)."}}


def test_a_deleted_series_is_an_invalid_series(fortnox, emulator, tenant_id, day):
    emulator.control.delete_series(tenant_id, "F", financial_year=2)

    assert error_of(fortnox.post("/3/vouchers", voucher_body(day))) == (2999005, "Ogiltig verifikationsserie angiven")


def test_a_date_without_financial_year_is_refused(fortnox, emulator, tenant_id, day):
    assert error_of(fortnox.post("/3/vouchers", voucher_body("2001-05-05")))[1] == "Räkenskapsår saknas för valt datum"
    emulator.control.delete_financial_year(tenant_id, 2)
    assert error_of(fortnox.post("/3/vouchers", voucher_body(day))) == (2999006, "Räkenskapsår saknas för valt datum")


def test_without_financialyear_the_preselected_year_is_used(fortnox, today):
    # Fortnox's spec: "If no query param is used the voucher will be created in the preselected
    # financial year." A date in last year needs ?financialyear=.
    last_year = date(today.year - 1, 12, 31).isoformat()

    refused = fortnox.post("/3/vouchers", voucher_body(last_year))
    accepted = fortnox.post("/3/vouchers", voucher_body(last_year), financialyear=1)

    assert refused.status_code == 400
    assert error_of(refused)[0] == 2999007
    assert accepted.status_code == 201
    assert accepted.json()["Voucher"]["Year"] == 1


def test_an_unknown_financialyear_parameter_is_refused(fortnox, day):
    response = fortnox.post("/3/vouchers", voucher_body(day), financialyear=99)
    assert error_of(response) == (2999014, "Räkenskapsåret 99 finns inte.")


def test_the_locked_period_refuses_dates_up_to_and_including_its_end(fortnox, emulator, tenant_id, today):
    end = date(today.year, 1, 31)
    emulator.control.set_locked_period(tenant_id, end)

    inside = fortnox.post("/3/vouchers", voucher_body(date(today.year, 1, 15).isoformat()))
    on_end = fortnox.post("/3/vouchers", voucher_body(end.isoformat()))
    after = fortnox.post("/3/vouchers", voucher_body((end + timedelta(days=1)).isoformat()))

    assert inside.status_code == on_end.status_code == 400
    assert inside.json() == {"ErrorInformation": {
        "error": 1, "code": "2000401",
        "message": f"Bokföringen har låst perioden t.o.m. {end.isoformat()}. Lås upp perioden för att fortsätta."}}
    assert after.status_code == 201
    assert after.json()["Voucher"]["VoucherNumber"] == 1  # refusals used no number


def test_cost_centres_must_exist_and_be_active(fortnox, emulator, tenant_id, day):
    fortnox.post("/3/costcenters", {"CostCenter": {"Code": "REST1", "Description": "Restaurangen"}})
    rows = [{"Account": 1910, "Debit": 5, "CostCenter": "REST1"}, {"Account": 3001, "Credit": 5, "CostCenter": "REST1"}]
    assert fortnox.post("/3/vouchers", voucher_body(day, rows=rows)).status_code == 201

    emulator.control.set_cost_center_active(tenant_id, "REST1", False)
    inactive = fortnox.post("/3/vouchers", voucher_body(day, rows=rows))
    emulator.control.delete_cost_center(tenant_id, "REST1")
    missing = fortnox.post("/3/vouchers", voucher_body(day, rows=rows))

    assert error_of(inactive) == (2000947, 'Kostnadsstället "REST1" är inte aktivt')
    assert error_of(missing) == (2999003, 'Kostnadsstället "REST1" finns inte')


def test_an_account_with_mandatory_cost_centre_needs_one(fortnox, day):
    fortnox.put("/3/accounts/3001", {"Account": {"CostCenterSettings": "MANDATORY"}})

    response = fortnox.post("/3/vouchers", voucher_body(day))

    assert error_of(response) == (2000946, 'Kostnadsställe är obligatoriskt på konto "3001"')


@pytest.mark.parametrize(("voucher", "code"), [
    ({"TransactionDate": "2026-01-01", "VoucherSeries": "F"}, 2999009),
    ({"Description": "x", "TransactionDate": "01/02/2026", "VoucherSeries": "F"}, 2999011),
    ({"Description": "x" * 201, "TransactionDate": "2026-01-01", "VoucherSeries": "F"}, 2999010),
], ids=["no-description", "bad-date", "description-too-long"])
def test_required_and_malformed_fields_are_refused(fortnox, voucher, code):
    rows = [{"Account": 1910, "Debit": 1}, {"Account": 3001, "Credit": 1}]
    response = fortnox.post("/3/vouchers", {"Voucher": {**voucher, "VoucherRows": rows}})
    assert response.status_code == 400
    assert error_of(response)[0] == code


def test_a_body_without_the_voucher_wrapper_or_not_json_is_refused(fortnox, day):
    unwrapped = fortnox.post("/3/vouchers", voucher_body(day)["Voucher"])
    not_json = fortnox.request("POST", "/3/vouchers", data=b"{not json", headers={"Content-Type": "application/json"})

    assert error_of(unwrapped) == (2001392, "Ingen eller felaktig data i anropet.")
    assert error_of(not_json)[0] == 2002115


def test_read_only_fields_sent_by_a_client_are_ignored(fortnox, day):
    body = voucher_body(day)
    body["Voucher"].update({"VoucherNumber": 77, "Year": 1, "ReferenceType": "INVOICE"})

    voucher = fortnox.post("/3/vouchers", body).json()["Voucher"]

    assert (voucher["VoucherNumber"], voucher["Year"], voucher["ReferenceType"]) == (1, 2, "MANUAL")


def test_error_information_comes_in_both_key_casings_and_code_types(fortnox, day):
    pascal = fortnox.post("/3/vouchers", voucher_body(day, rows=ONE_ROW)).json()["ErrorInformation"]
    lower = fortnox.post("/3/vouchers", voucher_body(day, rows=[{"Account": 1910, "Debit": 1},
                                                               {"Account": 3001, "Credit": 2}])).json()
    string_code = fortnox.get("/3/vouchers", limit=501).json()["ErrorInformation"]

    assert set(pascal) == {"Error", "Message", "Code"} and isinstance(pascal["Code"], int)
    assert set(lower["ErrorInformation"]) == {"error", "message", "code"}
    assert isinstance(lower["ErrorInformation"]["code"], int)
    assert string_code["code"] == "2000588"


# --- lists ------------------------------------------------------------------------------------------

def _post_days(fortnox, days: list[str], series: str = "F") -> None:
    for day in days:
        assert fortnox.post("/3/vouchers", voucher_body(day, series=series)).status_code == 201


def test_voucher_lists_have_meta_information_and_no_rows(fortnox, today):
    _post_days(fortnox, [today.isoformat()] * 3)
    _post_days(fortnox, [today.isoformat()], series="A")

    response = fortnox.get("/3/vouchers")

    body = response.json()
    assert body["MetaInformation"] == {"@TotalResources": 4, "@TotalPages": 1, "@CurrentPage": 1}
    assert [(v["VoucherSeries"], v["VoucherNumber"]) for v in body["Vouchers"]] == [
        ("A", 1), ("F", 1), ("F", 2), ("F", 3)]
    assert "VoucherRows" not in body["Vouchers"][0]
    assert set(body["Vouchers"][0]) == {"@url", "ApprovalState", "Comments", "Description", "ReferenceNumber",
                                        "ReferenceType", "TransactionDate", "VoucherNumber", "VoucherSeries", "Year"}
    sublist = fortnox.get("/3/vouchers/sublist/F").json()
    assert [v["VoucherNumber"] for v in sublist["Vouchers"]] == [1, 2, 3]
    assert fortnox.get("/3/vouchers/sublist").json()["MetaInformation"]["@TotalResources"] == 4


def test_voucher_lists_page_with_limit_and_page(fortnox, today):
    _post_days(fortnox, [today.isoformat()] * 5)

    second = fortnox.get("/3/vouchers/sublist/F", limit=2, page=2).json()
    beyond = fortnox.get("/3/vouchers/sublist/F", limit=2, page=4).json()

    assert second["MetaInformation"] == {"@TotalResources": 5, "@TotalPages": 3, "@CurrentPage": 2}
    assert [v["VoucherNumber"] for v in second["Vouchers"]] == [3, 4]
    assert beyond["Vouchers"] == []


def test_an_empty_list_has_zero_pages_and_current_page_one(fortnox):
    body = fortnox.get("/3/vouchers").json()
    assert body == {"MetaInformation": {"@TotalResources": 0, "@TotalPages": 0, "@CurrentPage": 1}, "Vouchers": []}


@pytest.mark.parametrize("params", [{"limit": 501}, {"limit": 0}, {"page": "x"}, {"fromdate": "2026-13-01"}],
                         ids=["limit-over-500", "limit-zero", "page-not-a-number", "bad-fromdate"])
def test_bad_list_parameters_are_refused_with_2000588(fortnox, params):
    response = fortnox.get("/3/vouchers", **params)
    assert response.status_code == 400
    assert error_of(response) == (2000588, "Ogiltig parameter i anropet.")


def test_voucher_lists_filter_by_date_and_year(fortnox, today):
    year = today.year
    _post_days(fortnox, [f"{year}-03-01", f"{year}-03-15", f"{year}-04-01"])
    assert fortnox.post("/3/vouchers", voucher_body(f"{year - 1}-03-15"), financialyear=1).status_code == 201

    march = fortnox.get("/3/vouchers", fromdate=f"{year}-03-01", todate=f"{year}-03-31").json()["Vouchers"]
    last_year = fortnox.get("/3/vouchers", financialyear=1).json()["Vouchers"]

    assert [v["TransactionDate"] for v in march] == [f"{year}-03-01", f"{year}-03-15"]
    assert [(v["TransactionDate"], v["Year"]) for v in last_year] == [(f"{year - 1}-03-15", 1)]


def test_voucher_lists_filter_by_lastmodified_in_swedish_time(fortnox, emulator, tenant_id, today):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    _post_days(fortnox, [today.isoformat()])
    created = datetime.fromisoformat(emulator.control.vouchers(tenant_id)[0]["created_at"])
    local = created.astimezone(ZoneInfo("Europe/Stockholm"))

    before = fortnox.get("/3/vouchers", lastmodified=(local - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M"))
    after = fortnox.get("/3/vouchers", lastmodified=(local + timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M"))

    assert before.json()["MetaInformation"]["@TotalResources"] == 1
    assert after.json()["MetaInformation"]["@TotalResources"] == 0


def test_concurrent_posts_get_distinct_numbers_without_gaps(fortnox, emulator, tenant_id, day):
    def post(_: int) -> int:
        return fortnox.post("/3/vouchers", voucher_body(day)).json()["Voucher"]["VoucherNumber"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(post, range(20)))

    assert sorted(numbers) == list(range(1, 21))
    assert sorted(v["number"] for v in emulator.control.vouchers(tenant_id)) == list(range(1, 21))
