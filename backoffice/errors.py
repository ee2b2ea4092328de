"""HTTP error pages: JSON for the POS API, Swedish pages for people."""

from __future__ import annotations

import io

from flask import Flask, abort, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from backoffice.messages.pages import ERROR_TITLE, ERROR_TITLES


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.wsgi_app = BodyLimit(app.wsgi_app, app.config["MAX_CONTENT_LENGTH"])  # type: ignore[method-assign]
    app.before_request(_refuse_oversized_stream)


#: set in the WSGI environ by ``BodyLimit`` when a body without Content-Length exceeded the limit
_OVERSIZED = "backoffice.body_too_large"


class BodyLimit:
    """Hold a streamed body (``Transfer-Encoding: chunked``, no ``Content-Length``) to the same limit
    as a framed one, under any WSGI server.

    Werkzeug enforces ``MAX_CONTENT_LENGTH`` on such a body only by reading at most that much, so a
    longer body is cut and the rest silently ignored: a 2 MiB report was stored from its first MiB.
    This reads the body up to one byte past the limit, marks it too large when that byte exists
    (the request then answers 413), and otherwise hands the app the body with its length, so every
    later read sees exactly what was sent.
    """

    def __init__(self, wsgi_app, limit: int) -> None:
        self.wsgi_app = wsgi_app
        self.limit = limit

    def __call__(self, environ, start_response):
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not environ.get("CONTENT_LENGTH") and (chunked or environ.get("wsgi.input_terminated")):
            body = _read_at_most(environ["wsgi.input"], self.limit + 1)
            if len(body) > self.limit:
                environ[_OVERSIZED] = True
                body = b""
            environ["wsgi.input"] = io.BytesIO(body)
            # the app now sees a framed body: Werkzeug ignores Content-Length beside "chunked"
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            environ.pop("wsgi.input_terminated", None)
        return self.wsgi_app(environ, start_response)


def _read_at_most(stream, size: int) -> bytes:
    """Read from ``stream`` until it ends or ``size`` bytes are read (a read may return less)."""
    parts, left = [], size
    while left > 0:
        part = stream.read(min(left, 64 * 1024))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _refuse_oversized_stream() -> None:
    if request.environ.get(_OVERSIZED):
        abort(413)


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
    title = ERROR_TITLES.get(exc.code or 500, ERROR_TITLE)
    return render_template("error.html", title=title, code=exc.code), exc.code
