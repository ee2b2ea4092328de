"""Every sentence a user reads, in Swedish: this module makes them from the errors' data, and one
module per part of the product holds the rest (``pages``, ``companies``, ``zreport``, ``accounts``,
``export``, ``integrations``, ``overview``, ``reconcile``, ``mail``, ``demo``, ``correction``).

The core carries codes and fields (style B0.6, B11); views, commands and error pages take their
sentences from here. ``str(exc)`` stays English, for logs. Button labels, field labels and headings
stay in the templates and forms that show them.
"""

from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple, Protocol

from backoffice.money import format_vat_rate, sek_text


class MissingPart(Protocol):
    """A part of a report without an account: ``accounts.mapping.MissingAccount`` is one."""

    kind: str
    key: str | None
    vat_rate: Decimal | None


class MissingParts(Protocol):
    """What lacks an account: ``accounts.mapping.MappingIncompleteError`` is one."""

    @property
    def missing(self) -> Iterable[MissingPart]: ...


class _Missing(NamedTuple):
    """A missing part read back from the JSON kept on a blocked job."""

    kind: str
    key: str | None
    vat_rate: Decimal | None


def _missing_from_json(missing: list[dict]) -> list[_Missing]:
    return [
        _Missing(m["kind"], m.get("key"), None if m.get("vat_rate") is None else Decimal(m["vat_rate"]))
        for m in missing
    ]

# Wording of the parts of a report that need an account and have no key (mapping-v1.md, ``other``).
_OTHER_PARTS = {
    "tips": "dricks",
    "rounding": "öresavrundning",
    "cash_difference": "kassadifferens",
    "gift_cards_sold": "sålda presentkort",
}


def describe_missing_account(missing: MissingPart) -> str:
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


def mapping_incomplete_message(error: MissingParts) -> str:
    """The sentence of mapping-v1.md "When the mapping lacks an account", naming every part missing
    from ``error`` (an ``accounts.mapping.MappingIncompleteError``).

    ``Bokföringen kunde inte exporteras: konto saknas för betalningsmetod "swish", momssats 6 %,
    varugrupp "Glass" (6 %).``
    """
    return _missing_sentence(error.missing)


def _missing_sentence(missing: Iterable[MissingPart]) -> str:
    return f"Bokföringen kunde inte exporteras: konto saknas för {_parts_text(missing)}."


def _parts_text(missing: Iterable[MissingPart]) -> str:
    """``betalningsmetod "swish", momssats 6 %, …``"""
    return ", ".join(describe_missing_account(part) for part in missing)


def vat_account_message(rate, account: int) -> str:
    """Why a VAT rate may not be booked on ``account`` (mapping-v1.md, ``vat_rates``: BAS 2610–2639).

    ``Momssats 12 % kan inte bokföras på konto 3001: utgående moms bokförs på ett konto mellan 2610
    och 2639, annars försvinner momsen in i försäljningen och saknas i momsdeklarationen.``
    """
    return (
        f"Momssats {format_vat_rate(rate).replace('.', ',')} % kan inte bokföras på konto {account}: utgående moms "
        "bokförs på ett konto mellan 2610 och 2639, annars försvinner momsen in i försäljningen och saknas i "
        "momsdeklarationen."
    )


def missing_parts_message(missing: list[dict]) -> str:
    """The mapping sentence from the JSON form of the missing parts kept on a blocked job."""
    return _missing_sentence(_missing_from_json(missing))


def _missing_parts(missing: list[dict]) -> str:
    """The parts of a report without an account, from their JSON form: ``betalningsmetod "swish", …``."""
    return _parts_text(_missing_from_json(missing))


def _for_year(detail: dict) -> str:
    """" för räkenskapsåret som börjar 2026-01-01" when the detail names the year, else ""."""
    start = detail.get("financial_year_from") or detail.get("year_from")
    return f" för räkenskapsåret som börjar {start}" if start else ""


