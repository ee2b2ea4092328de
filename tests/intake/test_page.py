"""The Z-report page an accountant needs, over HTTP: everything a Z-dagrapport must show (SKVFS 2014:9
7 kap. 3 §, the contract's legal fields), VAT per rate net of returns, the voucher's rows with the
accounts' names, payment methods and the export history in Swedish (never an engine word); the card's
counts lead to the filtered list, an empty list says how a register is connected, and the one plural
rule ("1 Z-rapport")."""

from __future__ import annotations

import ast
import re
from html import unescape
from pathlib import Path

import pytest

from backoffice.companies.models import Register
from backoffice.demo import deliver
from backoffice.export.claims import DEFAULT_LEASE
from backoffice.export.engine import export_one
from backoffice.export.models import ExportState
from backoffice.integrations.fortnox.connection import client_for
from backoffice.names import OUTCOME_NAMES, count_text, outcome_name, payment_method_name
from tests.conftest import example_document
from tests.fixtures import DEMO_MAPPING, jobs_of

ENGINE_WORDS = ("posted", "in_doubt", "rate_limited", "not_found", "nothing_to_book", "pending", "blocked")


def field(page: str, name: str) -> str:
    """The text of one ``data-field`` of the page."""
    found = re.search(rf'data-field="{name}"[^>]*>(.*?)</(?:dd|td)>', page, re.S)
    assert found, f"no field {name}"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def visible_text(page: str) -> str:
    """What a reader sees: the page without tags, attributes, scripts and styles."""
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", page, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", body))


def deliver_example(db, made, **changes):
    """The contract's example report (zreport-v1.md) for K1, with ``changes``; returns the stored record."""
    document = example_document()
    document.update(changes)
    return deliver(db, db.get(Register, made.registers["K1"].id), document)


def test_the_page_shows_everything_a_z_dagrapport_must_show(db, site):
    made = site(registers=("K1",))
    record = deliver_example(db, made)
    db.commit()

    page = made.manager.get(f"/zrapporter/{record.id}").text

    nbsp = " "  # field() reads the no-break spaces between thousands as spaces
    expected = {
        "company": made.company.name,                          # a
        "org_number": made.company.org_number,
        "closed_at": "2026-11-21 00:12:40",                    # b (Swedish time)
        "z_number": "1042",                                    # c
        "register": "Kassa 1 (id K1)",                         # e
        "serial_number": "CR-00017",
        "total_sales": f"24{nbsp}650,00",                      # f
        "opening_float": f"2{nbsp}000,00",                     # i
        "goods_sold": "310",                                   # j
        "services_sold": "0",                                  # k
        "receipts": "220",                                     # l
        "drawer_openings": "14",                               # m
        "copies": "1 st, 245,00",                              # n
        "training": "0 st, 0,00 (övningsläge, bokförs aldrig)",  # o
        "returns_count": "2", "returns_amount": "120,00",      # q
        "discounts": "12 st, 350,00",                          # r
        "other_reductions": "0 st, 0,00",                      # s
        "unfinished_sales": "0 st, 0,00",                      # t
        "grand_total_sales": f"9{nbsp}123{nbsp}456,00",       # u
        "grand_total_returns": f"23{nbsp}456,00",             # v
        "grand_total_net": f"9{nbsp}100{nbsp}000,00",         # w
    }
    assert {name: field(page, name) for name in expected} == expected
    assert "<h2>Z-dagrapport</h2>" in page                     # d
    assert "Försäljning per varugrupp och momssats" in page     # g
    assert "Betalningar per betalningsmetod" in page           # p


def test_vat_is_shown_per_rate_net_of_returns(db, site):
    made = site(registers=("K1",))
    record = deliver_example(db, made)
    db.commit()

    page = made.manager.get(f"/zrapporter/{record.id}").text

    vat = dict(re.findall(r'<tr data-rate="([\d.]+)"><td>[^<]*</td><td class="num">[^<]*</td>'
                          r'<td class="num" data-vat>([^<]+)</td>', page))
    assert vat == {"25": "1\u00a0216,00", "12": "1\u00a0976,79"}  # 25 %: 1 240,00 sold less 24,00 returned
    assert page.index('data-rate="25"') < page.index('data-rate="12"')


def test_payment_methods_have_swedish_names_and_an_unknown_one_is_shown_as_sent(db, site):
    made = site(registers=("K1",))
    payments = [{"method": "card", "amount": "22290.00", "count": 179}, {"method": "cash", "amount": "2779.79"},
                {"method": "lunchkort", "amount": "100.00", "count": 1}]
    record = deliver_example(db, made, payments=payments)
    db.commit()

    page = made.manager.get(f"/zrapporter/{record.id}").text

    rows = dict(re.findall(r'<tr data-method="([^"]+)"><td>(.*?)</td>', page, re.S))
    assert rows["card"] == "Kort" and rows["cash"] == "Kontant"  # the tips' row names its method too
    assert rows["lunchkort"].startswith("lunchkort <span class=\"tag unknown\" data-unknown-method>")
    assert "okänd betalningsmetod" in rows["lunchkort"]


@pytest.mark.parametrize(("method", "name", "known"), [
    ("card", "Kort", True), ("cash", "Kontant", True), ("swish", "Swish", True), ("gift_card", "Presentkort", True),
    ("invoice", "Faktura", True), ("lunchkort", "lunchkort", False),
])
def test_one_name_per_payment_method(method, name, known):
    assert (payment_method_name(method).name, payment_method_name(method).known) == (name, known)


