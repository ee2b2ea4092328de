"""Logging in and out, and the company's users."""

LOG_IN_TO_SEE = "Logga in för att se sidan."
TOO_MANY_LOGINS = "För många misslyckade inloggningar. Försök igen om en stund."
WRONG_LOGIN = "Fel e-postadress eller lösenord."
LOGGED_OUT = "Du är utloggad."
ENTER_EMAIL = "Ange din e-postadress."
ENTER_PASSWORD = "Ange ditt lösenord."
EMAIL_NOT_PRINTABLE = "E-postadressen innehåller otillåtna tecken."


def logged_out_everywhere(email: str, ended: int) -> str:
    return f"{email} är utloggad överallt ({ended} sessioner avslutade)."


# "Byt lösenord".
PASSWORD_CHANGED = "Lösenordet är bytt. Du är utloggad i alla andra webbläsare."
WRONG_PASSWORD = "Fel lösenord."
ENTER_CURRENT_PASSWORD = "Ange ditt nuvarande lösenord."
ENTER_NEW_PASSWORD = "Ange ett nytt lösenord."
PASSWORD_TOO_SHORT = "Lösenordet måste ha minst 8 tecken."
PASSWORDS_DIFFER = "Lösenorden är inte lika."