def _fortnox_says(detail: dict) -> str:
    """" (Fortnox: ”Saknar rättighet …”)" when Fortnox said what is missing, else ""."""
    said = detail.get("fortnox_message")
    return f" (Fortnox: ”{said}”)" if said else ""


def _register_of(detail: dict) -> str:
    """``Kassa 1``, or ``Kassa 1 (CR-00099)`` for a replaced register's later unit."""
    name = detail.get("register_name") or detail.get("register") or "kassan"
    if (detail.get("unit") or 1) > 1 and detail.get("serial_number"):
        return f"{name} ({detail['serial_number']})"
    return name


def _missing_clause(detail: dict) -> str:
    """``Z-rapport 1043 från Kassa 1 saknas`` (or a range), for a sentence that names several problems."""
    first, last = detail.get("first_missing"), detail.get("last_missing")
    if not first:
        return "en Z-rapport saknas"
    numbers = f"Z-rapport {first}" if last in (None, first) else f"Z-rapporterna {first}–{last}"
    return f"{numbers} från {_register_of(detail)} saknas"


def completeness_message(reason: str, detail: dict) -> str:
    """The banner of a break in a register's series of Z-reports (issue 16's wording).

    ``Z-rapport 1043 från Kassa 1 saknas: dagens försäljning har inte nått bokföringen. …``
    """
    register = _register_of(detail)
    if reason == "zreport_missing":
        first, last = detail.get("first_missing"), detail.get("last_missing")
        if first == last:
            return (f"Z-rapport {first} från {register} saknas: dagens försäljning har inte nått bokföringen. "
                    "Skicka dagsavslutet igen från kassan så att dagen bokförs i Fortnox.")
        return (f"Z-rapporterna {first}–{last} från {register} saknas: de dagarnas försäljning har inte nått "
                "bokföringen. Skicka dagsavsluten igen från kassan så att dagarna bokförs i Fortnox.")
    return (
        f"Grand total i Z-rapport {detail.get('z_number')} från {register} stämmer inte med Z-rapport "
        f"{detail.get('previous')}: försäljningen borde ha vuxit till {_kronor(detail.get('expected_sales', 0))} men är "
        f"{_kronor(detail.get('reported_sales', 0))} (returer {_kronor(detail.get('expected_returns', 0))} mot "
        f"{_kronor(detail.get('reported_returns', 0))}). Försäljning kan saknas i bokföringen."
    )


def read_ago(read_at, now) -> str:
    """How old a fact read from Fortnox is: ``just nu``, ``för 3 minuter sedan``, ``för 2 timmar sedan``."""
    seconds = max(int((now - read_at).total_seconds()), 0)
    if seconds < 60:
        return "just nu"
    if seconds < 3600:
        return f"för {count_text(seconds // 60, 'minut', 'minuter')} sedan"
    if seconds < 2 * 86400:
        return f"för {count_text(seconds // 3600, 'timme', 'timmar')} sedan"
    return f"för {count_text(seconds // 86400, 'dag', 'dagar')} sedan"


def connection_warning(warning: dict) -> str:
    """Why connecting a restaurant to a Fortnox company needs confirming (``operations.connection_warnings``)."""
    if warning["kind"] == "shared":
        return (f"Fortnox-företaget {warning['fortnox_company']} används redan av {warning['others']} i BackOffice. "
                "Kopplar du hit bokförs båda restaurangernas försäljning i samma Fortnox-företag.")
    return (f"Fortnox-företaget {warning['fortnox_company']} har organisationsnummer {warning['fortnox_org_number']}, "
            f"men {warning['company']} har organisationsnummer {warning['org_number']}. Kontrollera att du loggade "
            "in i rätt Fortnox-företag.")


