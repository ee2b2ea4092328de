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


def missing_parts_message(missing: list[dict]) -> str:
    """The mapping sentence from the JSON form of the missing parts kept on a blocked job."""
    from decimal import Decimal

    error = MappingIncompleteError(
        tuple(
            MissingAccount(m["kind"], m.get("key"), None if m.get("vat_rate") is None else Decimal(m["vat_rate"]))
            for m in missing
        )
    )
    return mapping_incomplete_message(error)


def reason_message(reason: str, detail: dict | None = None) -> str:
    """The banner sentence of an export problem (the seeds' wording where they have one)."""
    detail = detail or {}
    account = detail.get("account", "")
    series = detail.get("series", "")
    code = detail.get("cost_center", "")
    sentences = {
        "mapping_incomplete": "Bokföringen kunde inte exporteras till Fortnox eftersom ett konto saknades. "
        "Uppdatera inställningarna för din Fortnox-integration för att åtgärda detta.",
        "mapping_missing": "Bokföringen kunde inte exporteras till Fortnox eftersom ingen kontoplan är vald. "
        "Slutför inställningarna för din Fortnox-integration för att åtgärda detta.",
        "account_missing": f'Bokföringen kunde inte exporteras eftersom konto "{account}" saknas i Fortnox.',
        "account_inactive": "Bokföringen kunde inte exporteras eftersom ett eller flera konton är inaktiva i Fortnox.",
        "series_missing": f'Verifikationsserien "{series}" finns inte i Fortnox.',
        "series_not_manual": f"Fortnox error 2001940: Verifikationsserien är inte manuell ({series}).",
        "cost_center_missing": f'Du behöver logga in i Fortnox och lägga till kostnadsstället '
        f'"{detail.get("register_name") or code}" med koden "{code}" för att bokföringen ska exporteras korrekt.',
        "cost_center_inactive": f'Kostnadsstället med koden "{code}" är inaktivt i Fortnox. '
        "Aktivera det för att bokföringen ska exporteras korrekt.",
        "no_financial_year": f"Räkenskapsår saknas i Fortnox för {detail.get('date', 'datumet')}. "
        "Lägg upp räkenskapsåret i Fortnox för att bokföringen ska exporteras.",
        "period_locked": f"Fortnox har låst perioden t.o.m. {detail.get('locked_through', '')}. "
        "Lås upp perioden för att fortsätta.",
        "auth_expired": "Din Fortnox-autentisering har upphört att gälla. "
        "Logga in på fortnox för att uppdatera autentiseringen.",
        "connection_invalidated": "Kopplingen har invaliderats av Fortnox. Logga in på Fortnox och koppla ihop igen.",
        "access_denied": "Access denied: användaren som kopplade integrationen har inte längre behörighet i Fortnox.",
        "not_connected": "BackOffice är inte kopplat till Fortnox. Logga in på Fortnox för att aktivera integrationen.",
        "voucher_invalid": "Fortnox godtog inte verifikationen: "
        f"{detail.get('fortnox_message') or 'okänt fel'}",
        "export_failed": "Bokföringen kunde inte exporteras till Fortnox efter flera försök. "
        "Tryck på Manuell export för att försöka igen.",
    }
    return sentences.get(reason, f"Bokföringen kunde inte exporteras till Fortnox ({reason}).")
