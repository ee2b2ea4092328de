"""Accounts, voucher series, cost centres, financial years, locked period, company, me, scopes."""

from __future__ import annotations

from datetime import date

import pytest
import requests

from tests.fortnox_emulator.conftest import FortnoxSession, error_of, voucher_body

RESTAURANT_ACCOUNTS = {1580, 1910, 1930, 2421, 2611, 2621, 2631, 2890, 3001, 3002, 3003, 3004, 3051, 3052, 3053,
                       3740, 3990, 6990}


# --- accounts ---------------------------------------------------------------------------------------

def test_the_seeded_chart_has_the_restaurant_accounts_sorted_with_inactive_ones(fortnox):
    body = fortnox.get("/3/accounts", limit=500).json()

    accounts = {a["Number"]: a for a in body["Accounts"]}
    assert RESTAURANT_ACCOUNTS <= set(accounts)
    assert [a["Number"] for a in body["Accounts"]] == sorted(accounts)
    assert accounts[3002]["Active"] is True
    assert accounts[3050]["Active"] is False and accounts[1920]["Active"] is False
    assert accounts[1910]["Description"] == "Kassa"
    assert accounts[3740]["Description"] == "Öres- och kronutjämning"
    assert body["MetaInformation"]["@TotalResources"] == len(accounts)


def test_accounts_page_with_the_default_limit_of_100(make_emulator, openapi):
    emulator = make_emulator(rate_limit_requests=1000)  # 70 creates would trip Fortnox's 25 per 5 s
    token = emulator.control.issue_tokens(emulator.default_tenant_id, "bookkeeping")["access_token"]
    fortnox = FortnoxSession(emulator.url, token, openapi)
    for number in range(4100, 4170):
        fortnox.post("/3/accounts", {"Account": {"Number": number, "Description": f"Inköp {number}"}})

    first = fortnox.get("/3/accounts").json()

    assert len(first["Accounts"]) == 100
    assert first["MetaInformation"]["@TotalPages"] == 2


def test_one_account_and_a_404_for_an_unknown_one(fortnox):
    account = fortnox.get("/3/accounts/3001").json()["Account"]
    missing = fortnox.get("/3/accounts/9999")

    assert account["Number"] == 3001 and account["Year"] == 2
    assert account["Description"] == "Försäljning inom Sverige, 25 % moms"
    assert missing.status_code == 404
    assert missing.json() == {"ErrorInformation": {"Error": 1, "Message": "Kan inte hitta kontot.", "Code": 2999102}}


def test_accounts_are_per_financial_year(fortnox):
    assert fortnox.get("/3/accounts/3001", financialyear=1).json()["Account"]["Year"] == 1
    assert error_of(fortnox.get("/3/accounts/3001", financialyear=9))[0] == 2999014


def test_creating_and_updating_an_account(fortnox):
    created = fortnox.post("/3/accounts", {"Account": {"Number": 3055, "Description": "Försäljning take away"}})
    duplicate = fortnox.post("/3/accounts", {"Account": {"Number": 3055, "Description": "Igen"}})
    updated = fortnox.put("/3/accounts/3055", {"Account": {"Description": "Take away", "Active": False}})
    renumbered = fortnox.put("/3/accounts/3055", {"Account": {"Number": 3056}})

    assert created.status_code == 201 and created.headers["Location"] == "accounts"
    assert created.json()["Account"]["Active"] is True
    assert error_of(duplicate) == (2999012, "Konto 3055 finns redan.")
    assert updated.status_code == 200
    assert (updated.json()["Account"]["Description"], updated.json()["Account"]["Active"]) == ("Take away", False)
    assert error_of(renumbered) == (2999013, 'Fältet "Number" kan inte ändras.')
    assert fortnox.get("/3/accounts/3055").json()["Account"]["Active"] is False


def test_an_account_without_description_is_refused(fortnox):
    response = fortnox.post("/3/accounts", {"Account": {"Number": 3056}})
    assert error_of(response) == (2999009, 'Fältet "Description" måste anges.')


# --- voucher series ----------------------------------------------------------------------------------