def activation_message(count: int, first, last, series: str, start_date) -> str:
    """What "Aktivera och exportera" will do: ``60 Z-rapporter 2026-11-01 – 2026-11-30 bokförs nu i serie F.``"""
    where = f" i serie {series}" if series else ""
    if count == 0:
        since = f" från {start_date}" if start_date else ""
        return f"Det finns inga Z-rapporter{since} ännu. Varje dagsavslut bokförs sedan{where} i Fortnox."
    days = str(first) if first == last else f"{first} – {last}"
    return f"{zreports(count)} {days} bokförs nu{where}. Därefter bokförs varje dagsavslut av sig själv."


def count_text(count: int, one: str, many: str) -> str:
    """``1 Z-rapport``, ``2 Z-rapporter``, ``0 Z-rapporter``: the one plural rule of every page and message."""
    return f"{count} {one if count == 1 else many}"


def zreports(count: int) -> str:
    """``1 Z-rapport``, ``2 Z-rapporter``."""
    return count_text(count, "Z-rapport", "Z-rapporter")


def problem_clause(reason: str, detail: dict | None = None) -> str:
    """A problem as a clause for the status light's one line: ``konto 1580 är inaktivt i Fortnox``."""
    detail = detail or {}
    account, series, code = detail.get("account"), detail.get("series"), detail.get("cost_center")
    year = f" (räkenskapsåret {detail['financial_year']})" if detail.get("financial_year") else ""
    clauses = {
        "account_inactive": f"konto {account} är inaktivt i Fortnox{year}" if account else "ett konto är inaktivt i Fortnox",
        "account_missing": f"konto {account} saknas i Fortnox{year}" if account else "ett konto saknas i Fortnox",
        "series_missing": f"verifikationsserie {series} saknas i Fortnox{year}" if series
        else "verifikationsserien saknas i Fortnox",
        "series_not_manual": f"verifikationsserie {series} är inte manuell i Fortnox{year}" if series
        else "verifikationsserien är inte manuell i Fortnox",
        "cost_center_missing": f"kostnadsställe {code} saknas i Fortnox" if code else "ett kostnadsställe saknas i Fortnox",
        "cost_center_inactive": f"kostnadsställe {code} är inaktivt i Fortnox" if code
        else "ett kostnadsställe är inaktivt i Fortnox",
        "cost_centers_unreadable": "Fortnox låter inte BackOffice läsa kostnadsställena",
        "no_financial_year": f"räkenskapsår saknas i Fortnox för {detail['date']}" if detail.get("date")
        else "räkenskapsår saknas i Fortnox",
        "period_locked": f"perioden är låst i Fortnox t.o.m. {detail['locked_through']}" if detail.get("locked_through")
        else "perioden är låst i Fortnox",
        "auth_expired": "Fortnox-autentiseringen har upphört att gälla",
        "connection_invalidated": "kopplingen har invaliderats av Fortnox",
        "access_denied": "användaren i Fortnox saknar behörighet",
        "not_connected": "BackOffice är inte kopplat till Fortnox",
        "mapping_incomplete": f"konto saknas för {_missing_parts(detail['missing'])}" if detail.get("missing")
        else "konto saknas i inställningarna",
        "mapping_missing": "ingen kontoplan är vald",
        "voucher_invalid": "Fortnox godtog inte verifikationen",
        "voucher_differs": "en verifikation i Fortnox skiljer sig från den som skickades",
        "export_failed": "Fortnox svarade inte trots flera försök",
        "zreport_missing": _missing_clause(detail),
        "grand_total_jump": f"grand total i Z-rapport {detail['z_number']} från {_register_of(detail)} stämmer inte"
        if detail.get("z_number") else "en kassas grand total stämmer inte",
    }
    return clauses.get(reason, "exporten till Fortnox har stannat")


def ask_admin_message(admins: list[str], company: str) -> str:
    """What a manager is told where the fix needs an admin's button: whom to ask, by name.

    ``Det här åtgärdar en administratör: be anna@krogen.se att göra det.``
    """
    if not admins:
        return f"Det här åtgärdar en administratör för {company}: be en administratör att göra det."
    names = admins[0] if len(admins) == 1 else ", ".join(admins[:-1]) + " eller " + admins[-1]
    return f"Det här åtgärdar en administratör: be {names} att göra det."


