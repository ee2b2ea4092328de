"""The POS API over real HTTP: every class of bad input of the contract, and nothing half-written."""

from __future__ import annotations

import copy
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from backoffice.zreport.models import ZReportLine, ZReportPayment, ZReportRecord
from tests.fixtures import stored_count


def test_valid_report_is_stored_with_its_lines_and_original_document(db, pos, register, make_document):
    company, reg, token = register
    document = make_document()
    raw = json.dumps(document, indent=3)

    response = pos.post(token, raw)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["register_id"] == "K1" and body["z_number"] == document["z_number"]
    assert body["document"] == document
    record = db.scalar(select(ZReportRecord).where(ZReportRecord.company_id == company.id))
    assert record.document == raw  # kept unchanged, whitespace included
    assert [(line.kind, line.product_group, str(line.gross)) for line in record.lines] == [
        ("sale", "Mat", "18450.00"),
        ("sale", "Dryck", "6200.00"),
        ("return", "Dryck", "120.00"),
    ]
    assert [(p.method, str(p.amount)) for p in record.payments] == [("card", "22390.00"), ("cash", "2779.79")]
    assert str(record.rounding) == "-0.21" and record.closed_at.utcoffset().total_seconds() == 0


def test_identical_repeat_answers_200_and_other_content_409(db, pos, register, make_document):
    company, reg, token = register
    document = make_document()
    assert pos.post(token, document).status_code == 201

    repeat = pos.post(token, json.dumps(document, sort_keys=True))
    changed = copy.deepcopy(document)
    changed["counters"]["receipts"] += 1
    conflict = pos.post(token, changed)

    assert repeat.status_code == 200 and repeat.json()["document"] == document
    assert conflict.status_code == 409
    assert "final" in conflict.json()["errors"]["z_number"][0]
    assert stored_count(db, company) == 1


def test_register_reads_back_what_was_stored(pos, register, make_document, make_register):
    company, reg, token = register
    document = make_document()
    pos.post(token, document)
    _, other_token = make_register(company, pos_id="K2", name="Kassa 2")

    mine = pos.get(token, "K1", document["z_number"])
    missing = pos.get(token, "K1", 999999)
    others = pos.get(other_token, "K1", document["z_number"])

    assert mine.status_code == 200 and mine.json()["document"] == document
    assert missing.status_code == 404
    assert others.status_code == 403


def _set(path: str, value):
    def change(document: dict) -> None:
        *parents, last = path.split(".")
        target = document
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return change


def _unbalance(document):
    document["payments"][1]["amount"] = "2779.80"


def _vat_above_gross(document):
    document["sales"][0]["vat"] = "18450.01"


def _duplicate_method(document):
    document["payments"].append({"method": "card", "amount": "0.00", "count": 0})


def _unknown_field(document):
    document["loyalty_points"] = 12


def _empty(document):
    document.update(sales=[], returns=[], payments=[], tips=[], rounding="0.00")


def _missing_field(document):
    del document["grand_total"]


BAD_DOCUMENTS = [
    pytest.param(_unbalance, "_schema", "difference 0.01", id="unbalanced-by-one-ore"),
    pytest.param(_vat_above_gross, "sales", "exceeds", id="vat-above-gross"),
    pytest.param(_set("sales.0.gross", "-18450.00"), "sales", "negative", id="negative-amount"),
    pytest.param(_duplicate_method, "payments", "at most once", id="duplicate-payment-method"),
    pytest.param(_set("currency", "EUR"), "currency", "SEK", id="other-currency"),
    pytest.param(_set("payments.0.amount", 22390), "payments", "JSON string", id="money-as-json-number"),
    pytest.param(_set("rounding", "-0.210"), "rounding", "two decimals", id="three-decimals"),
    pytest.param(_unknown_field, "loyalty_points", "Unknown field", id="unknown-field"),
    pytest.param(_set("business_date", "2026-11-31"), "business_date", "date", id="invalid-date"),
    pytest.param(_set("schema", "zreport/v2"), "schema", "zreport/v1", id="wrong-schema"),
    pytest.param(_empty, "_schema", "at least one payment or one sales line", id="empty-report"),
    pytest.param(_set("z_number", 0), "z_number", "greater than or equal to 1", id="z-number-zero"),
    pytest.param(_set("closed_at", "2026-11-21T00:12:40"), "closed_at", "timezone", id="closed-at-without-offset"),
    pytest.param(_set("grand_total.net", "1.00"), "grand_total", "sales − returns", id="grand-total-net"),
    pytest.param(_set("counters.receipts", True), "counters", "integer", id="count-as-boolean"),
    pytest.param(_missing_field, "grand_total", "required", id="missing-field"),
]


