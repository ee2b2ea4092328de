"""The Z-report list and page, and ``flask zreport voucher``."""

#: The export states by their values (pending, exported, …; None: no job), as the list names them.
STATE_NAMES = {
    "pending": "Väntar på export",
    "exported": "Exporterad",
    "blocked": "Väntar på åtgärd",
    "failed": "Misslyckades",
    "skipped": "Före startdatum",
    None: "Inte exporterad",
}
NOTHING_TO_BOOK_STATE = "Inget att bokföra"
#: What a report not yet in Fortnox says while its company's integration is deactivated.
NOT_EXPORTED_INACTIVE = "Exporteras inte (integrationen är inaktiverad)"
NOTHING_TO_BOOK = "Z-rapporten har inget att bokföra: alla konton blir noll."
NOTHING_TO_BOOK_CLI = "Inget att bokföra: alla konton summerar till noll för denna Z-rapport."
NO_MAPPING = "Ingen kontoplan är vald ännu. Aktivera integrationen med Fortnox för att se verifikationen."
CANNOT_RETRY = "Den här Z-rapporten kan inte exporteras igen just nu."


def exporting_again(z_number: int) -> str:
    return f"Z-rapport {z_number} exporteras igen."