def _period_locked(detail: dict) -> str:
    """``Fortnox har låst perioden t.o.m. 2026-10-31. …``, or the report's date when the lock's end is unknown."""
    through, day = detail.get("locked_through"), detail.get("date")
    if through:
        said = f"Fortnox har låst perioden t.o.m. {through}."
    elif day:
        said = f"Fortnox har låst perioden som {day} ligger i."
    else:
        said = "Fortnox har låst perioden som Z-rapportens datum ligger i."
    return said + " Lås upp perioden i Fortnox för att fortsätta."


def reason_message(reason: str, detail: dict | None = None) -> str:
    """The banner sentence of an export problem (the seeds' wording where they have one)."""
    detail = detail or {}
    if reason in ("zreport_missing", "grand_total_jump"):
        return completeness_message(reason, detail)
    account = detail.get("account", "")
    series = detail.get("series", "")
    code = detail.get("cost_center", "")
    sentences = {
        "mapping_incomplete": "Bokföringen kunde inte exporteras till Fortnox eftersom ett konto saknades. "
        "Uppdatera inställningarna för din Fortnox-integration för att åtgärda detta."
        + (f" Konto saknas för {_missing_parts(detail['missing'])}." if detail.get("missing") else ""),
        "mapping_missing": "Bokföringen kunde inte exporteras till Fortnox eftersom ingen kontoplan är vald. "
        "Slutför inställningarna för din Fortnox-integration för att åtgärda detta.",
        "account_missing": f'Bokföringen kunde inte exporteras eftersom konto "{account}" saknas i Fortnox. '
        "Lägg upp kontot i Fortnox eller välj ett annat konto i inställningarna."
        if account else "Bokföringen kunde inte exporteras eftersom ett konto saknas i Fortnox: "
        f"{detail.get('fortnox_message') or 'Fortnox angav inte vilket'}.",
        "account_inactive": f"Bokföringen kunde inte exporteras eftersom konto {account} är inaktivt i Fortnox. "
        "Aktivera kontot i Fortnox eller välj ett annat konto i inställningarna."
        if account else "Bokföringen kunde inte exporteras eftersom ett eller flera konton är inaktiva i Fortnox.",
        "series_missing": (f'Verifikationsserien "{series}" finns inte i Fortnox' if series else
                           "Verifikationsserien som integrationen bokför i finns inte i Fortnox")
        + f"{_for_year(detail)}. Lägg upp serien i Fortnox eller välj en annan serie i inställningarna.",
        "series_not_manual": f"Fortnox error 2001940: Verifikationsserien är inte manuell ({series}). "
        f"Tillåt manuella verifikationer i serie {series} i Fortnox eller välj en annan serie i inställningarna."
        if series else "Fortnox error 2001940: Verifikationsserien är inte manuell. Tillåt manuella "
        "verifikationer i serien i Fortnox eller välj en annan serie i inställningarna.",
        "cost_center_missing": f'Du behöver logga in i Fortnox och lägga till kostnadsstället '
        f'"{detail.get("register_name") or code}" med koden "{code}" för att bokföringen ska exporteras korrekt.'
        if code else "Ett kostnadsställe som kassorna bokför på saknas i Fortnox"
        f"{_fortnox_says(detail)}. Lägg upp det i Fortnox för att bokföringen ska exporteras korrekt.",
        "cost_center_inactive": f'Kostnadsstället med koden "{code}" är inaktivt i Fortnox. '
        "Aktivera det för att bokföringen ska exporteras korrekt." if code else
        f"Ett kostnadsställe som kassorna bokför på är inaktivt i Fortnox{_fortnox_says(detail)}. "
        "Aktivera det för att bokföringen ska exporteras korrekt.",
        "cost_centers_unreadable": "Fortnox låter inte BackOffice läsa kostnadsställena: behörigheten för "
        "kostnadsställen eller licensen saknas. Z-rapporter från kassor med kostnadsställe"
        + (f" ({', '.join(detail['cost_centers'])})" if detail.get("cost_centers") else "")
        + " väntar. Logga in på Fortnox igen och godkänn "
        "kostnadsställen, eller ta bort kostnadsstället från kassan under Ekonomi → Redovisning.",
        "no_financial_year": (f"Räkenskapsår saknas i Fortnox för {detail['date']}. " if detail.get("date") else
                              "Räkenskapsår saknas i Fortnox för Z-rapportens datum. ")
        + "Lägg upp räkenskapsåret i Fortnox för att bokföringen ska exporteras.",
        "period_locked": _period_locked(detail),
        "auth_expired": "Din Fortnox-autentisering har upphört att gälla. "
        "Logga in på Fortnox för att uppdatera autentiseringen.",
        "connection_invalidated": "Kopplingen har invaliderats av Fortnox. Logga in på Fortnox och koppla ihop igen.",
        "access_denied": "Access denied: användaren som kopplade integrationen har inte längre behörighet i Fortnox"
        f"{_fortnox_says(detail)}. Ge användaren behörigheten i Fortnox och logga in på Fortnox igen.",
        "not_connected": "BackOffice är inte kopplat till Fortnox. Logga in på Fortnox för att aktivera integrationen.",
        "voucher_invalid": "Fortnox godtog inte verifikationen: "
        f"{detail.get('fortnox_message') or 'okänt fel'}",
        "voucher_differs": _differs_sentence(detail),
        "export_failed": "Bokföringen kunde inte exporteras till Fortnox efter flera försök. "
        "Tryck på Åtgärda detta och sedan på Exportera igen vid Z-rapporten.",
    }
    sentence = sentences.get(reason, f"Bokföringen kunde inte exporteras till Fortnox ({reason}).")
    if detail.get("financial_year"):  # a cause in another year's chart than the current one
        sentence += f" Det gäller räkenskapsåret {detail['financial_year']}."
    return sentence


