"""The Z-report list and page, ``flask zreport voucher``, and the row texts of a day's voucher."""

#: Row texts of the payment methods registers commonly send; any other method is named as sent.
PAYMENT_METHOD_LABELS = {"cash": "Kontant", "card": "Kort", "swish": "Swish", "gift_card": "Presentkort",
                         "invoice": "Faktura"}
#: Row texts of the parts under mapping/v1 ``other`` and of the cash movements outside the balance rule.
OTHER_LABELS = {
    "tips": "Dricks",
    "tips_paid_out_cash": "Dricks utbetald kontant",
    "rounding": "Öresavrundning",
    "cash_difference": "Kassadifferens",
    "gift_cards_sold": "Sålda presentkort",
}

#: What a report not yet in Fortnox says while its company's integration is deactivated.
NOT_EXPORTED_INACTIVE = "Exporteras inte (integrationen är inaktiverad)"
NOTHING_TO_BOOK = "Z-rapporten har inget att bokföra: alla konton blir noll."
NOTHING_TO_BOOK_CLI = "Inget att bokföra: alla konton summerar till noll för denna Z-rapport."
NO_MAPPING = "Ingen kontoplan är vald ännu. Aktivera integrationen med Fortnox för att se verifikationen."
CANNOT_RETRY = "Den här Z-rapporten kan inte exporteras igen just nu."


def exporting_again(z_number: int) -> str:
    return f"Z-rapport {z_number} exporteras igen."
