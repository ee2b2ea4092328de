"""The back office: a Flask app that books cash-register Z-reports as Fortnox vouchers."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping

from flask import Flask


def create_app(config: Mapping | None = None) -> Flask:
    """Build the app: settings, database, extensions, blueprints, error handlers, commands, worker."""
    app = Flask(__name__, instance_relative_config=True)
    _load_settings(app, config)
    _init_logging(app)
    _init_database(app)
    _init_extensions(app)
    _init_security(app)
    _register_blueprints(app)
    _register_error_handlers(app)
    _register_commands(app)
    _start_embedded_services(app)
    return app


def _load_settings(app: Flask, config: Mapping | None) -> None:
    from backoffice.config import load_settings

    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024  # the POS contract's 1 MiB
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # A config dict (tests) is complete by itself: the environment is not read then.
    environ = os.environ if config is None else {}
    app.config.update(load_settings(app.instance_path, environ, overrides=config))


def _init_logging(app: Flask) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # One line a second from the worker's tick says nothing; its own jobs log what they do.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, _RedactSecrets) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(_RedactSecrets())


class _RedactSecrets(logging.Filter):
    """Access logs show request lines: never let an OAuth code or state through to a log file."""

    _PATTERN = re.compile(r"\b(code|state|token|refresh_token|access_token)=[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._PATTERN.sub(r"\1=[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def _init_database(app: Flask) -> None:
    from backoffice import db

    db.init_app(app)


def _init_extensions(app: Flask) -> None:
    from backoffice.companies import auth

    auth.init_app(app)


def _init_security(app: Flask) -> None:
    from backoffice import security

    security.init_app(app)  # before the blueprints: it bounds the ids of their routes


def _register_blueprints(app: Flask) -> None:
    from backoffice.companies.auth import csrf
    from backoffice.companies.views import bp as companies_bp
    from backoffice.correction.views import bp as correction_bp
    from backoffice.export.views import bp as export_bp
    from backoffice.intake.api import bp as zreport_api_bp
    from backoffice.intake.views import bp as zreport_bp
    from backoffice.mail.views import bp as mail_bp
    from backoffice.overview.views import bp as overview_bp
    from backoffice.reconcile.views import bp as reconcile_bp
    from backoffice.settings.accounts import bp as accounts_bp
    from backoffice.settings.connect import bp as fortnox_bp
    from backoffice.settings.views import bp as integrations_bp

    # The POS API authenticates every request by its bearer token; cookies play no part, so CSRF
    # protection (for the browser's forms) does not apply there.
    csrf.exempt(zreport_api_bp)
    app.register_blueprint(zreport_api_bp)
    app.register_blueprint(companies_bp)
    app.register_blueprint(fortnox_bp)
    app.register_blueprint(integrations_bp)
    # The export blueprint also puts the problem banners into every page (a context processor).
    app.register_blueprint(export_bp)
    app.register_blueprint(zreport_bp)
    app.register_blueprint(correction_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(reconcile_bp)
    app.register_blueprint(overview_bp)
    app.register_blueprint(mail_bp)


def _register_error_handlers(app: Flask) -> None:
    from backoffice import errors

    errors.init_app(app)


def _register_commands(app: Flask) -> None:
    from backoffice.cli import db_cli
    from backoffice.companies.cli import companies_cli, registers_cli, users_cli
    from backoffice.correction import cli as correction_cli  # noqa: F401  (adds `export correct`)
    from backoffice.demo import demo_cli
    from backoffice.export.cli import export_cli
    from backoffice.intake.cli import zreport_cli
    from backoffice.reconcile.cli import reconcile_command, sie_cli
    from backoffice.scheduler import worker_command
    from backoffice.settings.cli import mapping_cli

    for group in (db_cli, companies_cli, users_cli, registers_cli, mapping_cli, zreport_cli, export_cli, demo_cli):
        app.cli.add_command(group)
    app.cli.add_command(worker_command)
    app.cli.add_command(reconcile_command)
    app.cli.add_command(sie_cli)


def _start_embedded_services(app: Flask) -> None:
    """``EMBEDDED_WORKER=1`` (``make run``): the export worker, and the Fortnox emulator when no
    Fortnox client id is configured, run inside this process: a web server's (``flask run``, or a
    WSGI server importing ``wsgi``), never that of another ``flask`` command (``db upgrade``,
    ``demo seed``, ``worker``…), which would export or hold the emulator's port while it runs."""
    if not app.config.get("EMBEDDED_WORKER") or _loaded_by_a_flask_command_other_than_run():
        return
    if app.config.get("FORTNOX_EMULATOR_URL"):
        from backoffice.demo import start_embedded_emulator

        start_embedded_emulator(app)
    from backoffice.scheduler import start_embedded

    start_embedded(app)


def _loaded_by_a_flask_command_other_than_run() -> bool:
    import click

    context = click.get_current_context(silent=True)
    # ``flask run`` loads the app inside its own command; every other command's app is loaded while
    # the ``flask`` group looks the command up, so the current command is the group.
    return context is not None and context.command.name != "run"