# --- Avstämning (reconcile) -----------------------------------------------------------------------


def _kronor(amount) -> str:
    """An amount in a sentence (stored as text in a finding): ``1 234,50 kr``, by ``money.sek_text``."""
    from decimal import Decimal

    return sek_text(Decimal(str(amount)))


def _side(amount) -> str:
    """A signed amount (debit positive) as an accountant says it: ``debet 125,00 kr``, ``kredit 100,00 kr``."""
    text = _kronor(amount)
    if text.startswith("-"):
        return "kredit " + text[1:]
    return text if text.startswith("0,00") else "debet " + text


def finding_message(kind: str, finding: dict) -> str:
    """A finding of the reconciliation in plain Swedish, with what to do about it.

    ``finding``: {register_id, z_number, voucher, data} as ``reconcile.operations`` stores it.
    """
    data = finding.get("data") or {}
    register, z, voucher = finding.get("register_id"), finding.get("z_number"), finding.get("voucher")
    report = f"Z-rapport {z} från kassa {register}"
    if kind == "z_number_gap":
        first, last = data.get("first"), data.get("last")
        numbers = f"nr {first}" if first == last else f"nr {first}–{last}"
        return (f"Z-rapport {numbers} saknas för kassa {register} (efter nr {data.get('after')}, före nr "
                f"{data.get('before')}). Kontrollera i kassan att dagsavslutet gjordes och skickades, och skicka det igen.")
    if kind == "duplicate_voucher":
        vouchers = " och ".join(data.get("vouchers") or [])
        extra = ", ".join(data.get("extra") or [voucher or ""])
        return (f"{report} är bokförd mer än en gång i Fortnox ({vouchers}). Gör en rättelseverifikation av "
                f"{extra} i Fortnox så att dagen bara är bokförd en gång.")
    if kind == "foreign_voucher":
        return (f"Verifikation {voucher} ({data.get('date')}, \"{data.get('description')}\") ligger i "
                "BackOffice-serien men är inte skapad av BackOffice. Kontrollera att den inte bokför samma "
                "försäljning en gång till, och lägg egna verifikationer i en annan verifikationsserie.")
    if kind == "voucher_differs":
        parts = []
        for diff in data.get("differences") or []:
            where = f"konto {diff['account']}" + (f" (kostnadsställe {diff['cost_center']})" if diff.get("cost_center") else "")
            parts.append(f"{where}: skickat {_side(diff['sent'])}, i Fortnox {_side(diff['fortnox'])}, "
                         f"skillnad {_kronor(diff['difference'])}")
        how = "har rättats" if data.get("corrected") else "har ändrats"
        return (f"Verifikation {voucher} för {report} {how} i Fortnox och stämmer inte "
                f"längre med Z-rapporten: {'; '.join(parts)}. Kontrollera ändringen och rätta verifikationen i "
                "Fortnox om den är fel.")
    if kind == "voucher_missing":
        label = f" som verifikation {voucher}" if voucher else ""
        return (f"{report} ({data.get('date')}) är exporterad{label} enligt BackOffice, men verifikationen finns "
                "inte i Fortnox. Kontrollera att rätt Fortnox-företag är kopplat och kontakta supporten om "
                "verifikationen har försvunnit.")
    if kind == "attachment_missing":
        return (f"Verifikation {voucher} för {report} saknar Z-rapporten som bifogad fil (PDF), och "
                "underlaget ska sparas med verifikationen. Tryck på Bifoga underlag för tidigare dagar under "
                "Företag → Integrationer, så bifogar BackOffice den, och läs sedan månaden från Fortnox igen.")
    if kind == "correction_incomplete":
        corrected, reversal, new = data.get("corrected"), data.get("reversal"), data.get("new")
        if data.get("in_progress"):
            return (f"Rättelsen av verifikation {corrected} för {report} pågår: "
                    + ("vändningen finns i Fortnox men inte den nya verifikationen än, så dagen är inte bokförd just nu."
                       if data.get("missing") == "new" else "den är inte klar i Fortnox än.")
                    + " Läs månaden från Fortnox igen när rättelsen är klar under Z-rapporter → Rätta dagarna.")
        if data.get("missing") == "new":
            return (f"Verifikation {reversal} vänder {corrected} för {report}, men den nya verifikationen saknas i "
                    "Fortnox, så dagen är inte bokförd. Tryck på Bekräfta igen under Z-rapporter → Rätta dagarna, "
                    "eller bokför dagen i Fortnox, och läs sedan månaden från Fortnox igen.")
        if data.get("missing") == "reversal":
            return (f"Den nya verifikationen {new} för {report} finns i Fortnox, men inte vändningen av {corrected}, "
                    f"så dagen är bokförd två gånger. Gör en rättelseverifikation av {corrected} i Fortnox.")
        return (f"Rättelsen av verifikation {corrected} för {report} är bokförd som {reversal} och {new} enligt "
                "BackOffice, men de finns inte i Fortnox. Kontrollera att rätt Fortnox-företag är kopplat och "
                "kontakta supporten om verifikationerna har försvunnit.")
    if kind == "attachment_unknown":
        if data.get("reason") == "scope":
            return ("Om verifikationerna har Z-rapporten bifogad kunde inte kontrolleras: kopplingen till Fortnox "
                    "saknar behörighet att läsa bifogade filer. Logga in på Fortnox igen under Företag → "
                    "Integrationer och läs sedan månaden från Fortnox igen.")
        return ("Om verifikationerna har Z-rapporten bifogad kunde inte kontrolleras: Fortnox nekade BackOffice "
                "att läsa bifogade filer. Kontrollera att Fortnox-användaren som kopplade BackOffice har behörighet "
                "till arkivet och att licensen omfattar det, och läs sedan månaden från Fortnox igen.")
    return f"Avvikelse vid avstämningen ({kind})."


