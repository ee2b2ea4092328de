"""Completeness as a manager sees it: a gap in a register unit's Z-numbers is a banner on Översikt
(and every page), named by register and number, with Åtgärda detta to the register's reports; it
closes by itself when the register sends the report. The detector itself, the grand totals, the
health check and ``flask export status`` are tested in tests/export/test_completeness.py."""

from __future__ import annotations

from datetime import date, timedelta
from html import unescape

from backoffice.companies.models import Register
from backoffice.demo import deliver, zreport_document
from backoffice.export.banners import open_problems
from backoffice.export.problems import sync_problems
from tests.fixtures import DEMO_MAPPING, fresh

SENTENCE = ("Z-rapport 12 från Kassa 1 saknas: dagens försäljning har inte nått bokföringen. "
            "Skicka dagsavslutet igen från kassan så att dagen bokförs i Fortnox.")


def send(db, made, pos_id: str, z_number: int, days_ago: int, serial: str | None = None) -> None:
    register = db.get(Register, made.registers[pos_id].id)
    document = zreport_document(pos_id, register.name, z_number, date.today() - timedelta(days=days_ago))
    if serial is not None:
        document["register"]["serial_number"] = serial
    deliver(db, register, document)
    db.commit()


def missing(made) -> dict[str, tuple[int, int]]:
    return {p.key: (p.details["first_missing"], p.details["last_missing"])
            for p in open_problems(made.company) if p.kind == "zreport_missing"}


def test_a_gap_in_the_z_numbers_is_a_banner_on_the_overview_until_the_report_arrives(db, site, connect):
    made = connect(site(registers=("K1", "K2")), active=True, mapping=DEMO_MAPPING)
    for z_number, days_ago in ((10, 5), (11, 4), (13, 2), (16, 1)):
        send(db, made, "K1", z_number, days_ago)
    send(db, made, "K2", 7, 3)

    sync_problems(db, made.company, completeness=True)  # what the hourly health check does

    assert sorted(missing(made).values()) == [(12, 12), (14, 15)]
    page = unescape(made.manager.get("/").text)
    assert page.count(SENTENCE) == 1
    assert "Z-rapporterna 14–15 från Kassa 1 saknas: de dagarnas försäljning har inte nått bokföringen." in page
    register_id = made.registers["K1"].id
    assert f'href="/zrapporter/?kassa={register_id}">Åtgärda detta<' in page

    send(db, made, "K1", 12, 3)  # the register sends it again
    sync_problems(db, made.company)  # any sync (an export's) judges again while one is open

    fresh(db)
    assert sorted(missing(made).values()) == [(14, 15)]
    assert SENTENCE not in unescape(made.manager.get("/").text)


def test_a_gap_older_than_the_window_or_before_the_start_date_raises_nothing(db, site, connect):
    made = connect(site(registers=("K1",)), active=True,
                   mapping={**DEMO_MAPPING, "start_date": (date.today() - timedelta(days=10)).isoformat()})
    send(db, made, "K1", 1, 200)  # long ago, before a gap older than the window
    send(db, made, "K1", 3, 20)  # after the window's start, before the start date: not in the books
    send(db, made, "K1", 5, 3)
    send(db, made, "K1", 6, 2)

    sync_problems(db, made.company, completeness=True)

    assert missing(made) == {}


def test_a_replaced_register_starts_a_series_of_its_own_and_is_named_by_its_serial_number(db, site, connect):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    send(db, made, "K1", 1041, 5)
    send(db, made, "K1", 1042, 4)
    send(db, made, "K1", 1, 3, serial="CR-00099")  # the new unit (zreport-v1.md: its z_number restarts)
    send(db, made, "K1", 3, 1, serial="CR-00099")

    sync_problems(db, made.company, completeness=True)

    assert list(missing(made).values()) == [(2, 2)]
    page = unescape(made.manager.get("/").text)
    assert "Z-rapport 2 från Kassa 1 (CR-00099) saknas" in page
    assert "Z-rapport 1043" not in page and "Grand total" not in page  # no gap, no jump across units
