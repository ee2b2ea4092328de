"""The Swedish names of what the engine names in English: export states, export attempts' outcomes,
payment methods. One mapping each, read by every page (Z-rapporter, a report's page, Översikt, the
Fortnox card, Redovisning, the wizard), so a thing is called the same everywhere and no page shows an
engine word (``posted``, ``in_doubt``).

Pure: no Flask, no database session; the keys are the engine's own values.
"""

from __future__ import annotations

from dataclasses import dataclass

from backoffice.export.models import ExportState
from backoffice.messages import count_text as count_text  # the one plural rule, for the pages
from backoffice.messages.zreport import PAYMENT_METHOD_LABELS

#: A report's export state as a list, a filter and the card's counts name it (None: no export job,
#: the report came before the integration was activated).
STATE_NAMES: dict[str | None, str] = {
    ExportState.PENDING: "Väntar på export",
    ExportState.EXPORTED: "Exporterad",
    ExportState.BLOCKED: "Väntar på åtgärd",
    ExportState.FAILED: "Misslyckades",
    ExportState.SKIPPED: "Exporteras inte",
    None: "Inte exporterad",
}
#: Why a report is not exported (a skipped job's reason code; None: before the start date).
SKIPPED_NAMES: dict[str | None, str] = {
    None: "Före startdatum",
    "nothing_to_book": "Inget att bokföra",
}
#: The tag colour (CSS class) of each state.
STATE_CLASSES: dict[str | None, str] = {
    ExportState.PENDING: "pending",
    ExportState.EXPORTED: "ok",
    ExportState.BLOCKED: "bad",
    ExportState.FAILED: "bad",
    ExportState.SKIPPED: "muted",
    None: "muted",
}

#: What one export attempt did (``ExportAttempt.outcome``, written by export/engine.py), as the export
#: history on a report's page says it.
OUTCOME_NAMES: dict[str, str] = {
    "sending": "Skickas till Fortnox",
    "posted": "Skickad till Fortnox",
    "found": "Fanns redan i Fortnox",
    "not_found": "Fanns inte i Fortnox — skickas nu",
    "in_doubt": "Inget svar från Fortnox — kontrolleras innan något skickas igen",
    "crashed": "Avbröts innan Fortnox svarade — kontrolleras innan något skickas igen",
    "rate_limited": "Fortnox bad oss vänta — inget bokfördes, försöker igen",
    "failed": "Misslyckades — inget bokfördes",
    "blocked": "Stoppad — väntar på åtgärd",
    "nothing_to_book": "Inget att bokföra",
    "accepted": "Verifikationen i Fortnox godkändes som dagens bokföring",
    "look_again": "Läses från Fortnox igen efter rättelse där",
}


def state_name(state: str | None, reason_code: str | None = None) -> str:
    """The Swedish name of a report's export state; a skipped report says why."""
    if state == ExportState.SKIPPED:
        return SKIPPED_NAMES.get(reason_code, SKIPPED_NAMES[None])
    return STATE_NAMES[state]


def job_state_name(job) -> str:
    """The Swedish name of an export job's state (``job`` None: the report has no job)."""
    return state_name(None, None) if job is None else state_name(job.state, job.reason_code)


def outcome_name(outcome: str) -> str:
    """The Swedish name of an attempt's outcome (one the engine never wrote: "Okänt utfall")."""
    return OUTCOME_NAMES.get(outcome, "Okänt utfall")


@dataclass(frozen=True, slots=True)
class MethodName:
    """A payment method as shown: its Swedish name, or (``known`` False) the register's own word."""

    name: str
    known: bool


def payment_method_name(method: str) -> MethodName:
    """The Swedish name of a payment method the register sent (``card`` → Kort); an unknown one as sent."""
    name = PAYMENT_METHOD_LABELS.get(method)
    return MethodName(name, True) if name else MethodName(method, False)