@pytest.mark.parametrize(("change", "field", "words"), BAD_DOCUMENTS)
def test_invalid_document_answers_422_with_field_messages_and_stores_nothing(
    db, pos, register, make_document, change, field, words
):
    company, reg, token = register
    document = make_document()
    change(document)

    response = pos.post(token, document)

    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert field in errors, errors
    assert words.lower() in json.dumps(errors[field], ensure_ascii=False).lower(), errors
    assert stored_count(db, company) == 0


def test_unbalanced_report_message_gives_both_sides_and_the_difference(pos, register, make_document):
    _, _, token = register
    document = make_document()
    _unbalance(document)

    message = pos.post(token, document).json()["errors"]["_schema"][0]

    assert "25169.80" in message and "25169.79" in message and "0.01" in message


def test_wrong_or_missing_token_answers_401(db, pos, register, make_document):
    company, _, token = register
    assert pos.post(None, make_document()).status_code == 401
    assert pos.post(token + "x", make_document()).status_code == 401
    assert pos.post("", make_document()).status_code == 401
    assert stored_count(db, company) == 0


def test_report_of_another_register_answers_403(db, pos, register, make_document):
    company, _, token = register

    response = pos.post(token, make_document(register_id="K2"))

    assert response.status_code == 403
    assert "only report for itself" in response.json()["errors"]["register.id"][0]
    assert stored_count(db, company) == 0


def test_body_over_one_mebibyte_answers_413(db, pos, register, make_document):
    company, _, token = register
    document = make_document()
    document["register"]["name"] = "x" * (1024 * 1024)

    response = pos.post(token, document)

    assert response.status_code == 413
    assert stored_count(db, company) == 0


def test_malformed_json_and_duplicate_keys_answer_400(db, pos, register, make_document):
    company, _, token = register
    raw = json.dumps(make_document())

    broken = pos.post(token, raw[:-1])
    duplicated = pos.post(token, raw[:-1] + ', "currency": "SEK"}')

    assert broken.status_code == 400 and duplicated.status_code == 400
    assert "duplicate key" in duplicated.json()["errors"]["_schema"][0]
    assert stored_count(db, company) == 0


def test_fifty_registers_posting_concurrently_lose_nothing_and_store_nothing_twice(
    db, live_server, make_company, make_register, make_document
):
    company = make_company()
    registers = [make_register(company, pos_id=f"K{i}", name=f"Kassa {i}") for i in range(50)]
    documents = [(token, make_document(register_id=reg.pos_id, z_number=n)) for reg, token in registers for n in (1, 2)]

    def post(item):
        token, document = item
        with requests.Session() as http:
            statuses = [
                http.post(
                    f"{live_server.url}/api/v1/z-reports",
                    json=document,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=60,
                ).status_code
                for _ in range(2)  # every report is delivered twice, as a flaky POS would
            ]
        return statuses

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(post, documents * 1))

    assert sorted(s for pair in results for s in pair) == [200] * 100 + [201] * 100
    assert stored_count(db, company) == 100
    report_ids = select(ZReportRecord.id).where(ZReportRecord.company_id == company.id)
    assert db.scalar(select(func.count()).select_from(ZReportPayment).where(ZReportPayment.zreport_id.in_(report_ids))) == 200
    assert db.scalar(select(func.count()).select_from(ZReportLine).where(ZReportLine.zreport_id.in_(report_ids))) == 300


def test_openapi_document_describes_the_contract(live_server):
    document = requests.get(f"{live_server.url}/api/v1/openapi.json", timeout=10).json()

    zreport = document["components"]["schemas"]["ZReport"]
    assert document["openapi"].startswith("3.")
    assert zreport["additionalProperties"] is False
    assert "grand_total" in zreport["required"]
    assert set(document["paths"]["/api/v1/z-reports"]["post"]["responses"]) >= {"201", "200", "409", "422", "401", "413"}


@pytest.mark.parametrize("text", ["Mat\u0000", "Mat\ud800"], ids=["nul-character", "unpaired-surrogate"])
def test_text_no_database_can_keep_is_refused_with_422(db, pos, register, make_document, text):
    company, _, token = register
    document = make_document()
    document["sales"][0]["product_group"] = text

    response = pos.post(token, json.dumps(document))

    assert response.status_code == 422, response.text
    assert "sales" in response.json()["errors"]
    assert stored_count(db, company) == 0