def reconcile_error_message(code: str, detail: dict | None = None) -> str:
    """Why a month cannot be reconciled or exported as SIE, in Swedish."""
    detail = detail or {}
    month = detail.get("month", "")
    sentences = {
        "invalid_month": f'Ogiltig månad "{month}". Ange månaden som ÅÅÅÅ-MM, till exempel 2026-11.',
        "future_month": f"Månaden {month} har inte börjat än. Välj innevarande månad eller en tidigare.",
        "before_start_date": f"Månaden {month} ligger före integrationens startdatum {detail.get('start_date', '')}: "
        "inga Z-rapporter från den månaden har exporterats till Fortnox.",
        "no_integration": f"{detail.get('company') or 'Företaget'} har ingen integration med Fortnox. Anslut Fortnox "
        "under Företag → Integrationer för att kunna stämma av mot Fortnox.",
        "auth_expired": reason_message("auth_expired"),
        "no_mapping": "Ingen kontoplan är vald ännu. Välj konton under Ekonomi → Redovisning först.",
        "mapping_incomplete": missing_parts_message(detail.get("missing") or []) if detail.get("missing") else
        "Kontoplanen saknar konton för delar av månadens Z-rapporter.",
        "fortnox_unavailable": "Fortnox kunde inte läsas just nu. Försök igen om en stund.",
        "no_reports": f"Det finns inga Z-rapporter att bokföra för {month}.",
    }
    return sentences.get(code, f"Avstämningen kunde inte göras ({code}).")
