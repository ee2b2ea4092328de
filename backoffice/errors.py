"""HTTP error pages: JSON for the POS API, Swedish pages for people."""

from __future__ import annotations

from flask import Flask, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

#: Swedish titles for the error pages people may meet.
_TITLES = {
    400: "Felaktig begäran",
    403: "Åtkomst nekad",
    404: "Sidan finns inte",
    405: "Metoden stöds inte",
    413: "För stor begäran",
    429: "För många försök",
    500: "Något gick fel",
}


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)


def _http_error(exc: HTTPException):
    # A request that failed writes nothing, and the error page (its banners read the database) must
    # not run in a transaction PostgreSQL has aborted.
    db_session = g.get("db_session")
    if db_session is not None:
        db_session.rollback()
    if request.path.startswith("/api/"):
        message = {
            413: "The body is larger than 1 MiB.",
            404: "No such resource.",
            405: "Method not allowed.",
        }.get(exc.code, exc.description)
        return jsonify(errors={"_schema": [message]}), exc.code
    title = _TITLES.get(exc.code or 500, "Något gick fel")
    return render_template("error.html", title=title, code=exc.code), exc.code
