"""Företag → Integrationer: the Fortnox card, the settings wizard and the connection to Fortnox."""

from backoffice.messages import reason_message

ALREADY_INACTIVE = "Integrationen med Fortnox är redan inaktiverad."
DEACTIVATED = "Integrationen med Fortnox är inaktiverad. Inget mer exporteras; historiken finns kvar."
NOT_LINKED = "BackOffice kopplades inte till Fortnox-företaget. Logga in i rätt Fortnox-företag och försök igen."
CONNECT_FIRST = "Ge BackOffice åtkomst till Fortnox först."
PRESS_OK_FIRST = "Tryck på OK för att logga in på Fortnox först."
CHOOSE_LISTED_SERIES = "Välj en av verifikationsserierna i listan."
SERIES_NOT_MANUAL = "Verifikationsserien är inte manuell. Välj en annan eller slå på Manuell kontering i Fortnox."
CHOOSE_SERIES = "Välj en verifikationsserie."
BAD_ACCOUNT_NUMBER = "Ange ett kontonummer med fyra siffror (1000–9999)."
PREVIEW_NOTHING_TO_BOOK = "Den senaste Z-rapporten har inget att bokföra: alla konton blir noll."
#: Fortnox could not be read because the authorisation ended (the banner's sentence).
AUTH_EXPIRED = reason_message("auth_expired")
FORTNOX_NOT_ANSWERING = "Fortnox svarar inte just nu. Försök igen om en stund."

# The OAuth callback.
INVALID_LOGIN_TITLE = "Ogiltig inloggning"
INVALID_LOGIN = "Inloggningen i Fortnox kunde inte kopplas till din session. Försök igen från BackOffice."
LOGIN_CANCELLED = "Du avbröt inloggningen i Fortnox. BackOffice har inte fått åtkomst till Fortnox."
CONNECT_FAILED = "Kopplingen till Fortnox misslyckades. Försök igen om en stund."
NO_SERVICE_ACCOUNT = (
    "Fortnox gav inte BackOffice något tjänstekonto. En systemadministratör i Fortnox behöver "
    "godkänna kopplingen; du kan också koppla med din egen inloggning."
)
CONNECTED = "BackOffice är nu kopplat till Fortnox."
CONNECTED_SERVICE = "BackOffice är nu kopplat till Fortnox med tjänstekonto."


def series_created(code: str, description: str) -> str:
    return f"Verifikationsserien {code} – {description} är skapad i Fortnox."


def now_exported(reports: str) -> str:
    """``reports`` counted by ``messages.zreports`` ("3 Z-rapporter")."""
    return f"{reports} exporteras nu."


def account_exists(number: int) -> str:
    return f"Konto {number} finns redan i Fortnox."


def account_created(number: int, description: str) -> str:
    return f"Konto {number} {description} är skapat i Fortnox."


def covered_by_general_rule(account: int) -> str:
    return f"Bokförs nu på konto {account} enligt en mer allmän regel."


def account_not_in_fortnox(number: int) -> str:
    return f"Konto {number} finns inte i Fortnox. Välj ett konto i listan eller lägg till det med Lägg till konto."


def account_inactive(number: int) -> str:
    return f"Konto {number} är inaktivt i Fortnox. Aktivera det i Fortnox eller välj ett annat konto."


def account_missing_for(part: str) -> str:
    """``part`` as ``describe_missing_account`` names it."""
    return f"Konto saknas för {part}."


# The wizard's forms (their validators' sentences, and a label that is a question).
PURPOSE_QUESTION = "Vad ska integrationen användas till?"
CHOOSE_BOOKKEEPING = "Välj BOKFÖRING för att fortsätta."
DATE_FORMAT = "Ange datumet som ÅÅÅÅ-MM-DD."
ACCOUNT_HAS_FOUR_DIGITS = "Ett kontonummer har fyra siffror (1000–9999)."
ENTER_ACCOUNT_NUMBER = "Ange ett kontonummer."
ENTER_ACCOUNT_NAME = "Ange kontots benämning."
AT_MOST_200 = "Högst 200 tecken."
CHOOSE_START_DATE = "Välj ett startdatum. Utan startdatum skulle alla sparade Z-rapporter exporteras, hur gamla de än är."

# The wizard's preview.
NO_START_DATE = "Välj ett startdatum: utan startdatum skulle alla sparade Z-rapporter exporteras, hur gamla de än är."
#: The preview's button before and after its summary is shown.
NEXT = "NÄSTA"
ACTIVATE_AND_EXPORT = "Aktivera och exportera"


def account_unusable_in_year(account, inactive: bool, financial_year) -> str:
    """An account the open problems name for another financial year than today's."""
    state = "är inaktivt" if inactive else "saknas"
    return (f"Konto {account} {state} i Fortnox för räkenskapsåret {financial_year}. Rätta det där i Fortnox eller "
            "välj ett annat konto.")


# The wizard's advice where accountants disagree (docs/domain.md).
GIFT_CARD_ADVICE = (
    "Presentkort som säljs som en vara med 0 % moms är ingen försäljning: kunden har betalat i förskott. "
    "Bokför dem på 2421 Ej inlösta presentkort (en skuld) – momsen och intäkten uppstår först när "
    "presentkortet löses in som betalning. På ett försäljningskonto redovisas intäkten för tidigt."
)
INVOICE_ADVICE = (
    "Faktura: 1510 Kundfordringar är rätt när kassan bara registrerar köpet och fakturan inte skapas i "
    "Fortnox. Skapar ni även fakturan i Fortnox (fakturering) bokförs försäljningen där en gång till – "
    "välj då ett avräkningskonto (t.ex. 1689) som fakturans betalning nollställer."
)


def cost_account_advice(account: int) -> str:
    """A payment method on a cost account (7000–7999)."""
    return (f"Konto {account} är ett kostnadskonto. Det går bra för t.ex. personalmåltider, som är en kostnad "
            "för företaget och inte en betalning som kommer in.")


def sales_account_advice(account: int) -> str:
    """A payment method on a sales account (3000–3999)."""
    return (f"Konto {account} är ett försäljningskonto. En betalningsmetod bokförs som en tillgång eller fordran "
            "(t.ex. 1580 för kort, 1910 för kontanter, 1930 för Swish): på ett försäljningskonto tar betalningen "
            "ut försäljningen i stället för att visa vad ni har att få.")


def result_account_advice(account: int) -> str:
    """A payment method on another account of the income statement."""
    return (f"Konto {account} är ett resultatkonto. En betalningsmetod bokförs normalt på ett balanskonto "
            "(1000–2999); kontrollera med din redovisningskonsult.")
