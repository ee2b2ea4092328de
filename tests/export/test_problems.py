"""A missing Z-number: a gap in a register's day closes is a problem with a banner (and a mail),
named by register and number, and it closes by itself when the register sends the report."""

from __future__ import annotations

from datetime import date, timedelta
from html import unescape

from backoffice.companies.models import Register
from backoffice.demo import deliver, zreport_document
from backoffice.export.banners import open_problems
from backoffice.export.problems import missing_zreports, sync_problems
from tests.fixtures import DEMO_MAPPING, fresh

SENTENCE = 'Z-rapport nr 12 från "Kassa 1" har inte kommit fram till BackOffice.'


def send(db, made, pos_id: str, z_number: int, days_ago: int) -> None:
    register = db.get(Register, made.registers[pos_id].id)
    day = date.today() - timedelta(days=days_ago)
    deliver(db, register, zreport_document(pos_id, register.name, z_number, day))
    db.commit()


def test_a_gap_in_the_z_numbers_opens_a_problem_that_closes_when_the_report_arrives(db, site, connect):
    made = connect(site(registers=("K1", "K2")), active=True, mapping=DEMO_MAPPING)
    for z_number, days_ago in ((10, 5), (11, 4), (13, 2), (16, 1)):
        send(db, made, "K1", z_number, days_ago)
    send(db, made, "K2", 7, 3)

    sync_problems(db, made.company)

    problems = {p.key: p for p in open_problems(made.company) if p.kind == "zreport_missing"}
    assert set(problems) == {"K1:12", "K1:14"}
    assert problems["K1:14"].details["last_missing"] == 15
    page = unescape(made.manager.get("/").text)
    assert SENTENCE in page and "Skicka dagsavslutet igen från kassan" in page
    assert 'Z-rapporterna nr 14–15 från "Kassa 1"' in page
    register_id = made.registers["K1"].id
    assert f'href="/zrapporter/?kassa={register_id}">Åtgärda detta<' in page

    send(db, made, "K1", 12, 3)  # the register sends it again
    sync_problems(db, made.company)

    fresh(db)
    assert {p.key for p in open_problems(made.company) if p.kind == "zreport_missing"} == {"K1:14"}


def test_only_recent_history_is_looked_at_and_no_gap_means_no_problem(db, site, connect):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    send(db, made, "K1", 1, 200)  # long ago, before a gap that is older than the window
    send(db, made, "K1", 5, 3)
    send(db, made, "K1", 6, 2)

    assert missing_zreports(db, made.company, since=date.today() - timedelta(days=62)) == []
    assert [b.key for b in missing_zreports(db, made.company, since=date.today() - timedelta(days=365))] == ["K1:2"]


def test_a_replaced_unit_whose_numbers_restart_is_no_gap(db, site, connect):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    send(db, made, "K1", 1041, 4)
    send(db, made, "K1", 1042, 3)
    send(db, made, "K1", 1, 2)  # a new unit (zreport-v1.md: its z_number restarts)
    send(db, made, "K1", 2, 1)

    assert missing_zreports(db, made.company, since=date.today() - timedelta(days=62)) == []
