"""What every request and response of the back office is held to, whatever the page (issue 14).

- ``safe_next``: the one check of a ``next``/``back`` target. It normalises first (percent-decoding
  until nothing changes) and then allows only a path on this site: no scheme, no host, no userinfo,
  no backslash, no control character or whitespace (Werkzeug drops a tab when it writes
  ``Location``, so ``/<TAB>/evil.example/`` would become ``//evil.example/``; a CR/LF makes
  ``redirect`` raise).
- Every response carries ``Content-Security-Policy: default-src 'self'; frame-ancestors 'none'``,
  ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin``; the templates therefore
  have no inline script or style (they live in ``static/``).
- Behind HTTPS (``PUBLIC_URL`` starts with ``https://``) the session cookie is ``Secure`` and every
  response carries HSTS. ``TRUSTED_PROXIES=n`` wraps the app in Werkzeug's ``ProxyFix`` for ``n``
  reverse proxies, so ``request.remote_addr`` (the login throttle) and ``request.is_secure`` are the
  client's, not the proxy's; without it the ``X-Forwarded-*`` headers are ignored.
- Object ids in URLs are bounded (``MAX_ID`` = 2⁶³ − 1, the largest id either database can hold):
  a larger one is a 404 at routing, never an ``OverflowError`` from the database driver.
- ``company_object``: an object named in a URL is the logged-in user's company's, or a 404 (the
  same answer as a row that does not exist, so nothing tells another company's ids apart).
"""

from __future__ import annotations

from typing import TypeVar
from urllib.parse import unquote, urlsplit

from flask import Flask, Response, abort, request
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from backoffice.db import session

#: The largest id a row can have on SQLite and PostgreSQL (a signed 64-bit integer).
MAX_ID = 2**63 - 1

T = TypeVar("T")

HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None (the caller then uses its default page)."""
    if not target or len(target) > 2000:
        return None
    decoded = target
    for _ in range(5):  # %2525… : decode until stable, but not forever
        once = unquote(decoded)
        if once == decoded:
            break
        decoded = once
    else:
        return None
    if " " in target:
        return None  # a space is sent as %20 or +; a bare one means a hand-made target
    for form in (target, decoded):
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in form):
            return None
        if not form.startswith("/") or form.startswith("//"):
            return None
        parts = urlsplit(form)
        if parts.scheme or parts.netloc:
            return None
    return target


def id_arg(name: str) -> int | None:
    """The id in query parameter ``name``; None when it is absent or empty, a 404 when it names no row
    that can exist (not a number, 0, or beyond ``MAX_ID``)."""
    text = request.args.get(name, "")
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= MAX_ID:
        abort(404)
    return int(text)


def company_object(model: type[T], object_id: int) -> T:
    """The ``model`` row ``object_id`` when it belongs to the logged-in user's company, else 404."""
    found = session.get(model, object_id)
    if found is None or found.company_id != current_user.company_id:  # type: ignore[attr-defined]
        abort(404)
    return found


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: at most ``MAX_ID``, so a larger id is a 404."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 (Werkzeug's signature)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Bounded ids (before any blueprint is registered), proxy handling, cookie flags and headers."""
    app.url_map.converters["int"] = IdConverter
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies)
    https = str(app.config.get("PUBLIC_URL") or "").lower().startswith("https://")
    if https:
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if https:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
