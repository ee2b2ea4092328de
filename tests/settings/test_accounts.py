"""Ekonomi → Redovisning over HTTP: cost centres per register checked against Fortnox, and the
settings copied as mapping/v1 JSON (export, import)."""

from __future__ import annotations

import dataclasses
import json
import re
from decimal import Decimal
from html import unescape

import requests

from backoffice.accounts.operations import load_mapping
from tests.fixtures import DEMO_MAPPING, fresh

PAGE = "/ekonomi/redovisning/"


def fortnox_api(emulator, tenant_id: int) -> requests.Session:
    http = requests.Session()
    http.headers["Authorization"] = "Bearer " + emulator.control.issue_tokens(tenant_id)["access_token"]
    return http


def status_of(page: str, pos_id: str) -> str:
    row = re.search(rf'<tr data-register="{pos_id}">(.*?)</tr>', page, re.S).group(1)
    return re.sub(r"<[^>]+>", "", row.rsplit("<td>", 1)[1]).strip()


def preview_form(page: str) -> dict:
    """The fields the import preview would send as it stands: its hidden fields, each select's
    chosen option, a ticked box."""
    form = page.split('action="/ekonomi/redovisning/installningar/bekrafta"', 1)[1].split("</form>", 1)[0]
    fields = {name: unescape(value) for name, value in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form)}
    for name, options in re.findall(r'<select id="[^"]+" name="([^"]+)">(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', options)
        fields[name] = unescape(chosen.group(1)) if chosen else ""
    return fields


def confirm(web, page: str, **changes) -> requests.Response:
    fields = {**preview_form(page), **changes}
    fields.pop("csrf_token", None)
    return web.post(f"{PAGE}installningar/bekrafta", fields)


def test_cost_centres_are_saved_per_register_and_checked_against_fortnox(db, site, connect, emulator):
    made = connect(site(), active=True, mapping=DEMO_MAPPING)
    fortnox_api(emulator, made.tenant_id).post(
        f"{emulator.url}/3/costcenters", json={"CostCenter": {"Code": "RK1", "Description": "Restaurangen"}}, timeout=10
    )

    page = made.admin.get(PAGE).text
    saved = made.admin.post(f"{PAGE}kostnadsstallen", {"cost_center-K1": "RK1", "cost_center-K2": "BAR"})
    after = made.admin.get(PAGE).text

    assert "Kostnadsställen" in page and "Det är enbart koden som måste vara samma" in page
    assert status_of(page, "K1") == "Inget kostnadsställe"
    assert saved.status_code == 302 and saved.headers["Location"].endswith("#kostnadsstallen")
    assert status_of(after, "K1") == "Finns i Fortnox"
    assert status_of(after, "K2") == "Saknas i Fortnox"
    fresh(db)
    assert dict(load_mapping(db, made.company).cost_centres) == {"K1": "RK1", "K2": "BAR"}


def test_a_cost_centre_made_in_fortnox_shows_after_kontrollera_igen(db, site, connect, emulator):
    made = connect(site(registers=("K1",)), active=True, mapping={**DEMO_MAPPING, "cost_centres": {"K1": "RK1"}})
    missing = made.admin.get(PAGE).text
    fortnox_api(emulator, made.tenant_id).post(
        f"{emulator.url}/3/costcenters", json={"CostCenter": {"Code": "RK1", "Description": "Restaurangen"}}, timeout=10
    )

    made.admin.post("/foretag/integrationer/fortnox/kontrollera?next=/ekonomi/redovisning/")
    found = made.admin.get(PAGE).text

    assert status_of(missing, "K1") == "Saknas i Fortnox"
    assert status_of(found, "K1") == "Finns i Fortnox"
    assert "Gå till Fortnox" in found and "Kontrollera igen" in found


def test_cost_centres_without_a_mapping_or_a_connection_are_kept_on_the_registers(db, site):
    made = site()

    saved = made.admin.post(f"{PAGE}kostnadsstallen", {"cost_center-K1": "RK1", "cost_center-K2": ""})
    page = made.admin.get(PAGE).text

    assert saved.status_code == 302
    assert 'value="RK1"' in page and status_of(page, "K1") == "Inte kontrollerat"
    assert "inte kopplat till Fortnox" in page


def test_a_bad_cost_centre_code_is_refused_with_a_swedish_message(db, site):
    made = site()

    refused = made.admin.post(f"{PAGE}kostnadsstallen", {"cost_center-K1": "för lång kod"})

    assert refused.status_code == 400 and "En kod har 1–6 tecken" in refused.text