def test_voucher_series_come_as_voucher_series_collection(fortnox):
    body = fortnox.get("/3/voucherseries").json()

    series = {s["Code"]: s for s in body["VoucherSeriesCollection"]}
    assert {code: (s["Description"], s["Manual"]) for code, s in series.items()} == {
        "A": ("Redovisning", True), "B": ("Kundfakturor", False), "F": ("Kassa", True)}
    assert "NextVoucherNumber" not in series["F"]
    assert body["MetaInformation"]["@TotalResources"] == 3


def test_one_series_shows_the_next_voucher_number(fortnox, emulator):
    fortnox.post("/3/vouchers", voucher_body(emulator.app.today().isoformat()))

    series = fortnox.get("/3/voucherseries/F").json()["VoucherSeries"]

    assert series["NextVoucherNumber"] == 2 and series["Year"] == 2
    assert fortnox.get("/3/voucherseries/Q").status_code == 404


def test_creating_a_manual_series_and_making_b_manual_lets_vouchers_in(fortnox, emulator):
    day = emulator.app.today().isoformat()
    created = fortnox.post("/3/voucherseries", {"VoucherSeries": {"Code": "K", "Description": "Kassa 2",
                                                                  "Manual": True}})
    fortnox.put("/3/voucherseries/B", {"VoucherSeries": {"Manual": True}})

    assert created.status_code == 201 and created.headers["Location"] == "voucherseries"
    assert fortnox.post("/3/vouchers", voucher_body(day, series="K")).status_code == 201
    assert fortnox.post("/3/vouchers", voucher_body(day, series="B")).status_code == 201
    assert fortnox.post("/3/voucherseries", {"VoucherSeries": {"Code": "K"}}).status_code == 400


# --- cost centres ------------------------------------------------------------------------------------

def test_cost_centres_start_empty_and_can_be_created_read_and_updated(fortnox):
    assert fortnox.get("/3/costcenters").json()["CostCenters"] == []

    created = fortnox.post("/3/costcenters", {"CostCenter": {"Code": "REST1", "Description": "Restaurangen"}})
    updated = fortnox.put("/3/costcenters/REST1", {"CostCenter": {"Active": False, "Note": "Stängd"}})
    too_long = fortnox.post("/3/costcenters", {"CostCenter": {"Code": "TOOLONG", "Description": "x"}})

    assert created.status_code == 201 and created.headers["Location"] == "costcenters"
    assert created.json()["CostCenter"] == {"@url": created.json()["CostCenter"]["@url"], "Active": True,
                                            "Code": "REST1", "Description": "Restaurangen", "Note": None}
    assert (updated.json()["CostCenter"]["Active"], updated.json()["CostCenter"]["Note"]) == (False, "Stängd")
    assert [c["Code"] for c in fortnox.get("/3/costcenters").json()["CostCenters"]] == ["REST1"]
    assert error_of(too_long)[0] == 2999010
    assert error_of(fortnox.get("/3/costcenters/NONE")) == (2999103, "Kan inte hitta kostnadsstället.")


# --- financial years, locked period, company ---------------------------------------------------------

def test_financial_years_cover_last_year_and_this_year(fortnox, emulator):
    today = emulator.app.today()
    years = fortnox.get("/3/financialyears").json()["FinancialYears"]

    assert [(y["Id"], y["FromDate"], y["ToDate"]) for y in years] == [
        (1, f"{today.year - 1}-01-01", f"{today.year - 1}-12-31"), (2, f"{today.year}-01-01", f"{today.year}-12-31")]
    assert years[0]["AccountingMethod"] == "ACCRUAL"
    assert fortnox.get("/3/financialyears/2").json()["FinancialYear"]["Id"] == 2
    assert error_of(fortnox.get("/3/financialyears/7")) == (2999105, "Kan inte hitta räkenskapsåret.")


def test_financial_years_filtered_by_date_may_be_an_empty_list(fortnox, emulator):
    today = emulator.app.today().isoformat()

    found = fortnox.get("/3/financialyears/", date=today).json()  # the docs' own spelling, trailing slash
    none = fortnox.get("/3/financialyears", date="1999-01-01").json()

    assert [y["Id"] for y in found["FinancialYears"]] == [2]
    assert none == {"MetaInformation": {"@TotalResources": 0, "@TotalPages": 0, "@CurrentPage": 1},
                    "FinancialYears": []}


