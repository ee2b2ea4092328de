"""The Z-report list and page, and ``flask zreport voucher``."""

#: What a report not yet in Fortnox says while its company's integration is deactivated.
NOT_EXPORTED_INACTIVE = "Exporteras inte (integrationen är inaktiverad)"
NOTHING_TO_BOOK = "Z-rapporten har inget att bokföra: alla konton blir noll."
NOTHING_TO_BOOK_CLI = "Inget att bokföra: alla konton summerar till noll för denna Z-rapport."
NO_MAPPING = "Ingen kontoplan är vald ännu. Aktivera integrationen med Fortnox för att se verifikationen."
CANNOT_RETRY = "Den här Z-rapporten kan inte exporteras igen just nu."


def exporting_again(z_number: int) -> str:
    return f"Z-rapport {z_number} exporteras igen."
