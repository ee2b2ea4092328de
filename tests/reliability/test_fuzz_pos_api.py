"""Fuzzing the POS API from its own OpenAPI document (schemathesis) over real HTTP.

Every generated request is sent to the live server with a valid register token of a restaurant whose
integration is active (so a stored report also creates its export job). Whatever comes back:

- never a 5xx, and every answer is one the document declares, with the declared body;
- no partial write: a refused request leaves the company's rows exactly as they were, and a 201
  adds exactly one report, with one line per sale and return, one row per payment and tip, and its
  export job, all in one transaction.

The booking core is fuzzed with hypothesis in ``tests/zreport/test_booking.py`` (balanced vouchers,
no negative row, every amount on its account); it is not repeated here.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance
from sqlalchemy import func, select

from backoffice.export.models import ExportJob
from backoffice.zreport.models import ZReportLine, ZReportPayment, ZReportRecord, ZReportTip
from backoffice.zreport.openapi import openapi_document

pytestmark = pytest.mark.timeout(240)

# schemathesis.pytest.from_fixture (a schema loaded from the live server) fails on pytest 9
# (``Function._nodeid`` is gone), so the strategies come from the generator that serves
# /api/v1/openapi.json, and the test checks that the server serves exactly that document.
DOCUMENT = openapi_document()
#: The largest value of an INTEGER column on PostgreSQL (z_number and the counts are such columns).
INT4 = 2**31 - 1
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
OPERATIONS = [SCHEMA["/api/v1/z-reports"]["POST"], SCHEMA["/api/v1/z-reports/{register_id}/{z_number}"]["GET"]]
CASES = st.one_of(*[operation.as_strategy(mode) for operation in OPERATIONS
                    for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)])


@st.composite
def edge_documents(draw):
    """A valid report (``demo.zreport_document``) with one field pushed to a limit the schema allows
    but a database column may not: huge counts and z_numbers, long or odd text."""
    from datetime import date, timedelta

    from backoffice.demo import zreport_document

    z_number = draw(st.integers(min_value=1, max_value=10**6))
    document = zreport_document("K1", "Kassa 1", z_number, date(2026, 1, 1) + timedelta(days=z_number % 300))
    big = st.integers(min_value=0, max_value=2**64)  # beyond INT4 must be refused, not a 500
    text = st.text(min_size=1, max_size=90)
    field = draw(st.sampled_from(["z_number", "receipts", "count", "product_group", "register_name", "method", "none"]))
    if field == "z_number":
        document["z_number"] = draw(st.integers(min_value=1, max_value=2**64))
    elif field == "receipts":
        document["counters"]["receipts"] = draw(big)
    elif field == "count":
        document["sales"][0]["count"] = draw(big)
    elif field == "product_group":
        document["sales"][0]["product_group"] = draw(text)
    elif field == "register_name":
        document["register"]["name"] = draw(text)
    elif field == "method":
        document["tips"] = [{"method": draw(text), "amount": "10.00"}]
        document["payments"][0]["amount"] = str(Decimal(document["payments"][0]["amount"]) + 10)
    return document


POST = OPERATIONS[0]
CASES = st.one_of(CASES, edge_documents().map(lambda document: POST.Case(body=document, media_type="application/json")))


@pytest.fixture()
def fuzzed_shop(restaurant):
    """One restaurant for the whole fuzz run (hypothesis calls the test many times with one fixture set)."""
    return restaurant(registers=("K1",))


def test_the_fuzzed_document_is_the_one_the_server_serves(live_server):
    served = requests.get(f"{live_server.url}/api/v1/openapi.json", timeout=10)
    assert served.status_code == 200 and served.json() == json.loads(json.dumps(DOCUMENT))


def rows_of(db, company_id: int) -> dict[str, int]:
    """How many rows of each kind the company has, in one query."""
    db.rollback()
    record_ids = select(ZReportRecord.id).where(ZReportRecord.company_id == company_id).scalar_subquery()
    counts = {
        "reports": select(func.count()).where(ZReportRecord.company_id == company_id),
        "lines": select(func.count()).select_from(ZReportLine).where(ZReportLine.zreport_id.in_(record_ids)),
        "payments": select(func.count()).select_from(ZReportPayment).where(ZReportPayment.zreport_id.in_(record_ids)),
        "tips": select(func.count()).select_from(ZReportTip).where(ZReportTip.zreport_id.in_(record_ids)),
        "jobs": select(func.count()).where(ExportJob.company_id == company_id),
    }
    row = db.execute(select(*[query.scalar_subquery().label(name) for name, query in counts.items()])).one()
    return dict(row._mapping)


@given(case=CASES)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_the_pos_api_never_fails_and_never_half_writes(case, db, live_server, fuzzed_shop):
    token = fuzzed_shop.tokens["K1"]
    body = case.body if isinstance(case.body, dict) else None
    if body is not None and isinstance(body.get("register"), dict):
        body["register"]["id"] = "K1"  # the token's own register, so that valid documents get stored
    if case.path_parameters and "register_id" in case.path_parameters:
        case.path_parameters["register_id"] = "K1"
    before = rows_of(db, fuzzed_shop.company.id)

    response = case.call(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance, response_schema_conformance])

    after = rows_of(db, fuzzed_shop.company.id)
    if case.method == "POST" and response.status_code == 201:
        document = json.loads(response.request.body)
        expected = dict(before)
        expected["reports"] += 1
        expected["lines"] += len(document["sales"]) + len(document.get("returns") or [])
        expected["payments"] += len(document["payments"])
        expected["tips"] += len(document.get("tips") or [])
        expected["jobs"] += 1
        assert after == expected
    else:
        assert after == before, f"{case.method} answered {response.status_code} but changed the database"


@pytest.mark.parametrize("where", ["GET z_number", "POST z_number", "POST counters.receipts"])
def test_a_number_beyond_the_database_column_is_refused_not_a_500(db, live_server, fuzzed_shop, where):
    from backoffice.demo import zreport_document

    headers = {"Authorization": f"Bearer {fuzzed_shop.tokens['K1']}", "Content-Type": "application/json"}
    huge = 2**63
    if where == "GET z_number":
        response = requests.get(f"{live_server.url}/api/v1/z-reports/K1/{huge}", headers=headers, timeout=30)
    else:
        from datetime import date

        document = zreport_document("K1", "Kassa 1", 7, date(2026, 1, 7))
        if where == "POST z_number":
            document["z_number"] = huge
        else:
            document["counters"]["receipts"] = huge
        response = requests.post(f"{live_server.url}/api/v1/z-reports", data=json.dumps(document), headers=headers,
                                 timeout=30)
    assert response.status_code in (404, 422), response.status_code
