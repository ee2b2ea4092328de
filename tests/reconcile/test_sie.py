"""SIE 4I: the month's Z-reports as the booking core books them, checked by a strict reader written
from the specification (tests/reconcile/sie_reader.py), with no Fortnox connection at all."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from backoffice.accounts.operations import load_mapping, save_mapping
from backoffice.accounts.schemas import mapping_schema
from backoffice.zreport.booking import build_voucher
from tests.conftest import REPO
from tests.fixtures import DEMO_MAPPING
from tests.reconcile.conftest import previous_month
from tests.reconcile.sie_reader import SieSyntaxError, read_sie4i

SPEC_EXAMPLE = (REPO / "docs" / "sie4.md").read_text(encoding="utf-8").split("```\n#FLAGGA", 1)[1].split("```", 1)[0]


def spec_example() -> bytes:
    return ("#FLAGGA" + SPEC_EXAMPLE).encode("cp437")


def test_the_reader_accepts_the_specification_s_example():
    sie = read_sie4i(spec_example())
    [verification] = sie.verifications
    assert verification.text == "Z-dagrapport kassa 1 nr 1234"
    assert sum(t.amount for t in verification.transactions) == 0
    assert sie.objects == {(1, "10"): "Matsal"}


@pytest.mark.parametrize(
    ("change", "breaks"),
    [
        (lambda t: t.replace("#TRANS 1910 {} 8000.00", "#TRANS 1910 {} 8000.01"), "sums to"),
        (lambda t: t.replace("#TRANS 1910 {} 8000.00", "#TRANS 1910 {} 8000.001"), "5.9"),
        (lambda t: t.replace("#TRANS 1910 {} 8000.00", "#TRANS 1910 {} +8000.00"), "5.9"),
        (lambda t: t.replace("#FORMAT PC8", "#FORMAT UTF8"), "PC8"),
        (lambda t: t.replace("#SIETYP 4", "#SIETYP 4\n#IB 0 1910 100.00"), "not allowed"),
        (lambda t: t.replace("#FNAMN \"Krogen AB\"\n", ""), "#FNAMN"),
        (lambda t: t.replace("#TRANS 3002 {1 \"10\"}", "#TRANS 3002 {1 \"11\"}"), "#OBJEKT"),
        (lambda t: t.replace("#DIM 1 \"Kostnadsställe\"\n", "") + "#DIM 1 \"Kostnadsställe\"\n", "5.12"),
        (lambda t: t.replace("}\n", ""), "not closed"),
    ],
    ids=["unbalanced", "three-decimals", "plus-sign", "not-pc8", "ib-in-4i", "no-fnamn", "unknown-object",
         "chart-after-vouchers", "unclosed-ver"],
)
def test_the_reader_refuses_what_the_specification_forbids(change, breaks):
    text = change(spec_example().decode("cp437"))
    with pytest.raises(SieSyntaxError, match=breaks):
        read_sie4i(text.encode("cp437"))


@pytest.fixture()
def shop(db, make_company, make_register, deliver_day):
    """A restaurant without any Fortnox connection: a mapping, K1 with cost centre 10, K2, five days."""
    company = make_company(name=f'Café "Åsa" & Söner {date.today():%H%M%S%f} AB', org_number="556000-0001")
    make_register(company, pos_id="K1", name="Kassa 1")
    make_register(company, pos_id="K2", name="Bar")
    db.refresh(company)
    save_mapping(db, company, mapping_schema.load({**DEMO_MAPPING, "cost_centres": {"K1": "10"}}), actor="test")
    db.commit()
    return company


def test_a_month_becomes_one_balanced_ver_per_z_report_with_its_accounts_and_cost_centres(app, db, shop, tmp_path,
                                                                                         site, deliver_day):
    from tests.fixtures import Site

    month = previous_month()
    made = Site(shop, None, None, registers={r.pos_id: r for r in shop.registers})
    records = [deliver_day(made, pos_id, month + timedelta(days=offset))
               for offset in range(5) for pos_id in ("K1", "K2")]
    deliver_day(made, "K1", month - timedelta(days=1))  # last month's report is not in the file
    output = tmp_path / "BO.SI"

    result = app.test_cli_runner().invoke(args=["sie", "export", "--company", shop.name, "--month", f"{month:%Y-%m}",
                                                "--output", str(output)])

    assert result.exit_code == 0, result.output
    sie = read_sie4i(output.read_bytes())
    assert sie.records["#FNAMN"] == [[shop.name]]
    assert sie.records["#ORGNR"] == [["556000-0001"]]
    assert sie.records["#GEN"] == [[f"{date.today():%Y%m%d}"]]
    assert sie.dimensions == {1: "Kostnadsställe"}
    assert sie.objects == {(1, "10"): "Kassa 1"}
    assert len(sie.verifications) == len(records)
    mapping = load_mapping(db, shop)
    used = set()
    for record, verification in zip(records, sie.verifications, strict=True):
        voucher = build_voucher(record.to_report(), mapping, company_name=shop.name)
        assert verification.series == "F" and verification.number == ""
        assert verification.day == record.business_date
        assert verification.text == voucher.description
        assert [(t.account, t.objects, t.amount) for t in verification.transactions] == [
            (row.account, [(1, row.cost_center)] if row.cost_center else [], row.debit - row.credit)
            for row in voucher.rows
        ]
        assert any(t.amount < 0 for t in verification.transactions)  # credit negative
        used |= {row.account for row in voucher.rows}
    assert set(sie.accounts) == used
    assert sie.accounts[1580] and all(name for name in sie.accounts.values())


def test_the_download_button_gives_the_same_file(app, db, site, tmp_path, deliver_day):
    made = site(("K1",))
    save_mapping(db, made.company, mapping_schema.load(DEMO_MAPPING), actor="test")
    db.commit()
    month = previous_month()
    deliver_day(made, "K1", month)
    page = made.manager.get("/ekonomi/avstamning/")
    assert f'href="/ekonomi/avstamning/{month:%Y-%m}/sie"' not in page.text  # the page opens on this month
    output = tmp_path / "BO.SI"
    app.test_cli_runner().invoke(args=["sie", "export", "--company", made.company.name, "--month", f"{month:%Y-%m}",
                                       "--output", str(output)])

    download = made.manager.get(f"/ekonomi/avstamning/{month:%Y-%m}/sie")

    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == f'attachment; filename="BO{month:%Y%m}.SI"'
    assert download.content == output.read_bytes()
    assert len(read_sie4i(download.content).verifications) == 1


def test_bad_months_and_missing_mapping_get_a_swedish_message_and_no_file(app, db, site, tmp_path):
    made = site(("K1",))
    output = tmp_path / "BO.SI"
    runner = app.test_cli_runner()
    today = date.today()
    future = (today.replace(day=28) + timedelta(days=4)).replace(day=1)

    no_mapping = runner.invoke(args=["sie", "export", "--company", made.company.name, "--month",
                                     f"{previous_month():%Y-%m}", "--output", str(output)])
    ahead = runner.invoke(args=["sie", "export", "--company", made.company.name, "--month", f"{future:%Y-%m}",
                                "--output", str(output)])
    unknown = runner.invoke(args=["sie", "export", "--company", "Ingen Sådan AB", "--month", "2026-01",
                                  "--output", str(output)])

    assert no_mapping.exit_code != 0 and "Ingen kontoplan är vald" in no_mapping.output
    assert ahead.exit_code != 0 and "har inte börjat än" in ahead.output
    assert unknown.exit_code != 0 and "Ingen Sådan AB" in unknown.output
    assert not output.exists() and not list(tmp_path.iterdir())
