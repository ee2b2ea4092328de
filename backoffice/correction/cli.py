"""``flask export correct``: Rätta dag from the command line, with the preview first."""

from __future__ import annotations

import json
import time
from datetime import date

import click
from flask import current_app

from backoffice.cli import company_by_name
from backoffice.correction.operations import CorrectionError, Preview, preview, run_progress, start_correction
from backoffice.correction.tasks import run_due_corrections
from backoffice.db import business_today, session
from backoffice.export.cli import export_cli
from backoffice.export.tasks import run_due_jobs
from backoffice.messages.correction import (
    attention_message,
    confirm_question,
    input_message,
    locked_message,
    preview_change_line,
    preview_day_line,
    preview_summary,
    result_message,
)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise click.ClickException(input_message("invalid_date", {"text": text})) from None


def echo_preview(result: Preview) -> None:
    for day in result.days:
        record = day.record
        click.echo(preview_day_line(record.business_date, day.register, record.z_number, day.current.name,
                                    day.booking_date))
        if day.locked_through:
            click.echo(f"    {locked_message(day.locked_through, day.booking_date)}")
        for change in day.changes:
            click.echo(preview_change_line(change.account, change.cost_center, change.before, change.after,
                                           change.change))
    for item in result.attention:
        click.echo(f"{item.record.business_date}  {item.register} Z{item.record.z_number}  "
                   f"{attention_message(item.code, item.detail)}")
    click.echo(preview_summary(len(result.days), result.unchanged))


@export_cli.command("correct")
@click.option("--company", "company_name", required=True)
@click.option("--from", "date_from", required=True, help="The first business day, YYYY-MM-DD.")
@click.option("--to", "date_to", required=True, help="The last business day, YYYY-MM-DD.")
@click.option("--why", default=None, help="Why the days are corrected (goes into the reversal's Comments).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print the preview as JSON (and post nothing without --yes).")
@click.option("--timeout", default=600, show_default=True, help="Seconds to wait for the corrections.")
def correct(company_name: str, date_from: str, date_to: str, why: str | None, yes: bool, as_json: bool,
            timeout: int) -> None:
    """Rätta dag: correct booked days with a reversal and a new voucher each, after a preview."""
    company = company_by_name(company_name)
    first, last = _day(date_from), _day(date_to)
    today = business_today()
    try:
        result = preview(session, company, first, last, today=today)
    except CorrectionError as exc:
        raise click.ClickException(input_message(exc.code, exc.detail)) from None
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        echo_preview(result)
    if not result.days:
        return
    if not yes:
        if as_json:
            return
        click.confirm(confirm_question(len(result.days), company.name), abort=True)
    try:
        run = start_correction(session, company, first, last, actor="cli", why=why, today=today)
    except CorrectionError as exc:
        raise click.ClickException(input_message(exc.code, exc.detail)) from None
    session.commit()
    app = current_app._get_current_object()
    deadline = time.monotonic() + timeout
    progress = run_progress(session, run)
    while not progress.finished and time.monotonic() < deadline:
        run_due_corrections(app)
        session.commit()
        progress = run_progress(session, run)
        if not progress.finished:
            time.sleep(1)
    run_due_jobs(app)  # the new vouchers' Z-report PDFs (the export's attachment step)
    session.commit()
    progress = run_progress(session, run)
    if not as_json:
        click.echo(result_message(progress.done, progress.blocked, progress.failed, progress.pending))
    if progress.blocked or progress.failed or progress.pending:
        raise SystemExit(1)
