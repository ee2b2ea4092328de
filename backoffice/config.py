"""Settings of the back office, read once inside ``create_app`` (never at import time).

``load_settings`` returns a plain dict: defaults, then typed environment variables, then the
secrets generated into the instance folder for a first start. Tests pass their own dict to
``create_app`` instead.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet

#: Fortnox's public endpoints (docs/fortnox/api-facts.md §4); overridable for the emulator.
FORTNOX_DEFAULTS = {
    "FORTNOX_AUTH_URL": "https://apps.fortnox.se/oauth-v1/auth",
    "FORTNOX_TOKEN_URL": "https://apps.fortnox.se/oauth-v1/token",
    "FORTNOX_REVOKE_URL": "https://apps.fortnox.se/oauth-v1/revoke",
    "FORTNOX_API_URL": "https://api.fortnox.se/3",
}

#: How long a starting process waits for a secret file another process has created but not yet filled.
SECRET_WAIT = 10.0

_TRUE = {"1", "true", "yes", "on"}


def load_settings(
    instance_path: str | Path, environ: Mapping[str, str] = os.environ, overrides: Mapping | None = None
) -> dict:
    """Return the settings for an app whose instance folder is ``instance_path``.

    ``overrides`` (a test's config dict) win over the environment, and a secret given there is
    not generated into the instance folder.
    """
    instance = Path(instance_path)
    overrides = overrides or {}
    settings: dict = {
        "DATABASE_URL": environ.get("DATABASE_URL") or f"sqlite:///{instance / 'backoffice.db'}",
        "SECRET_KEY": overrides.get("SECRET_KEY")
        or environ.get("SECRET_KEY")
        or _instance_secret(instance / "secret_key", _hex_secret),
        "TOKEN_ENCRYPTION_KEY": overrides.get("TOKEN_ENCRYPTION_KEY")
        or environ.get("TOKEN_ENCRYPTION_KEY")
        or _instance_secret(instance / "token_encryption_key", _fernet_key),
        "FORTNOX_CLIENT_ID": environ.get("FORTNOX_CLIENT_ID") or None,
        "FORTNOX_CLIENT_SECRET": environ.get("FORTNOX_CLIENT_SECRET") or None,
        "EMBEDDED_WORKER": environ.get("EMBEDDED_WORKER", "").lower() in _TRUE,
        "DEMO_DATA": environ.get("DEMO_DATA", "").lower() in _TRUE,
        "PUBLIC_URL": environ.get("PUBLIC_URL") or None,
        "TRUSTED_PROXIES": int(environ.get("TRUSTED_PROXIES") or 0),
    }
    for key, default in FORTNOX_DEFAULTS.items():
        settings[key] = environ.get(key) or default
    settings["EXPORT_CONCURRENCY"] = int(environ.get("EXPORT_CONCURRENCY") or 8)
    settings["LOGIN_CLIENT_LIMIT"] = int(environ.get("LOGIN_CLIENT_LIMIT") or 20)
    settings.update(_mail_settings(environ))
    if not settings["FORTNOX_CLIENT_ID"] and not overrides.get("FORTNOX_CLIENT_ID"):
        _use_emulator(settings, environ.get("FORTNOX_EMULATOR_URL") or "http://127.0.0.1:5050")
    settings.update(overrides)
    return settings


def _mail_settings(environ: Mapping[str, str]) -> dict:
    """SMTP for the e-mails of ``backoffice.mail``; without ``SMTP_HOST`` no mail is sent at all."""
    starttls = environ.get("SMTP_STARTTLS")
    port = environ.get("SMTP_PORT")
    return {
        "SMTP_HOST": environ.get("SMTP_HOST") or None,
        # 587 (submission, STARTTLS) unless STARTTLS is turned off; then plain 25.
        "SMTP_PORT": int(port) if port else (25 if starttls is not None and starttls.lower() not in _TRUE else 587),
        "SMTP_USERNAME": environ.get("SMTP_USERNAME") or None,
        "SMTP_PASSWORD": environ.get("SMTP_PASSWORD") or None,
        "SMTP_STARTTLS": True if starttls is None else starttls.lower() in _TRUE,
        "MAIL_FROM": environ.get("MAIL_FROM") or "BackOffice <noreply@localhost>",
    }


def _use_emulator(settings: dict, url: str) -> None:
    """No Fortnox client id: talk to the Fortnox emulator, with its built-in demo client."""
    settings.update(
        FORTNOX_EMULATOR_URL=url,
        FORTNOX_CLIENT_ID="demo",
        FORTNOX_CLIENT_SECRET="demo-secret",
        FORTNOX_AUTH_URL=f"{url}/oauth-v1/auth",
        FORTNOX_TOKEN_URL=f"{url}/oauth-v1/token",
        FORTNOX_REVOKE_URL=f"{url}/oauth-v1/revoke",
        FORTNOX_API_URL=f"{url}/3",
    )


def _hex_secret() -> str:
    return secrets.token_hex(32)


def _fernet_key() -> str:
    return Fernet.generate_key().decode("ascii")


def _instance_secret(path: Path, make) -> str:
    """Read a secret from the instance folder, generating it (readable by the owner only) on first use.

    Several processes may start at once on an empty instance folder (gunicorn's workers, ``flask
    worker``): each writes its candidate to a temporary file, complete and flushed, and then
    hard-links it to ``path``. A link never replaces a file, so the first process wins and every
    other one reads the winner's secret; and ``path`` never exists half-written. A reader that
    still finds an empty file (one left by an older version) waits for its content.
    """
    value = _read_secret(path)
    if value:
        return value
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(make())
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process was first: its secret is the one
    finally:
        os.unlink(temporary)
    return _wait_for_secret(path)


def _read_secret(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return ""


def _wait_for_secret(path: Path) -> str:
    deadline = time.monotonic() + SECRET_WAIT
    while not (value := _read_secret(path)):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path} is empty: delete it, or set the secret in the environment")
        time.sleep(0.05)
    return value
