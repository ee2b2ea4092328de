"""Swedish time: a restaurant's business day is its date in Europe/Stockholm.

Pure (no Flask, no database): the Z-report core, the database's ``business_today`` and the pages
that show a time all read it from here.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

#: Where a business day begins: midnight in Sweden; the zone every time a user reads is shown in.
BUSINESS_TIMEZONE = ZoneInfo("Europe/Stockholm")


def business_date_at(moment: datetime) -> date:
    """The business day at the aware instant ``moment``: its date in Europe/Stockholm.

    2026-12-01T23:30Z is 2026-12-02 00:30 in Stockholm, so the business day 2026-12-02.
    """
    return moment.astimezone(BUSINESS_TIMEZONE).date()
