"""Swedish sentences for the product's errors, made at the edge from the errors' data.

The core carries codes and fields (style B0.6, B11); this module is the one place their Swedish
wording lives. ``str(exc)`` stays English, for logs.
"""

from backoffice.accounts.mapping import MappingIncompleteError, MissingAccount
from backoffice.money import format_vat_rate

# Wording of the parts of a report that need an account and have no key (mapping-v1.md, ``other``).
_OTHER_PARTS = {
    "tips": "dricks",
    "rounding": "öresavrundning",
    "cash_difference": "kassadifferens",
    "gift_cards_sold": "sålda presentkort",
}


def describe_missing_account(missing: MissingAccount) -> str:
    """Name one part of a report that lacks an account, in Swedish.

    ``betalningsmetod "swish"``, ``momssats 6 %``, ``varugrupp "Glass" (6 %)``, ``dricks``,
    ``öresavrundning``, ``kassadifferens``, ``sålda presentkort``.
    """
    if missing.kind == "payment_method":
        return f'betalningsmetod "{missing.key}"'
    if missing.kind == "vat_rate":
        return f"momssats {format_vat_rate(missing.vat_rate)} %"
    if missing.kind == "sales":
        return f'varugrupp "{missing.key}" ({format_vat_rate(missing.vat_rate)} %)'
    return _OTHER_PARTS[missing.kind]


def mapping_incomplete_message(error: MappingIncompleteError) -> str:
    """The sentence of mapping-v1.md "When the mapping lacks an account", naming every missing part.

    ``Bokföringen kunde inte exporteras: konto saknas för betalningsmetod "swish", momssats 6 %,
    varugrupp "Glass" (6 %).``
    """
    parts = ", ".join(describe_missing_account(missing) for missing in error.missing)
    return f"Bokföringen kunde inte exporteras: konto saknas för {parts}."
