"""``flask reconcile`` (Avstämning of a month against Fortnox) and ``flask sie export``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import click
from flask.cli import AppGroup

from backoffice.cli import company_by_name
from backoffice.db import business_today, now_utc, session
from backoffice.export.tasks import worker_name
from backoffice.messages import finding_message, reconcile_error_message
from backoffice.messages import reconcile as msg
from backoffice.reconcile.models import ReconcileRun, RunState
from backoffice.reconcile.operations import ReconcileError, execute_run, month_sie, parse_month, public_json, start_run

#: How long the command waits for a worker that took its run first.
BUSY_WAIT_SECONDS = 60

def _month_or_fail(text: str):
    try:
        return parse_month(text)
    except ReconcileError as exc:
        raise click.BadParameter(reconcile_error_message(exc.code, exc.detail), param_hint="--month") from None


@click.command("reconcile")
@click.option("--company", "company_name", required=True)
@click.option("--month", "month_text", required=True, help="YYYY-MM")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: month, days, findings.")
def reconcile_command(company_name: str, month_text: str, as_json: bool) -> None:
    """Avstämning: read a month's vouchers back from Fortnox and check every Z-report is booked once."""
    company = company_by_name(company_name)
    month = _month_or_fail(month_text)
    try:
        run = start_run(session, company, month, actor="cli")
        session.commit()
    except ReconcileError as exc:
        raise click.ClickException(reconcile_error_message(exc.code, exc.detail)) from None
    run_id, deadline = run.id, time.monotonic() + BUSY_WAIT_SECONDS
    while True:
        execute_run(session, run_id, worker=worker_name(), now=now_utc())
        session.expire_all()
        run = session.get(ReconcileRun, run_id)
        if run.state in (RunState.DONE, RunState.FAILED):
            break
        # A worker took this run first: wait for it to finish.
        if time.monotonic() > deadline:
            raise click.ClickException(msg.BUSY)
        time.sleep(1)
    if run.state != RunState.DONE:
        raise click.ClickException(reconcile_error_message(run.error_code or "", run.error_data))
    answer = public_json(run.result_data)
    if as_json:
        click.echo(json.dumps(answer, ensure_ascii=False, indent=2))
        return
    for day in answer["days"]:
        z = f"Z{day['z_number']}" if day["z_number"] else ""
        click.echo(f"{day['business_date']}  {day['register_id']:>6} {z:<8} {msg.DAY_STATES_CLI[day['state']]:<18} "
                   f"{', '.join(day['vouchers'])}")
    click.echo(msg.findings_count(len(answer["findings"])))
    for finding in run.result_data["findings"]:
        click.echo(f"- {finding_message(finding['kind'], finding)}")


sie_cli = AppGroup("sie", help="SIE files for accounting programs other than Fortnox.")


@sie_cli.command("export")
@click.option("--company", "company_name", required=True)
@click.option("--month", "month_text", required=True, help="YYYY-MM")
@click.option("--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The file to write (type 4I files get the extension .SI).")
def sie_export(company_name: str, month_text: str, output: Path) -> None:
    """Write a month's Z-reports as a SIE 4I file, booked with today's mapping (no Fortnox needed)."""
    company = company_by_name(company_name)
    month = _month_or_fail(month_text)
    try:
        data = month_sie(session, company, month, today=business_today())
    except ReconcileError as exc:
        raise click.ClickException(reconcile_error_message(exc.code, exc.detail)) from None
    # Written beside the target and moved into place: a failure never leaves half a file.
    partial = output.with_name(output.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, output)
    click.echo(msg.sie_written(output, data.count(b"#VER ")))
