"""E-post: the problem mails, the weekly summary and E-postnotiser."""

PREFERENCES_SAVED = "Dina val för e-post är sparade."
SERVICE_ACCOUNT_HINT = (
    "Kopplingen hör till den som loggade in i Fortnox. Ett tjänstekonto slutar inte gälla om personen slutar "
    "eller om inget exporteras på länge. Koppla med tjänstekonto (rekommenderas):"
)


def problem_mail_subject(company_name: str, kind: str, detail: dict) -> str:
    return f"Åtgärd krävs: {company_name} – {_what_is_wrong(kind, detail)}"


def weekly_subject(company_name: str, week: int) -> str:
    return f"Veckosammanfattning för {company_name}, vecka {week}"


def _what_is_wrong(kind: str, detail: dict) -> str:
    """A short subject line naming what is wrong (the account or series where there is one); ``kind`` is
    an ``export.reasons.Reason`` value (the wording sits below the export, so it reads the codes)."""
    if kind in ("account_inactive", "account_missing") and detail.get("account"):
        return f"konto {detail['account']} i Fortnox"
    if kind in ("series_not_manual", "series_missing") and detail.get("series"):
        return f"verifikationsserie {detail['series']} i Fortnox"
    if kind in ("cost_center_missing", "cost_center_inactive") and detail.get("cost_center"):
        return f"kostnadsställe {detail['cost_center']} i Fortnox"
    if kind in ("auth_expired", "connection_invalidated", "access_denied"):
        return "kopplingen till Fortnox"
    if kind in ("mapping_incomplete", "mapping_missing"):
        return "konto saknas i inställningarna"
    if kind == "zreport_missing":
        first, last = detail.get("first_missing", ""), detail.get("last_missing", "")
        numbers = f"Z-rapport {first}" if last in (first, "") else f"Z-rapporterna {first}–{last}"
        return f"{numbers} saknas från {detail.get('register_name', 'kassan')}"
    if kind == "grand_total_jump":
        return f"grand total i Z-rapport {detail.get('z_number', '')} från {detail.get('register_name', 'kassan')}"
    if kind == "cost_centers_unreadable":
        return "kostnadsställena i Fortnox"
    if kind == "voucher_differs":
        found = f"{detail.get('found_series', '')} {detail.get('found_number', '')}".strip()
        return f"verifikation {found} i Fortnox skiljer sig" if found else "en verifikation i Fortnox skiljer sig"
    if kind == "period_locked":
        return "låst period i Fortnox"
    return "exporten till Fortnox"


def problems_choice(company_name: str) -> str:
    return f"E-post när något behöver åtgärdas för {company_name}"


def weekly_choice(company_name: str) -> str:
    return f"Veckosammanfattning för {company_name}"
