"""``flask mapping export|import``: copy a company's chart-of-accounts mapping as mapping/v1 JSON."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup
from marshmallow import ValidationError

from backoffice.accounts.operations import UnknownRegisterError, load_mapping, save_mapping
from backoffice.accounts.schemas import dump_mapping, mapping_schema
from backoffice.cli import company_by_name
from backoffice.db import session
from backoffice.documents import DocumentError, load_json
from backoffice.export.problems import unblock_jobs

mapping_cli = AppGroup("mapping", help="The chart-of-accounts mapping (mapping/v1 JSON).")


@mapping_cli.command("export")
@click.option("--company", "company_name", required=True)
def export_mapping(company_name: str) -> None:
    """Print the company's mapping as mapping/v1 JSON."""
    mapping = load_mapping(session, company_by_name(company_name))
    if mapping is None:
        raise click.ClickException(f"{company_name!r} has no mapping yet")
    click.echo(json.dumps(dump_mapping(mapping), indent=2, ensure_ascii=False))


@mapping_cli.command("import")
@click.option("--company", "company_name", required=True)
@click.argument("file", type=click.File("rb"))
def import_mapping(company_name: str, file) -> None:
    """Replace the company's mapping with the mapping/v1 JSON in FILE ("-" for standard input)."""
    company = company_by_name(company_name)
    try:
        mapping = mapping_schema.load(load_json(file.read()))
        save_mapping(session, company, mapping, actor="cli")
    except DocumentError as exc:
        raise click.ClickException(f"not a mapping/v1 document: {exc}") from exc
    except ValidationError as exc:
        raise click.ClickException("invalid mapping:\n" + json.dumps(exc.messages, indent=2, ensure_ascii=False)) from exc
    except UnknownRegisterError as exc:
        raise click.ClickException(f"cost_centres: {exc}") from exc
    session.commit()
    woken = unblock_jobs(session, company)
    click.echo(f"Imported the mapping of {company.name!r}." + (f" {woken} blocked export(s) will run again." if woken else ""))
