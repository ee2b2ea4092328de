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
    assert voucher["Description"] == "Z-rapport 1042 Kassa 1 (K1) 2026-11-20 · Krogen AB"
    rows = {(row["Account"], row.get("CostCenter")): (str(row["Debit"]), str(row["Credit"])) for row in voucher["VoucherRows"]}
    assert rows[(1580, None)] == ("22390.0", "0.0")
    assert rows[(3052, "REST1")] == ("0.0", "16473.21")
    assert rows[(3740, "REST1")] == ("0.21", "0.0")
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
