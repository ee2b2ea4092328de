"""A replaced register in the back office: its units in the register's history, and each report
naming the unit that sent it."""

from __future__ import annotations

import re

from backoffice.demo import zreport_document


def _report(z_number: int, day: str, serial: str) -> dict:
    from datetime import date

    document = zreport_document("K1", "Kassa 1", z_number, date.fromisoformat(day))
    document["register"]["serial_number"] = serial
    return document


def test_the_registers_history_shows_each_unit_with_its_serial_number_and_reports(db, site, pos):
    made = site(registers=("K1",))
    token = made.tokens["K1"]
    for z_number, day in ((1041, "2026-11-19"), (1042, "2026-11-20")):
        assert pos.post(token, _report(z_number, day, "CR-00017")).status_code == 201
    for z_number, day in ((1, "2026-11-22"), (2, "2026-11-23")):
        assert pos.post(token, _report(z_number, day, "CR-00099")).status_code == 201

    page = made.manager.get(f"/zrapporter/?kassa={made.registers['K1'].id}")
    unfiltered = made.manager.get("/zrapporter/")

    assert page.status_code == 200
    units = re.findall(r'<tr data-unit="(\d)">(.*?)</tr>', page.text, re.S)
    text = {number: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for number, row in units}
    assert text == {
        "1": "1 CR-00017 1041–1042 2026-11-19 – 2026-11-20 2",
        "2": "2 I bruk CR-00099 1–2 2026-11-22 – 2026-11-23 2",
    }
    assert "Kassans historik" not in unfiltered.text  # the history belongs to one register


def test_a_report_of_the_new_unit_names_its_serial_number_and_unit(db, site, pos):
    made = site(registers=("K1",))
    token = made.tokens["K1"]
    assert pos.post(token, _report(1042, "2026-11-20", "CR-00017")).status_code == 201
    created = pos.post(token, _report(1, "2026-11-22", "CR-00099"))
    assert created.status_code == 201
    from sqlalchemy import select

    from backoffice.zreport.models import ZReportRecord

    db.rollback()
    record_ids = db.scalars(
        select(ZReportRecord.id).where(ZReportRecord.company_id == made.company.id).order_by(ZReportRecord.id)
    ).all()

    old, new = (made.manager.get(f"/zrapporter/{record_id}").text for record_id in record_ids)

    assert 'data-field="serial_number">CR-00017<' in old and "enhet " not in old
    assert 'data-field="serial_number">CR-00099<' in new and "(id K1), enhet 2<" in new
