"""Copying a mapping between restaurants with ``flask mapping export|import``, and the voucher command."""

from __future__ import annotations

import json

import pytest

from tests.conftest import CONTRACTS


def contract_example(name: str) -> str:
    text = (CONTRACTS / name).read_text(encoding="utf-8")
    return text.split("```json", 1)[1].split("```", 1)[0]


@pytest.fixture()
def files(tmp_path):
    zreport = tmp_path / "z.json"
    zreport.write_text(contract_example("zreport-v1.md"), encoding="utf-8")
    mapping = tmp_path / "m.json"
    mapping.write_text(contract_example("mapping-v1.md"), encoding="utf-8")
    return zreport, mapping


def test_a_mapping_exported_from_one_restaurant_imports_into_another(app, db, files, make_company, make_register):
    _, mapping_file = files
    first, second = make_company(), make_company()
    for company in (first, second):
        make_register(company, pos_id="K1")
    runner = app.test_cli_runner()

    imported = runner.invoke(args=["mapping", "import", "--company", first.name, str(mapping_file)])
    exported = runner.invoke(args=["mapping", "export", "--company", first.name])
    copied = runner.invoke(args=["mapping", "import", "--company", second.name, "-"], input=exported.output)
    again = runner.invoke(args=["mapping", "export", "--company", second.name])

    assert imported.exit_code == 0, imported.output
    assert copied.exit_code == 0, copied.output
    assert json.loads(again.output) == json.loads(exported.output)
    original = json.loads(contract_example("mapping-v1.md"))
    assert json.loads(exported.output)["sales"] == original["sales"]
    assert json.loads(exported.output)["cost_centres"] == {"K1": "REST1"}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        pytest.param(lambda m: m["payment_methods"].update(cash=999), "1000", id="account-out-of-range"),
        pytest.param(lambda m: m.update(voucher_series="ABCDEFGHIJK"), "voucher_series", id="series-too-long"),
        pytest.param(lambda m: m.update(colour="blue"), "Unknown field", id="unknown-key"),
        pytest.param(lambda m: m["cost_centres"].update(K9="X"), "no such register", id="unknown-register"),
        pytest.param(lambda m: m["vat_rates"].update({"25": 3001}), "Momssats 25 % kan inte bokföras på konto 3001",
                     id="vat-on-a-sales-account"),
    ],
)
def test_an_invalid_mapping_is_refused_with_a_clear_message_and_changes_nothing(
    app, db, files, tmp_path, make_company, make_register, change, words
):
    _, mapping_file = files
    company = make_company()
    make_register(company, pos_id="K1")
    runner = app.test_cli_runner()
    runner.invoke(args=["mapping", "import", "--company", company.name, str(mapping_file)])
    before = runner.invoke(args=["mapping", "export", "--company", company.name]).output
    document = json.loads(contract_example("mapping-v1.md"))
    change(document)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document), encoding="utf-8")

    result = runner.invoke(args=["mapping", "import", "--company", company.name, str(bad)])

    assert result.exit_code != 0
    assert words in result.output
    assert runner.invoke(args=["mapping", "export", "--company", company.name]).output == before


def test_voucher_command_prints_the_fortnox_body(app, files):
    zreport_file, mapping_file = files

    result = app.test_cli_runner().invoke(
        args=["zreport", "voucher", str(zreport_file), "--mapping", str(mapping_file), "--company", "Krogen AB"]
    )

    assert result.exit_code == 0, result.output
    voucher = json.loads(result.output)["Voucher"]
    assert voucher["Description"] == "Z-rapport 1042 Kassa 1 (K1, CR-00017) 2026-11-20 · Krogen AB"
    rows = {
        (row["Account"], row.get("CostCenter")): (str(row["Debit"]), str(row["Credit"]), row["TransactionInformation"])
        for row in voucher["VoucherRows"]
    }
    assert rows == {
        (1580, None): ("22390.0", "0.0", "Kort"),
        (1910, None): ("2779.79", "0.0", "Kontant"),
        (2611, None): ("0.0", "1216.0", "Moms 25 %"),
        (2621, None): ("0.0", "1976.79", "Moms 12 %"),
        (2890, None): ("0.0", "640.0", "Dricks"),
        (3051, "REST1"): ("0.0", "4864.0", "Dryck 25 %"),
        (3052, "REST1"): ("0.0", "16473.21", "Mat 12 %"),
        (3740, "REST1"): ("0.21", "0.0", "Öresavrundning"),
    }
    assert sum(row["Debit"] for row in voucher["VoucherRows"]) == sum(row["Credit"] for row in voucher["VoucherRows"])


