"""Avstämning: the calendar's words, the run's progress, ``flask reconcile`` and the Månadsrapport.

The sentences of findings and errors are made from their data in ``messages/__init__.py``
(``finding_message``, ``reconcile_error_message``).
"""

from backoffice.messages import count_text

MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
          "november", "december")
WEEKDAYS = ("Mån", "Tis", "Ons", "Tor", "Fre", "Lör", "Sön")

#: What a day's cell in the calendar says, by how it looks (``reconcile/views.py`` ``cell_look``).
CELL_LABELS = {
    "no_report": "Ingen Z-rapport",
    "before_start": "Före startdatum",
    "not_exported": "Inte i Fortnox",
    "missing": "Saknas i Fortnox",
    "duplicate": "Bokförd två gånger",
    "differs": "Avviker från Z-rapporten",
    "nothing_to_book": "Inget att bokföra",
    "corrected": "Rättad i Fortnox",
    "rectified": "Rättad med rättelseverifikation",
    "attachment_missing": "PDF saknas",
    "attachment_unknown": "Bokförd, stämmer (PDF inte kontrollerad)",
    "ok": "Bokförd, stämmer",
}

#: The day states in the Månadsrapport (PDF and CSV).
DAY_STATES = {
    "ok": "Stämmer",
    "differs": "Avviker",
    "missing": "Saknas i Fortnox",
    "duplicate": "Dubblett",
    "not_exported": "Inte exporterad",
    "no_report": "Ingen Z-rapport",
}
#: The same states in ``flask reconcile``'s text output.
DAY_STATES_CLI = {
    "ok": "OK",
    "differs": "avviker",
    "missing": "saknas i Fortnox",
    "duplicate": "dubblett",
    "not_exported": "inte exporterad",
    "no_report": "ingen Z-rapport",
}

STARTED = "Avstämningen mot Fortnox har startats."
DONE = "Klart: månaden är avstämd mot Fortnox."
WAITING = "Väntar på att läsa från Fortnox…"
BUSY = "Avstämningen körs redan av en annan process. Försök igen om en stund."
NOT_RECONCILED = "Månaden är inte avstämd mot Fortnox."
NO_OPEN_FINDINGS = "Inga öppna avvikelser."
NO_KNOWN_FINDINGS = "Inga kända: läs månaden från Fortnox på sidan Avstämning."


def month_name(month) -> str:
    """``November 2026``: the calendar's title."""
    return f"{MONTHS[month.month - 1].capitalize()} {month.year}"


def report_title(month) -> str:
    """``Månadsrapport november 2026``."""
    return f"Månadsrapport {MONTHS[month.month - 1]} {month.year}"


def reading(done: int, total: int | None) -> str:
    """The progress of a run that is reading Fortnox."""
    return f"Läser från Fortnox: {done} av {total or '?'} anrop."


def reconciled_at(when) -> str:
    """The Månadsrapport's line under its title."""
    return f"Avstämd mot Fortnox {when:%Y-%m-%d %H:%M} UTC."


def findings_count(count: int) -> str:
    return f"{count} avvikelser."


def sie_written(path, vouchers: int) -> str:
    return f"Skrev {path} ({count_text(vouchers, 'verifikation', 'verifikationer')})."
