"""Swedish sentences of "Rätta dag", made at the edge from the correction's codes and details.

``reason_message`` (``backoffice.messages``) words the causes a correction shares with the export
(an inactive account, a locked period…); this module words what only a correction says.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from backoffice.messages import reason_message

_DIFFERENCES = {"series": "en annan verifikationsserie", "date": "ett annat datum", "rows": "andra rader"}


def _differences(detail: dict) -> str:
    return " och ".join(_DIFFERENCES[d] for d in detail.get("differences", ()) if d in _DIFFERENCES) or "annat innehåll"


def _by_account(detail: dict) -> str:
    """`` Skillnad per konto (skickat → i Fortnox): konto 1580: 1 000,00 → 0,00; …`` or nothing."""
    parts = []
    for a in detail.get("accounts") or ():
        where = f" ({a['cost_center']})" if a.get("cost_center") else ""
        parts.append(f"konto {a['account']}{where}: {kronor(Decimal(a['sent']))} → {kronor(Decimal(a['fortnox']))}")
    return f" Skillnad per konto (skickat → i Fortnox): {'; '.join(parts)}." if parts else ""


def input_message(code: str, detail: dict | None = None) -> str:
    """Why a range cannot be corrected (``CorrectionError``); nothing was posted."""
    d = detail or {}
    first, last = d.get("date_from", ""), d.get("date_to", "")
    span = f"den {first}" if first == last else f"mellan {first} och {last}"
    sentences = {
        "invalid_date": f"Ogiltigt datum: ”{d.get('text', '')}”. Skriv datumet som ÅÅÅÅ-MM-DD.",
        "range_reversed": f"Från-datumet {first} ligger efter till-datumet {last}. "
        "Välj ett från-datum som är samma dag eller tidigare.",
        "range_in_future": f"Till-datumet {last} ligger i framtiden. Bara dagar som redan har bokförts kan rättas.",
        "not_active": f"{d.get('company', 'Företaget')} har ingen aktiv Fortnox-integration. "
        "Aktivera integrationen innan du rättar dagar.",
        "no_exported_voucher": f"Det finns ingen exporterad verifikation {span}, så det finns inget att rätta.",
        "nothing_to_correct": f"Alla exporterade dagar {span} bokförs redan så som inställningarna säger nu. "
        "Inget behöver rättas.",
    }
    return sentences.get(code, f"Dagarna kunde inte rättas ({code}).")


def locked_message(locked_through: date, booking_date: date) -> str:
    """The preview's warning when a day lies in a locked period or a closed financial year."""
    return (f"Perioden är låst t.o.m. {locked_through.isoformat()}: rättelsen bokförs {booking_date.isoformat()}. "
            "Moms som redan redovisats kan behöva rättas av din redovisningskonsult.")


def attention_message(code: str, detail: dict | None = None) -> str:
    """Why a report of the range is not corrected now, for the person who decides."""
    d = detail or {}
    voucher = d.get("voucher", "")
    sentences = {
        "not_exported": "Dagen har ingen exporterad verifikation och rättas inte.",
        "under_way": f"En rättelse av verifikation {voucher} pågår redan.",
        "voucher_typed_over": f"Verifikation {voucher} i Fortnox har ändrats för hand (den har {_differences(d)} "
        "än vi skickade) och rättas inte automatiskt." + _by_account(d)
        + " Jämför den med Z-rapporten och rätta den i Fortnox.",
        "voucher_differs": f"Fortnox har redan verifikation {d.get('found', '')} med vårt export-id för rättelsen, "
        f"men den har {_differences(d)} än vi skickade. Vi skickar den inte igen, så att ingenting bokförs två "
        "gånger. Be er redovisningskonsult jämföra den med Z-rapporten.",
        "cannot_book": "Dagen kan inte bokföras med de nuvarande inställningarna: "
        + reason_message(d.get("reason", ""), d),
        "failed": "Rättelsen misslyckades efter flera försök. Tryck på Bekräfta igen för att försöka på nytt.",
    }
    if code in sentences:
        return sentences[code]
    return reason_message(code, d) + " Åtgärda detta och tryck på Bekräfta igen."


def changed_days_message(count: int) -> str:
    """What the wizard says after the settings are saved, when exported days would be booked otherwise."""
    if count == 1:
        return "1 exporterad dag bokförs annorlunda med de nya inställningarna"
    return f"{count} exporterade dagar bokförs annorlunda med de nya inställningarna"


def changed_days_hint(count: int, date_from: date, date_to: date) -> str:
    """What the wizard says after saving, beside its **Rätta dagarna** button."""
    span = date_from.isoformat() if date_from == date_to else f"{date_from.isoformat()} – {date_to.isoformat()}"
    return (f"{changed_days_message(count)} ({span}). Tryck på Rätta dagarna för att se rättelsen; "
            "ingenting bokförs förrän du bekräftar.")


def confirm_question(days: int, company: str) -> str:
    return f"Rätta {days} {'dag' if days == 1 else 'dagar'} för {company} i Fortnox nu?"


def result_message(done: int, blocked: int, failed: int, pending: int) -> str:
    return f"Rättade: {done}, väntar på en person: {blocked}, misslyckade: {failed}, pågår: {pending}"


def kronor(amount) -> str:
    """``1 234,50`` (Swedish digit grouping and decimal comma), with its sign."""
    text = f"{abs(amount):,.2f}".replace(",", " ").replace(".", ",")
    return ("−" if amount < 0 else "") + text


# The chain on a Z-report's page (original → reversal → new) and a run's rows.
CHAIN_ORIGINAL = "Original"
CHAIN_REVERSAL = "Återföring"
CHAIN_NEW = "Ny verifikation"
BOOKED_IN_FORTNOX = "Bokförd i Fortnox"
WAITING_TO_BOOK = "Väntar på att bokföras"
UNDER_WAY = "Pågår"


def corrected_on(booking_date: date) -> str:
    """A done correction's state in a run's table."""
    return f"Rättad {booking_date.isoformat()}"


def preview_day_line(business_date: date, register: str, z_number: int, voucher: str, booking_date: date) -> str:
    """``flask export correct``: one day of the preview."""
    return (f"{business_date}  {register} Z{z_number}  verifikation {voucher}: "
            f"återföring och ny verifikation {booking_date}")


def preview_change_line(account: int, cost_center: str | None, before, after, change) -> str:
    """``flask export correct``: one account's difference, to the öre."""
    where = f" ({cost_center})" if cost_center else ""
    return f"    konto {account}{where}: {kronor(before)} → {kronor(after)} (skillnad {kronor(change)})"


def preview_summary(days: int, unchanged: int) -> str:
    """``flask export correct``: the preview's last line."""
    return f"{days} {'dag rättas' if days == 1 else 'dagar rättas'}, {unchanged} bokförs redan rätt."


#: The reason written into the reversal's Comments when the user gives none.
DEFAULT_WHY = "Ändrade inställningar för konteringen"


def reversal_comment(started_by: str, when: str, why: str) -> str:
    """The reversal's ``Comments`` in Fortnox: who corrected, when and why (BFL 5 kap. 5 §)."""
    return f"Rättad av {started_by} {when}. Orsak: {why}. "