def test_managers_see_the_page_but_may_not_change_it(db, site, connect):
    made = connect(site(), active=True, mapping=DEMO_MAPPING)

    page = made.manager.get(PAGE).text
    cost = made.manager.post(f"{PAGE}kostnadsstallen", {"cost_center-K1": "RK1"})
    imported = made.manager.post(f"{PAGE}installningar", files={"file": ("m.json", json.dumps(DEMO_MAPPING))})
    exported = made.manager.get(f"{PAGE}installningar.json")

    assert "Spara kostnadsställen" not in page and "readonly" in page and "Importera" not in page
    assert made.manager.get(f"{PAGE}kopiera").status_code == 403
    assert made.manager.post(f"{PAGE}installningar/bekrafta", {"document": json.dumps(DEMO_MAPPING)}).status_code == 403
    assert cost.status_code == 403 and imported.status_code == 403
    assert exported.status_code == 200


def test_settings_export_and_import_round_trip_between_restaurants(db, site, connect):
    source = connect(site(), active=True, mapping={**DEMO_MAPPING, "cost_centres": {"K1": "RK1"}})
    target = site()

    exported = source.admin.get(f"{PAGE}installningar.json")
    document = exported.json()
    imported = target.admin.post(f"{PAGE}installningar", files={"file": ("kontoplan.json", exported.content)})

    assert exported.headers["Content-Disposition"].startswith('attachment; filename="kontoplan-')
    assert document["schema"] == "mapping/v1" and document["cost_centres"] == {"K1": "RK1"}
    assert imported.status_code == 200 and 'id="import-preview"' in imported.text
    fresh(db)
    assert load_mapping(db, target.company) is None  # nothing saved before "Importera"
    done = confirm(target.admin, imported.text)
    assert done.status_code == 302
    assert "Inställningarna är importerade" in target.admin.get(PAGE).text
    fresh(db)
    copied = load_mapping(db, target.company)
    # The same accounts; K1 has the same register id, so RK1; the start date is not copied.
    assert copied == dataclasses.replace(load_mapping(db, source.company), start_date=None)


def test_a_broken_settings_file_is_refused_and_nothing_changes(db, site, connect):
    made = connect(site(), active=True, mapping=DEMO_MAPPING)
    bad_account = {**DEMO_MAPPING, "payment_methods": {"cash": 99}}
    unknown_register = {**DEMO_MAPPING, "cost_centres": {"K9": "X"}}

    not_json = made.admin.post(f"{PAGE}installningar", files={"file": ("m.json", b"{nej")})
    invalid = made.admin.post(f"{PAGE}installningar", files={"file": ("m.json", json.dumps(bad_account))})
    register = made.admin.post(f"{PAGE}installningar", files={"file": ("m.json", json.dumps(unknown_register))})
    nothing = made.admin.post(f"{PAGE}installningar")

    assert not_json.status_code == 400 and "inte en giltig JSON-fil" in not_json.text
    assert invalid.status_code == 400 and "inte en giltig mapping/v1-fil" in invalid.text
    assert "payment_methods.cash" in invalid.text
    assert nothing.status_code == 400 and "Välj en fil att importera" in nothing.text
    # A cost centre of a register this restaurant lacks: the preview asks which register gets it,
    # and "Importera" without an answer saves nothing.
    assert register.status_code == 200 and "Välj kostnadsställe …" in register.text and "X (K9)" in register.text
    unanswered = confirm(made.admin, register.text)
    assert unanswered.status_code == 400 and "Välj kostnadsställe för Kassa 1, Kassa 2" in unanswered.text
    fresh(db)
    assert dict(load_mapping(db, made.company).payment_methods)["cash"] == 1910


def test_a_settings_file_that_books_vat_outside_2610_2639_is_refused_naming_rate_and_account(db, site, connect):
    made = connect(site(), active=True, mapping=DEMO_MAPPING)
    hidden = {**DEMO_MAPPING, "vat_rates": {**DEMO_MAPPING["vat_rates"], "12": 3001}}

    refused = made.admin.post(f"{PAGE}installningar", files={"file": ("m.json", json.dumps(hidden))})

    assert refused.status_code == 400
    assert "Momssats 12 % kan inte bokföras på konto 3001" in refused.text
    fresh(db)
    assert dict(load_mapping(db, made.company).vat_rates)[Decimal("12")] == DEMO_MAPPING["vat_rates"]["12"]


def test_export_without_settings_explains_and_import_needs_csrf(db, site):
    made = site()

    exported = made.admin.get(f"{PAGE}installningar.json", allow_redirects=True)
    refused = made.admin.post(f"{PAGE}installningar", csrf=False, files={"file": ("m.json", json.dumps(DEMO_MAPPING))})
    cost = made.admin.post(f"{PAGE}kostnadsstallen", {"cost_center-K1": "RK1"}, csrf=False)

    assert "Det finns inga inställningar att exportera ännu" in exported.text
    assert refused.status_code == 400 and cost.status_code == 400