def test_locked_period_is_null_until_locked(fortnox, emulator, tenant_id):
    assert fortnox.get("/3/settings/lockedperiod").json() == {"LockedPeriod": {"EndDate": None}}

    emulator.control.set_locked_period(tenant_id, date(2026, 10, 31))

    assert fortnox.get("/3/settings/lockedperiod").json() == {"LockedPeriod": {"EndDate": "2026-10-31"}}
    emulator.control.set_locked_period(tenant_id, None)
    assert fortnox.get("/3/settings/lockedperiod").json()["LockedPeriod"]["EndDate"] is None


def test_company_information_has_the_tenant_id_as_database_number(fortnox, tenant_id, emulator, session_for):
    info = fortnox.get("/3/companyinformation").json()["CompanyInformation"]
    other = emulator.control.create_tenant("Café Kanel AB", "559000-1111")
    other_info = session_for(other).get("/3/companyinformation").json()["CompanyInformation"]

    assert (info["DatabaseNumber"], info["CompanyName"], info["OrganizationNumber"]) == (
        tenant_id, "Restaurang Smakfullt AB", "556677-8899")
    assert (other_info["DatabaseNumber"], other_info["CompanyName"]) == (other, "Café Kanel AB")


def test_me_describes_the_user(fortnox):
    me = fortnox.get("/3/me").json()["MeInformation"]
    assert me["Email"] == "demo@example.se" and me["SysAdmin"] is True


def test_tenants_are_isolated(fortnox, emulator, session_for):
    other = session_for(emulator.control.create_tenant("Café Kanel AB", "559000-1111"))
    fortnox.post("/3/vouchers", voucher_body(emulator.app.today().isoformat()))

    assert other.get("/3/vouchers").json()["Vouchers"] == []
    assert other.post("/3/vouchers", voucher_body(emulator.app.today().isoformat())).json()["Voucher"][
        "VoucherNumber"] == 1


# --- scopes and routes -------------------------------------------------------------------------------

SCOPE_CASES = [
    ("bookkeeping", "/3/vouchers", 200), ("bookkeeping", "/3/voucherseries", 200),
    ("bookkeeping", "/3/accounts", 200), ("bookkeeping", "/3/financialyears", 200),
    ("bookkeeping", "/3/costcenters", 400), ("bookkeeping", "/3/companyinformation", 400),
    ("bookkeeping", "/3/settings/lockedperiod", 200), ("settings", "/3/settings/lockedperiod", 200),
    ("settings", "/3/accounts", 400), ("costcenter", "/3/costcenters", 200),
    ("costcenter", "/3/vouchers", 400), ("companyinformation", "/3/companyinformation", 200),
    ("companyinformation", "/3/settings/lockedperiod", 400), ("Bookkeeping invoice", "/3/accounts", None),
]


@pytest.mark.parametrize(("scope", "path", "status"), SCOPE_CASES, ids=[f"{s}-{p}" for s, p, _ in SCOPE_CASES])
def test_scopes_are_enforced(emulator, tenant_id, session_for, scope, path, status):
    if status is None:  # scopes are case-sensitive: "Bookkeeping" is not a Fortnox scope
        with pytest.raises(requests.HTTPError):
            session_for(tenant_id, scope)
        return
    response = session_for(tenant_id, scope).get(path)

    assert response.status_code == status
    if status == 400:
        assert error_of(response) == (2000663, "Har inte behörighet för scope")


def test_the_missing_scope_status_can_be_403(make_emulator, openapi):
    emulator = make_emulator(scope_error_status=403)
    token = emulator.control.issue_tokens(emulator.default_tenant_id, "bookkeeping")["access_token"]
    response = FortnoxSession(emulator.url, token, openapi).get("/3/costcenters")
    assert response.status_code == 403
    assert error_of(response)[0] == 2000663


def test_an_unknown_route_is_404_no_such_route(fortnox):
    response = fortnox.get("/3/articles")
    assert response.status_code == 404
    assert error_of(response) == (2000762, "No such route")
