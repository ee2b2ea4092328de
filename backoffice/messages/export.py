"""Exports: the status light, "Kontrollera igen", "Manuell export" and ``flask export run``."""

from backoffice.messages import count_text, zreports

GREEN = "Allt fungerar normalt: allt är exporterat."
RECHECK_UNREADABLE = "Fortnox kunde inte läsas just nu, så ingenting är kontrollerat. Försök igen om en stund."
RECHECKED_NO_PROBLEM = "Fortnox är kontrollerat igen. Inga problem hittades i Fortnox."
NOT_ACTIVE = "Integrationen med Fortnox är inte aktiverad."
MANUAL_EXPORT_STARTED = "Manuell export har startats."
ATTACHING_STARTED = "Z-rapporterna bifogas nu som underlag."


#: The status light's colour in words, the start of its one line ("Röd: …"), for those who do not see the colour.
LIGHT_LABELS = {"green": "Grön", "yellow": "Gul", "red": "Röd", "off": "Inte aktiverad"}
#: Why the light is red when nothing names the cause (the reports' own pages do).
RED_SEE_REPORTS = "se Z-rapporterna som väntar"
#: Said after the first of several open problems.
RED_MORE = " (och fler problem, se Notifikationer)"


def light_red(stuck: int, why: str) -> str:
    """``2 Z-rapporter väntar på åtgärd — konto 1580 är inaktivt i Fortnox``; ``why`` is
    ``messages.problem_clause``'s."""
    waiting = f"{zreports(stuck)} väntar på åtgärd" if stuck else "nästa dagsavslut kan inte exporteras"
    return f"{waiting} — {why}"


def light_delayed(retrying: int, waiting: int, minutes: int) -> str:
    """The yellow light: of ``waiting`` reports, ``retrying`` wait for a retry or are overdue."""
    text = (f"Fördröjningar: {zreports(retrying)} väntar på ett nytt försök eller har väntat i mer än "
            f"{count_text(minutes, 'minut', 'minuter')}")
    if waiting > retrying:
        text += f"; {zreports(waiting - retrying)} till exporteras nu"
    return text


def light_sending(waiting: int) -> str:
    """The green light while reports are on their way (the first backlog after activation too)."""
    return f"{zreports(waiting)} exporteras nu till Fortnox."


def rechecked_exporting(reports: str) -> str:
    """``reports`` counted by ``messages.zreports`` ("1 Z-rapport")."""
    return f"Fortnox är kontrollerat igen. {reports} exporteras nu."


def rechecked_still(sentences: str) -> str:
    """The banner sentences of what Fortnox still says after "Kontrollera igen"."""
    return f"Fortnox är kontrollerat igen just nu, och det här gäller fortfarande: {sentences}"


def progress_text(progress) -> str:
    """The progress of a "Manuell export" as the card shows it."""
    if progress.total == 0:
        return "Det fanns inget att exportera: all försäljningsdata är redan i Fortnox."
    parts = [f"Exporterade: {progress.exported}"]
    if progress.already_there:
        parts.append(f"fanns redan i Fortnox: {progress.already_there}")
    if progress.blocked:
        parts.append(f"väntar på åtgärd: {progress.blocked}")
    if progress.failed:
        parts.append(f"misslyckades: {progress.failed}")
    if not progress.done:
        parts.append(f"kvar: {progress.pending}")
    return ", ".join(parts) + "."


def confirm_manual_export(company_name: str) -> str:
    return f"Exportera försäljningsdata för {company_name} till Fortnox nu?"


def progress_line(progress) -> str:
    """The progress of ``flask export run`` when it ends."""
    return (
        f"Exporterade: {progress.exported}, fanns redan: {progress.already_there}, "
        f"blockerade: {progress.blocked}, misslyckade: {progress.failed}, väntar: {progress.pending}"
    )


def attach_summary(progress) -> str:
    """What ``flask export attach`` prints when it is done."""
    return (
        f"Bifogade: {progress.attached}, hade redan underlag: {progress.already_there}, "
        f"misslyckades: {progress.failed}, väntar: {progress.pending}"
    )


def attach_progress_text(progress) -> str:
    """What a run of "Bifoga underlag för tidigare dagar" has done."""
    if progress.total == 0:
        return "Det finns inga exporterade verifikationer att bifoga underlag till."
    parts = [f"Bifogade: {progress.attached}", f"hade redan underlag: {progress.already_there}"]
    if progress.failed:
        parts.append(f"misslyckades: {progress.failed}")
    if not progress.done:
        parts.append(f"kvar: {progress.pending}")
    text = ", ".join(parts) + "."
    for failure in progress.failures[:10]:
        text += f" Z-rapport {failure.z_number} ({failure.business_date}), verifikation {failure.voucher}: {failure.message}"
    return text


# --- a voucher that differs: the admin's decision ------------------------------------------------

NO_LONGER_DIFFERS = "Z-rapporten väntar inte längre på ett beslut om verifikationen."
LOOKING_AGAIN = ("Verifikationen läses från Fortnox igen och jämförs med den vi skickade. "
                 "Stämmer den nu, räknas den som Z-rapportens bokföring.")


def accepted_voucher(series: str, number) -> str:
    """Fortnox's voucher was taken as the report's booking."""
    return f"Verifikation {series} {number} i Fortnox är nu Z-rapportens bokföring. Ingen ny verifikation skickades."


# --- the Z-report's PDF on its voucher (export/attachments.py) ------------------------------------

#: The Z-report's history for an exported voucher whose PDF is not (yet) in Fortnox.
ATTACHMENT_MISSING = "Verifikation skapad, underlag saknas"
#: The banner of a connection whose consent lacks the attaching scopes.
ATTACH_CONSENT = "Logga in på Fortnox igen för att bifoga Z-rapporterna som underlag"
#: ``flask export attach`` without that consent: where to log in.
ATTACH_CONSENT_CLI = ATTACH_CONSENT + " (flask --app wsgi: logga in via Integrationer)."
#: An attachment's error when its job has no voucher to attach to.
NO_VOUCHER = "Verifikationen saknar nummer eller räkenskapsår."


def attachment_missing_reason(attachment) -> str:
    """Why a voucher's PDF is missing (for the history and the run's failures): ``attachment`` is a
    ``VoucherAttachment`` (its ``state``, ``retries``, ``error_message``) or None."""
    if attachment is None:
        return "Z-rapporten har inte bifogats (verifikationen exporterades innan underlag bifogades)."
    if attachment.state == "needs_consent":
        return ATTACH_CONSENT + "."
    if attachment.state == "pending":
        if attachment.retries:
            return f"Nytt försök görs automatiskt. Senaste fel: {attachment.error_message or 'okänt'}"
        return "Z-rapporten bifogas strax."
    if attachment.state == "failed":
        return f"Misslyckades efter flera försök: {attachment.error_message or 'okänt fel'}"
    return ""


def corrected_voucher(voucher: str, first_series: str, first_number) -> str:
    """``flask export status``: a corrected report's current voucher and the one it was first booked as."""
    return f"{voucher} (rättad, först {first_series} {first_number})"
