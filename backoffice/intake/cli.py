"""``flask zreport voucher``: show the Fortnox voucher a Z-report would become, without a database."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup
from marshmallow import ValidationError

from backoffice.accounts.mapping import MappingIncompleteError
from backoffice.accounts.schemas import mapping_schema
from backoffice.db import now_utc
from backoffice.documents import DocumentError, load_json
from backoffice.integrations.fortnox.schemas import dumps_body, voucher_body
from backoffice.messages import mapping_incomplete_message
from backoffice.messages import zreport as msg
from backoffice.zreport.booking import build_voucher
from backoffice.zreport.schemas import check_intake, zreport_schema
from backoffice.zreport.voucher import NothingToBookError

zreport_cli = AppGroup("zreport", help="Z-reports.")


@zreport_cli.command("voucher")
@click.argument("zreport_file", type=click.File("rb"))
@click.option("--mapping", "mapping_file", type=click.File("rb"), required=True, help="A mapping/v1 JSON file.")
@click.option("--company", "company_name", default="", help="The company name in the voucher text.")
def voucher(zreport_file, mapping_file, company_name: str) -> None:
    """Print the Fortnox voucher body for a Z-report and a mapping.

    The report is judged as the POS API judges it (its VAT must fit its rate, its dates must be
    possible), the mapping as the settings import does (VAT on BAS 2610–2639 only). Exits 1 when the
    report or the mapping is invalid, 2 when the mapping lacks an account, 3 when every account nets
    to zero (no voucher to book); the reason goes to standard error.
    """
    zreport = _load(zreport_file, zreport_schema, "Z-report", check=lambda report: check_intake(report, now_utc()))
    mapping = _load(mapping_file, mapping_schema, "mapping")
    try:
        built = build_voucher(zreport, mapping, company_name=company_name)
    except MappingIncompleteError as exc:
        click.echo(mapping_incomplete_message(exc), err=True)
        sys.exit(2)
    except NothingToBookError:
        click.echo(msg.NOTHING_TO_BOOK_CLI, err=True)
        sys.exit(3)
    click.echo(dumps_body(voucher_body(built), indent=2))


def _load(file, schema, what: str, check=None):
    try:
        value = schema.load(load_json(file.read()))
        if check is not None:
            check(value)
        return value
    except DocumentError as exc:
        click.echo(f"Invalid {what}: {exc}", err=True)
    except ValidationError as exc:
        click.echo(f"Invalid {what}:\n" + json.dumps(exc.messages, indent=2, ensure_ascii=False), err=True)
    sys.exit(1)