_DIFFERENCES = {"series": "en annan verifikationsserie", "date": "ett annat datum", "rows": "andra rader"}


def _differs_sentence(detail: dict) -> str:
    """A voucher with our export id that is not the one we sent: name both, say why nothing is sent."""
    found = f"{detail.get('found_series', '')} {detail.get('found_number', '')}".strip()
    what = " och ".join(_DIFFERENCES[d] for d in detail.get("differences", ()) if d in _DIFFERENCES) or "annat innehåll"
    sent = (f"serie {detail.get('sent_series', '')}, {detail.get('sent_date', '')}, "
            f"”{detail.get('sent_description', '')}”")
    return (f"Fortnox har redan verifikation {found} med vårt export-id för den här Z-rapporten, men den har {what} "
            f"än verifikationen vi skickade ({sent}). Vi skickar den inte igen, så att ingenting bokförs två gånger. "
            f"Be er redovisningskonsult jämföra verifikation {found} i Fortnox med Z-rapporten.")


def reason_text(job) -> str | None:
    """The Swedish reason of a blocked or failed export job (``reason_code``, ``detail``), with the
    missing accounts spelled out; None for a job without a reason."""
    if job is None or job.reason_code is None:
        return None
    detail = job.detail
    if job.reason_code == "mapping_incomplete" and detail.get("missing"):
        return missing_parts_message(detail["missing"])
    return reason_message(job.reason_code, detail)
def bulk_export_message(started: list[tuple[str, int]], inactive: list[str]) -> str:
    """What a bulk "Manuell export" of Alla restauranger did, per restaurant.

    ``Manuell export har startats för Krogen (3 Z-rapporter), Baren (inget att exportera).
    Inte startad för Caféet: integrationen med Fortnox är inte aktiverad.``
    """
    parts = []
    if started:
        names = ", ".join(f"{name} ({zreports(total) if total else 'inget att exportera'})" for name, total in started)
        parts.append(f"Manuell export har startats för {names}.")
    if inactive:
        parts.append(f"Inte startad för {', '.join(inactive)}: integrationen med Fortnox är inte aktiverad.")
    return " ".join(parts)


def choose_cost_centre_message(register_names: list[str]) -> str:
    """A settings import whose cost centres the person has not yet assigned to these registers."""
    return f"Välj kostnadsställe för {', '.join(register_names)}: inställningarna anger inte vilken kassa som får vilket."


def settings_changed_message() -> str:
    """The target's settings changed between the preview and "Importera"."""
    return "Inställningarna har ändrats sedan förhandsgranskningen. Granska importen igen innan du sparar."