def test_the_voucher_rows_name_their_accounts_as_fortnox_does_and_the_history_is_swedish(
    db, site, connect, reports, emulator
):
    mapping = {**DEMO_MAPPING, "other": {**DEMO_MAPPING["other"], "tips": 2893}}  # named only in Fortnox's chart
    made = connect(site(registers=("K1",)), active=True, mapping=mapping)
    [record] = reports(made, days=1)
    # The first post is stored by Fortnox but its answer is lost; the next attempt finds the voucher.
    emulator.control.add_fault("timeout_after_store", method="POST", path_prefix="/3/vouchers",
                               tenant_id=made.tenant_id, seconds=0, after="drop")
    [job] = jobs_of(db, made.company)
    assert export_one(db, job.id, clients=client_for, lease=DEFAULT_LEASE) == ExportState.PENDING
    assert export_one(db, job.id, clients=client_for, lease=DEFAULT_LEASE) == ExportState.EXPORTED

    page = made.manager.get(f"/zrapporter/{record.id}").text

    names = dict(re.findall(r'<tr data-account="(\d+)"><td>\d+</td><td>([^<]*)</td>', page))
    assert names["2893"] == "Skuld dricks till personal" and names["1910"] == "Kassa"
    assert all(names.values())
    history = re.search(r'id="exporthistorik".*?</section>', page, re.S).group(0)
    said = [unescape(text) for text in re.findall(r'<tr data-outcome="[^"]+"><td[^>]*>[^<]*</td><td>([^<]*)</td>',
                                                  history)]
    assert said == ["Fanns redan i Fortnox", "Inget svar från Fortnox — kontrolleras innan något skickas igen"]
    text = visible_text(page)
    assert not [word for word in ENGINE_WORDS if re.search(rf"\b{word}\b", text)]


def test_every_outcome_the_engine_records_has_a_swedish_name():
    source = Path(__file__).resolve().parents[2] / "backoffice" / "export"
    written = set()
    for module in source.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "outcome" and isinstance(node.value, ast.Constant):
                written.add(node.value.value)
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr == "outcome"
                                                    for t in node.targets) and isinstance(node.value, ast.Constant):
                written.add(node.value.value)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_note":  # _note(s, job, a, outcome, …)
                written |= {c.value for c in ast.walk(node.args[3]) if isinstance(c, ast.Constant)}
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "outcome" and isinstance(value, ast.Constant):
                        written.add(value.value)
    assert {"posted", "found", "in_doubt", "blocked", "failed"} <= written
    assert written - set(OUTCOME_NAMES) == set()
    assert outcome_name("posted") == "Skickad till Fortnox" and outcome_name("something new") == "Okänt utfall"


def test_one_plural_rule():
    assert [count_text(n, "Z-rapport", "Z-rapporter") for n in (0, 1, 2)] == ["0 Z-rapporter", "1 Z-rapport",
                                                                            "2 Z-rapporter"]


def test_the_list_counts_one_z_rapport_in_the_singular(db, site, reports):
    made = site(registers=("K1",))
    reports(made, days=1)

    page = made.manager.get("/zrapporter/").text

    assert re.search(r"data-total>1 Z-rapport<", page)


def test_the_cards_counts_link_to_the_filtered_list(db, site, connect, reports):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    reports(made, days=2)

    card = made.admin.get("/foretag/integrationer/").text
    overview = made.manager.get("/").text

    links = dict(re.findall(r'<a href="/zrapporter/\?status=(\w+)" data-count="\1"[^>]*>([^<]+)</a>', card))
    assert links == {"exported": "Exporterad: 0", "pending": "Väntar på export: 2", "blocked": "Väntar på åtgärd: 0",
                     "failed": "Misslyckades: 0", "skipped": "Exporteras inte: 0"}
    assert 'href="/zrapporter/?status=pending" data-count="pending">Väntar på export: 2<' in overview
    listing = made.manager.get("/zrapporter/?status=pending").text
    assert listing.count("data-zreport=") == 2 and "data-total>2 Z-rapporter<" in listing


def test_an_empty_list_says_where_reports_come_from_and_how_a_register_is_connected(db, site):
    made = site(registers=("K1",))

    page = made.manager.get("/zrapporter/").text
    filtered = made.manager.get("/zrapporter/?status=failed").text
    how = made.manager.get("/zrapporter/koppla-kassa")

    assert "Z-rapporter kommer från kassan vid dagsavslut — " in page
    assert '<a href="/zrapporter/koppla-kassa">så kopplar du en kassa</a>' in page
    assert "Inga Z-rapporter med det här urvalet." in filtered and "kommer från kassan" not in filtered
    assert how.status_code == 200 and "/api/v1/z-reports</code>" in how.text
    assert '<tr data-register="K1"><td>Kassa 1</td>' in how.text and "Ingen ännu" in how.text


def test_the_favicon_is_there(live_server):
    import requests

    answer = requests.get(f"{live_server.url}/favicon.ico", timeout=10)

    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("image/svg+xml")
    assert answer.content.startswith(b"<svg")


def test_redovisning_names_payment_methods_in_swedish(db, site, connect):
    mapping = {**DEMO_MAPPING, "payment_methods": {**DEMO_MAPPING["payment_methods"], "lunchkort": 1580}}
    made = connect(site(registers=("K1",)), active=True, mapping=mapping)

    page = made.manager.get("/ekonomi/redovisning/").text

    assert '<span class="nowrap" data-method="card">Kort → 1580</span>' in page
    assert 'data-method="lunchkort">lunchkort <span class="tag unknown">okänd betalningsmetod</span> → 1580' in page
    assert "card →" not in page
