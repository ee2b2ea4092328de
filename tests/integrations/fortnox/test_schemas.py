"""integrations/fortnox/schemas.py: a Voucher as the POST /3/vouchers body of api-facts.md §2.2."""

import copy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openapi_schema_validator import OAS30Validator

from backoffice.integrations.fortnox.schemas import dumps_body, voucher_body
from backoffice.zreport.voucher import Voucher, VoucherRow

D = Decimal
SPEC = Path(__file__).resolve().parents[3] / "fortnox_emulator" / "spec" / "openapi-bookkeeping-subset.json"


def make_voucher(*rows: VoucherRow, description: str = "Z-rapport 1042 Kassa 1 (K1) 2026-11-20 · Krogen AB") -> Voucher:
    return Voucher(description=description, transaction_date=date(2026, 11, 20), series="F", rows=rows)


VOUCHER = make_voucher(
    VoucherRow(1580, debit=D("1234.50")),
    VoucherRow(2621, credit=D("132.27")),
    VoucherRow(3052, credit=D("1102.23"), cost_center="REST1", transaction_information="Mat 12 %"),
)


def test_voucher_body_uses_fortnox_names_and_keeps_decimals():
    assert voucher_body(VOUCHER) == {
        "Voucher": {
            "Description": "Z-rapport 1042 Kassa 1 (K1) 2026-11-20 · Krogen AB",
            "TransactionDate": "2026-11-20",
            "VoucherSeries": "F",
            "VoucherRows": [
                {"Account": 1580, "Debit": D("1234.50"), "Credit": D("0.00")},
                {"Account": 2621, "Debit": D("0.00"), "Credit": D("132.27")},
                {
                    "Account": 3052,
                    "Debit": D("0.00"),
                    "Credit": D("1102.23"),
                    "CostCenter": "REST1",
                    "TransactionInformation": "Mat 12 %",
                },
            ],
        }
    }


def test_amounts_are_decimal_all_the_way():
    rows = voucher_body(VOUCHER)["Voucher"]["VoucherRows"]
    assert all(type(row[side]) is Decimal for row in rows for side in ("Debit", "Credit"))


def test_year_is_read_only_and_not_sent():
    assert "Year" not in voucher_body(VOUCHER)["Voucher"]


@pytest.mark.parametrize(
    ("amount", "literal"),
    [
        pytest.param("1234.50", "1234.50", id="trailing-zero-kept"),
        pytest.param("0.10", "0.10", id="a-float-would-write-0.1"),
        pytest.param("0.07", "0.07", id="not-0.07000000000000001"),
        pytest.param("9999999999.99", "9999999999.99", id="ten-digit-kronor"),
        pytest.param("20000000.00", "20000000.00", id="no-exponent-for-millions"),
    ],
)
def test_dumps_body_writes_each_amount_as_its_exact_decimal_literal(amount, literal):
    voucher = make_voucher(VoucherRow(1910, debit=D(amount)), VoucherRow(3001, credit=D(amount)))
    text = dumps_body(voucher_body(voucher))
    assert f'"Debit": {literal}, "Credit": 0.00' in text
    assert f'"Debit": 0.00, "Credit": {literal}' in text


def test_dumps_body_reads_back_to_the_same_decimals():
    body = voucher_body(VOUCHER)
    assert json.loads(dumps_body(body), parse_float=Decimal) == body


def test_dumps_body_is_ascii_with_escaped_swedish_characters():
    text = dumps_body(
        voucher_body(make_voucher(*VOUCHER.rows, description="Z-rapport 7 Kassa Öst (K1) 2026-11-20 · Krogen…"))
    )
    assert text.isascii()
    assert json.loads(text)["Voucher"]["Description"] == "Z-rapport 7 Kassa Öst (K1) 2026-11-20 · Krogen…"


def test_body_satisfies_the_fortnox_voucher_schema_and_sends_no_unknown_field():
    schemas = json.loads(SPEC.read_text())["components"]["schemas"]
    row_schema = {**schemas["fortnox_Voucher_VoucherRow"], "additionalProperties": False}
    voucher_schema = copy.deepcopy(schemas["fortnox_Voucher"])
    voucher_schema["properties"]["VoucherRows"]["items"] = row_schema
    # Year is "required" in the spec but read-only (api-facts.md §2.2): the query parameter chooses the year.
    voucher_schema["required"] = [name for name in voucher_schema["required"] if name != "Year"]
    voucher_schema["additionalProperties"] = False
    body = json.loads(dumps_body(voucher_body(VOUCHER)))
    OAS30Validator(voucher_schema).validate(body["Voucher"])
    assert set(body) == {"Voucher"}
