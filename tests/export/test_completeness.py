"""Completeness: a register's Z-numbers run without gaps and its grand totals grow by exactly each
report's sales and returns. A break is a problem with a banner, found by the hourly health check,
closed by itself when the missing report arrives, and listed by ``flask export status``.

The tests run the health check's completeness part (``check_completeness``); its other part reads
Fortnox for every connection of the shared test database."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import select

from backoffice.export.models import Problem
from backoffice.export.tasks import check_completeness
from backoffice.messages import reason_message
from backoffice.money import sek_text
from tests.fixtures import jobs_of, run_jobs

#: The contract example's Σ sales.gross and Σ returns.gross: what its grand totals grow by.
SALES, RETURNS = Decimal("24650.00"), Decimal("120.00")


def report(make_document, z_number: int, *, serial: str = "CR-00017", first: int = 1042, jump: str = "0.00") -> dict:
    """The contract's example as Z-report ``z_number`` of a register whose grand totals add up from ``first``."""
    steps = z_number - first
    sales = Decimal("9123456.00") + steps * SALES + Decimal(jump)
    returns = Decimal("23456.00") + steps * RETURNS
    document = make_document(z_number=z_number, grand_total={
        "sales": f"{sales:.2f}", "returns": f"{returns:.2f}", "net": f"{sales - returns:.2f}"})
    document["register"]["serial_number"] = serial
    return document


def exported(db, company) -> list[str]:
    """Export every due job (of any company: tests share the database), then this company's states."""
    db.rollback()  # on SQLite a read transaction left open would not see the reports posted since
    run_jobs(db)
    return [str(job.state) for job in jobs_of(db, company)]


def open_problems(db, company) -> dict[tuple[str, str], dict]:
    db.rollback()
    return {
        (p.kind, p.key): p.details
        for p in db.scalars(select(Problem).where(Problem.company_id == company.id, Problem.closed_at.is_(None)))
    }


def test_a_missing_z_report_is_a_problem_until_it_arrives(app, db, pos, restaurant, make_document):
    shop = restaurant()
    token = shop.tokens["K1"]
    for z in (1042, 1044):
        assert pos.post(token, report(make_document, z)).status_code == 201
    assert exported(db, shop.company) == ["exported", "exported"]
    assert open_problems(db, shop.company) == {}  # an export does not look for gaps: the health check does

    check_completeness(app)

    problems = open_problems(db, shop.company)
    [(kind, key)] = problems
    assert kind == "zreport_missing" and key.endswith(":1043-1043")
    sentence = reason_message(kind, problems[(kind, key)])
    assert sentence == ("Z-rapport 1043 från Kassa 1 saknas: dagens försäljning har inte nått bokföringen. "
                        "Skicka dagsavslutet igen från kassan så att dagen bokförs i Fortnox.")

    assert pos.post(token, report(make_document, 1043)).status_code == 201
    assert exported(db, shop.company) == ["exported"] * 3

    assert open_problems(db, shop.company) == {}  # closed by itself, with the report's export
    db.rollback()
    closed = db.scalars(select(Problem).where(Problem.company_id == shop.company.id)).all()
    assert [(p.kind, p.closed_at is not None) for p in closed] == [("zreport_missing", True)]


def test_several_missing_reports_are_one_problem_naming_the_range(app, db, pos, restaurant, make_document):
    shop = restaurant()
    for z in (1042, 1046):
        assert pos.post(shop.tokens["K1"], report(make_document, z)).status_code == 201

    exported(db, shop.company)
    check_completeness(app)

    [(kind, key)] = open_problems(db, shop.company)
    detail = open_problems(db, shop.company)[(kind, key)]
    assert reason_message(kind, detail).startswith("Z-rapporterna 1043–1045 från Kassa 1 saknas")


def test_a_grand_total_that_jumps_is_a_problem_naming_both_reports(app, db, pos, restaurant, make_document):
    shop = restaurant()
    assert pos.post(shop.tokens["K1"], report(make_document, 1042)).status_code == 201
    assert pos.post(shop.tokens["K1"], report(make_document, 1043, jump="500.00")).status_code == 201
    exported(db, shop.company)

    check_completeness(app)

    problems = open_problems(db, shop.company)
    [(kind, key)] = problems
    assert kind == "grand_total_jump"
    sentence = reason_message(kind, problems[(kind, key)])
    assert sentence.startswith("Grand total i Z-rapport 1043 från Kassa 1 stämmer inte med Z-rapport 1042")
    assert sek_text(Decimal("9148106.00")) in sentence and sek_text(Decimal("9148606.00")) in sentence


def test_a_replaced_register_starts_a_series_of_its_own(app, db, pos, restaurant, make_document, emulator):
    shop = restaurant()
    token = shop.tokens["K1"]
    assert pos.post(token, report(make_document, 1042)).status_code == 201
    new_unit = [report(make_document, z, serial="CR-00099", first=1) for z in (1, 3)]
    for document in new_unit:
        document["business_date"] = "2026-11-2" + str(document["z_number"])
        document["closed_at"] = document["business_date"] + "T23:30:00+01:00"
        assert pos.post(token, document).status_code == 201

    assert exported(db, shop.company) == ["exported"] * 3
    check_completeness(app)

    problems = open_problems(db, shop.company)
    [(kind, key)] = problems
    assert reason_message(kind, problems[(kind, key)]).startswith("Z-rapport 2 från Kassa 1 (CR-00099) saknas")
    descriptions = sorted(v["description"] for v in emulator.control.vouchers(shop.tenant_id))
    assert descriptions == sorted([
        f"Z-rapport 1042 Kassa 1 (K1, CR-00017) 2026-11-20 · {shop.company.name}",
        f"Z-rapport 1 Kassa 1 (K1, CR-00099) 2026-11-21 · {shop.company.name}",
        f"Z-rapport 3 Kassa 1 (K1, CR-00099) 2026-11-23 · {shop.company.name}",
    ])


def test_export_status_lists_the_missing_reports(app, db, pos, restaurant, make_document):
    shop = restaurant()
    for z in (1042, 1045):
        assert pos.post(shop.tokens["K1"], report(make_document, z)).status_code == 201
    exported(db, shop.company)
    check_completeness(app)
    runner = app.test_cli_runner()
    db.rollback()  # the command runs in the test's app context, on its session: read afresh

    text = runner.invoke(args=["export", "status", "--company", shop.company.name])
    listed = runner.invoke(args=["export", "status", "--company", shop.company.name, "--json"])

    assert text.exit_code == 0, text.output
    assert "Z-rapporterna 1043–1044 från Kassa 1 saknas" in text.output
    missing = [row for row in json.loads(listed.output) if row["state"] == "missing"]
    assert [(row["register_id"], row["z_number"], row["reason_code"]) for row in missing] == [
        ("K1", 1043, "zreport_missing"), ("K1", 1044, "zreport_missing")]
    assert jobs_of(db, shop.company)  # the reports themselves are listed as before