def test_voucher_command_exits_1_for_an_invalid_report_and_2_for_a_missing_account(app, files, tmp_path):
    zreport_file, mapping_file = files
    report = json.loads(zreport_file.read_text(encoding="utf-8"))
    report["rounding"] = "-0.22"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(report), encoding="utf-8")
    mapping = json.loads(mapping_file.read_text(encoding="utf-8"))
    del mapping["payment_methods"]["card"]
    del mapping["vat_rates"]["12"]
    incomplete = tmp_path / "incomplete.json"
    incomplete.write_text(json.dumps(mapping), encoding="utf-8")
    runner = app.test_cli_runner()

    invalid = runner.invoke(args=["zreport", "voucher", str(broken), "--mapping", str(mapping_file)])
    missing = runner.invoke(args=["zreport", "voucher", str(zreport_file), "--mapping", str(incomplete)])

    assert invalid.exit_code == 1 and "does not balance" in invalid.output
    assert missing.exit_code == 2
    assert 'konto saknas för betalningsmetod "card", momssats 12 %' in missing.output


def _write(tmp_path, name: str, document: dict):
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_voucher_command_exits_1_for_a_mapping_that_books_vat_outside_2610_2639(app, files, tmp_path):
    zreport_file, mapping_file = files
    mapping = json.loads(mapping_file.read_text(encoding="utf-8"))
    mapping["vat_rates"]["12"] = 3001
    hidden = _write(tmp_path, "hidden.json", mapping)

    result = app.test_cli_runner().invoke(
        args=["zreport", "voucher", str(zreport_file), "--mapping", str(hidden)]
    )

    assert result.exit_code == 1
    assert "Momssats 12 % kan inte bokföras på konto 3001" in result.stderr
    assert "2610 och 2639" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("change", "words"),
    [
        pytest.param(lambda r: r["sales"][0].update(vat="1000.00"), "VAT 1000.00 does not fit its rate", id="vat-misfit"),
        pytest.param(lambda r: r.update(closed_at="2026-11-19T12:00:00+01:00"), "before the business day", id="closed-early"),
        pytest.param(lambda r: r.update(closed_at="9999-12-31T23:59:59-14:00"), "Not a possible date", id="year-10000"),
    ],
)
def test_voucher_command_exits_1_for_a_report_the_pos_api_would_refuse(app, files, tmp_path, change, words):
    zreport_file, mapping_file = files
    report = json.loads(zreport_file.read_text(encoding="utf-8"))
    change(report)  # each change keeps the balance rule
    bad = _write(tmp_path, "bad.json", report)

    result = app.test_cli_runner().invoke(args=["zreport", "voucher", str(bad), "--mapping", str(mapping_file)])

    assert result.exit_code == 1
    assert words in result.stderr, result.stderr


def test_voucher_command_exits_3_with_the_reason_when_there_is_nothing_to_book(app, files, tmp_path):
    zreport_file, mapping_file = files
    report = json.loads(zreport_file.read_text(encoding="utf-8"))
    report.update(sales=[], returns=[], tips=[], rounding="0.00",
                  payments=[{"method": "card", "amount": "0.00", "count": 0}])
    empty = _write(tmp_path, "empty.json", report)

    result = app.test_cli_runner().invoke(args=["zreport", "voucher", str(empty), "--mapping", str(mapping_file)])

    assert result.exit_code == 3
    assert "Inget att bokföra" in result.stderr and result.stdout == ""


def test_voucher_command_books_a_negative_payment_and_tips_paid_out_in_cash(app, files, tmp_path):
    zreport_file, mapping_file = files
    report = json.loads(zreport_file.read_text(encoding="utf-8"))
    # cash refunds beyond the day's cash takings, and the card tips taken from the till
    report["payments"] = [{"method": "card", "amount": "25269.79", "count": 180},
                          {"method": "cash", "amount": "-100.00", "count": 2}]
    report["tips_paid_out_cash"] = "640.00"
    changed = _write(tmp_path, "z2.json", report)

    result = app.test_cli_runner().invoke(args=["zreport", "voucher", str(changed), "--mapping", str(mapping_file)])

    assert result.exit_code == 0, result.stderr
    rows = {row["Account"]: (str(row["Debit"]), str(row["Credit"]), row["TransactionInformation"])
            for row in json.loads(result.stdout)["Voucher"]["VoucherRows"]}
    assert rows[1910] == ("0.0", "740.0", "Kontant, Dricks utbetald kontant")  # −100 − 640
    assert 2890 not in rows  # −640 tips + 640 paid out: the liability is settled
    assert rows[1580] == ("25269.79", "0.0", "Kort")
