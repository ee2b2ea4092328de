""""Today" is the business day in Stockholm, never the server's date: at 23:30 UTC on 1 December it is
already 2 December in Sweden, so a range ending on 2 December is not in the future."""

from __future__ import annotations

from datetime import date

from freezegun import freeze_time

from backoffice.db import business_today


def test_half_an_hour_after_midnight_in_stockholm_today_is_already_the_next_day(app, restaurant):
    shop = restaurant()
    runner = app.test_cli_runner()
    base = ["export", "correct", "--company", shop.company.name]

    with freeze_time("2026-12-01T23:30:00Z"):
        server_date = date.today()
        today = business_today()
        ending_today = runner.invoke(args=[*base, "--from", "2026-12-01", "--to", "2026-12-02"])
        ending_tomorrow = runner.invoke(args=[*base, "--from", "2026-12-01", "--to", "2026-12-03"])

    assert server_date == date(2026, 12, 1)  # what date.today() said: the server's clock runs in UTC
    assert today == date(2026, 12, 2)
    assert "framtiden" not in ending_today.output
    assert "Det finns ingen exporterad verifikation mellan 2026-12-01 och 2026-12-02" in ending_today.output
    assert "Till-datumet 2026-12-03 ligger i framtiden." in ending_tomorrow.output
