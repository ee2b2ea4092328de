"""The settings wizard where the books could go wrong: output VAT only on 2610–2639, a required start
date (proposed from what Fortnox has booked), advice where accountants disagree, and reports with
more product groups than one statement can name."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from html import unescape

import pytest
import requests
from sqlalchemy import func, select

from backoffice.accounts.operations import load_mapping
from backoffice.companies.models import Register
from backoffice.demo import deliver, zreport_document
from backoffice.export.models import ExportJob
from backoffice.integrations.fortnox.models import FortnoxIntegration
from tests.fixtures import DEMO_MAPPING, fresh

WIZARD = "/foretag/integrationer/fortnox/installningar"


def mapping_of(db, company):
    fresh(db)
    return load_mapping(db, company)


def advice_of(page: str, key: str) -> str | None:
    row = re.search(rf'<div class="account-row[^"]*" data-field="{re.escape(key)}">(.*?)(<div class="account-row|</form>)',
                    unescape(page), re.S)
    found = re.search(r'<p class="advice small( warning)?" data-advice>(.*?)</p>', row.group(1), re.S) if row else None
    return None if found is None else (("VARNING " if found.group(1) else "") + found.group(2))


# --- output VAT on 2610–2639 only ----------------------------------------------------------------


def test_the_vat_step_refuses_a_sales_account_naming_the_rate_and_the_account(db, site, connect, reports):
    made = connect(site(registers=("K1",)), mapping=DEMO_MAPPING)
    reports(made, days=1)

    refused = made.admin.post(f"{WIZARD}/momssatser", {"vat_rate:25": "2611", "vat_rate:12": "3001", "vat_rate:6": "2631"})

    assert refused.status_code == 400
    assert "Momssats 12 % kan inte bokföras på konto 3001" in unescape(refused.text)
    assert dict(mapping_of(db, made.company).vat_rates)[Decimal("12")] == 2621


# --- the start date ------------------------------------------------------------------------------------


def test_the_start_date_is_required(db, site, connect):
    made = connect(site(registers=("K1",)))

    empty = made.admin.post(f"{WIZARD}/startdatum", {"start_date": ""})

    assert empty.status_code == 400 and "Välj ett startdatum" in unescape(empty.text)


def test_the_start_date_proposed_is_the_day_after_the_last_day_booked_in_fortnox(db, site, connect, emulator):
    made = connect(site(registers=("K1",)))
    http = requests.Session()
    http.headers["Authorization"] = "Bearer " + emulator.control.issue_tokens(made.tenant_id)["access_token"]
    booked = date.today() - timedelta(days=5)
    for day in (booked - timedelta(days=3), booked):
        answer = http.post(f"{emulator.url}/3/vouchers", timeout=10, json={"Voucher": {
            "Description": "Dagskassa", "TransactionDate": day.isoformat(), "VoucherSeries": "A",
            "VoucherRows": [{"Account": 1910, "Debit": 100, "Credit": 0}, {"Account": 3001, "Debit": 0, "Credit": 100}]}})
        assert answer.status_code == 201, answer.text

    page = unescape(made.admin.get(f"{WIZARD}/startdatum").text)

    proposal = (booked + timedelta(days=1)).isoformat()
    assert f"Den senast bokförda dagen i Fortnox är {booked.isoformat()}" in page
    assert f'value="{proposal}"' in page


def test_without_vouchers_in_fortnox_nothing_is_proposed(db, site, connect):
    made = connect(site(registers=("K1",)))
    page = unescape(made.admin.get(f"{WIZARD}/startdatum").text)
    field = re.search(r'<input[^>]*name="start_date"[^>]*>', page).group(0)
    assert "data-proposal" not in page
    assert 'value=""' in field or "value=" not in field, field


def test_the_preview_does_not_activate_without_a_start_date(db, site, connect, reports):
    made = connect(site(registers=("K1",)), mapping={**DEMO_MAPPING, "voucher_series": "F"})
    reports(made, days=1)

    refused = made.admin.post(f"{WIZARD}/forhandsgranskning")

    assert refused.status_code == 400 and "Välj ett startdatum" in unescape(refused.text)
    fresh(db)
    integration = db.scalar(select(FortnoxIntegration).where(FortnoxIntegration.company_id == made.company.id))
    assert not integration.active


def test_activating_without_a_start_date_is_refused_and_exports_nothing(db, site, connect, reports):
    from backoffice.settings.operations import StartDateMissingError, activate

    made = connect(site(registers=("K1",)), mapping={**DEMO_MAPPING, "voucher_series": "F"})
    reports(made, days=2)

    with pytest.raises(StartDateMissingError):
        activate(db, made.company)
    db.rollback()

    integration = db.scalar(select(FortnoxIntegration).where(FortnoxIntegration.company_id == made.company.id))
    assert not integration.active
    assert db.scalar(select(func.count()).select_from(ExportJob).where(ExportJob.company_id == made.company.id)) == 0


# --- advice where accountants disagree ------------------------------------------------------------------


def _report_with(made, db, *, payments: list[dict], sales: list[dict] | None = None) -> None:
    day = date.today() - timedelta(days=1)
    document = zreport_document("K1", "Kassa 1", 5000, day)
    document["sales"] += sales or []
    document["payments"] += payments
    extra = sum(Decimal(p["amount"]) for p in payments) - sum(Decimal(s["gross"]) for s in sales or [])
    document["payments"][0]["amount"] = f"{Decimal(document['payments'][0]['amount']) - extra:.2f}"
    deliver(db, db.get(Register, made.registers["K1"].id), document)
    db.commit()


def test_payment_methods_get_advice_for_invoice_sales_and_result_accounts(db, site, connect):
    made = connect(site(registers=("K1",)), mapping={**DEMO_MAPPING, "payment_methods": {
        **DEMO_MAPPING["payment_methods"], "card": 3001, "personal": 7010}})
    _report_with(made, db, payments=[{"method": "invoice", "amount": "500.00"}, {"method": "personal", "amount": "80.00"}])

    page = made.admin.get(f"{WIZARD}/betalningsmetoder").text

    invoice = advice_of(page, "payment_method:invoice")
    assert invoice.startswith("Faktura: 1510 Kundfordringar är rätt") and "bokförs försäljningen där en gång till" in invoice
    assert 'data-suggest="1510"' in page
    card = advice_of(page, "payment_method:card")
    assert card.startswith("VARNING Konto 3001 är ett försäljningskonto")
    assert advice_of(page, "payment_method:personal").startswith("Konto 7010 är ett kostnadskonto. Det går bra")
    assert advice_of(page, "payment_method:cash") is None  # 1910: nothing to discuss


def test_gift_cards_sold_as_a_zero_percent_article_are_advised_onto_2421(db, site, connect):
    made = connect(site(registers=("K1",)), mapping=DEMO_MAPPING)
    gift = {"product_group": "Presentkort", "vat_rate": "0", "gross": "500.00", "vat": "0.00", "count": 1}
    _report_with(made, db, payments=[], sales=[gift])

    page = made.admin.get(f"{WIZARD}/varugrupper").text
    saved = made.admin.post(f"{WIZARD}/varugrupper", {"sales:0:Presentkort": "3004"})
    after = made.admin.get(f"{WIZARD}/varugrupper").text

    advice = advice_of(page, "sales:0:Presentkort")
    assert advice.startswith("Presentkort som säljs som en vara med 0 % moms är ingen försäljning")
    assert "2421 Ej inlösta presentkort" in advice
    assert 'data-suggest="2421"' in page
    assert saved.status_code == 302  # advice, not a refusal: the accountant decides
    assert advice_of(after, "sales:0:Presentkort").startswith("VARNING Presentkort")


# --- a report's parts do not grow the wizard's statements ----------------------------------------------


def test_the_account_steps_answer_for_reports_with_twelve_hundred_product_groups(db, site, connect):
    made = connect(site(registers=("K1",)), mapping=DEMO_MAPPING)
    register = db.get(Register, made.registers["K1"].id)
    for n in range(3):
        day = date.today() - timedelta(days=3 - n)
        document = zreport_document("K1", "Kassa 1", 6000 + n, day)
        document["sales"] = [
            {"product_group": f"Grupp {n}-{g}", "vat_rate": "25", "gross": "125.00", "vat": "25.00", "count": 1}
            for g in range(400)
        ]
        document.update(returns=[], tips=[], gift_cards_sold="0.00", rounding="0.00")
        document["payments"] = [{"method": "card", "amount": "50000.00"}]
        deliver(db, register, document)
    db.commit()

    groups = made.admin.get(f"{WIZARD}/varugrupper")
    preview = made.admin.get(f"{WIZARD}/forhandsgranskning")

    assert groups.status_code == 200 and preview.status_code == 200
    assert groups.text.count('data-field="sales:25:Grupp ') == 1200
