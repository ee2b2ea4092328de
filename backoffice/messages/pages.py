"""The titles of the error pages people may meet (JSON errors of the POS API stay English)."""

#: HTTP status → the error page's title.
ERROR_TITLES = {
    400: "Felaktig begäran",
    403: "Åtkomst nekad",
    404: "Sidan finns inte",
    405: "Metoden stöds inte",
    413: "För stor begäran",
    429: "För många försök",
    500: "Något gick fel",
}
#: The title of any other error.
ERROR_TITLE = "Något gick fel"
