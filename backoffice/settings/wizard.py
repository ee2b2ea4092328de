"""The steps of the Fortnox settings wizard: each step's page, what its form saves, and the preview.

The wizard follows OPEN Two's "Aktivera integrationen": BOKFÖRING, access to Fortnox (OK sends
the admin to Fortnox's consent page), start date, voucher series, accounts for payment methods,
VAT rates, product groups and other events, a preview of a voucher, and OK. Every step is a page
with a form; NÄSTA saves the step into the company's mapping (empty parts are allowed until the
end), so a reload or an "Åtgärda detta" link resumes exactly there. The last step checks that
every part seen in the company's Z-reports has an account, then activates the integration.

The routes are in ``backoffice.settings.views``; each calls the handler of its step here.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask import current_app, flash, redirect, render_template, request, url_for
from flask import session as cookie
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import SelectChoice

from backoffice.accounts.defaults import (
    ACCOUNT_LABELS,
    OTHER_ACCOUNTS,
    PAYMENT_METHOD_ACCOUNTS,
    SALES_ACCOUNTS_BY_VAT_RATE,
    VAT_RATE_ACCOUNTS,
)
from backoffice.accounts.fields import (
    ACCOUNT_STEPS,
    OTHER_PARTS,
    AccountInputError,
    field_for_missing,
    field_label,
    mapped_fields,
    other_key,
    parse_account,
    parse_field_key,
    payment_key,
    sales_key,
    vat_key,
)
from backoffice.accounts.mapping import (
    Mapping,
    MappingIncompleteError,
    MissingAccount,
    SalesRule,
    is_output_vat_account,
)
from backoffice.accounts.operations import save_mapping
from backoffice.companies.models import Company
from backoffice.correction.operations import changed_days
from backoffice.db import business_today, session
from backoffice.export.models import ExportJob, ExportState, Problem
from backoffice.export.problems import unblock_jobs
from backoffice.export.reasons import Reason
from backoffice.integrations.fortnox.lists import (
    FortnoxUnavailable,
    chart_read_at,
    fortnox_accounts,
    fortnox_last_booked_day,
    fortnox_series,
)
from backoffice.integrations.fortnox.models import ConnectionStatus, FortnoxConnection
from backoffice.messages import (
    activation_message,
    describe_missing_account,
    mapping_incomplete_message,
    vat_account_message,
)
from backoffice.messages import integrations as msg
from backoffice.messages.correction import changed_days_hint
from backoffice.money import ZERO
from backoffice.scheduler import wake
from backoffice.settings.forms import (
    STEP_TITLES,
    STEPS,
    ChooseIntegrationForm,
    NewAccountForm,
    SeriesForm,
    StartDateForm,
)
from backoffice.settings.operations import activate, integration_for
from backoffice.zreport.booking import build_voucher
from backoffice.zreport.models import ZReportRecord
from backoffice.zreport.seen import SeenParts, seen_parts
from backoffice.zreport.voucher import NothingToBookError, is_result_account

#: The series offered when the company has none for the cash register (Loco: "F - Kassa").
CASH_SERIES = ("F", "Kassa")
#: The key of the signed session cookie that carries "N exporterade dagar bokförs annorlunda" to the next page.
CORRECTION_HINT = "correction_hint"


# --- the wizard: plumbing -------------------------------------------------------------------------


def empty_mapping_for(company: Company) -> Mapping:
    """A mapping with nothing chosen yet; registers keep the cost centres they have."""
    cost_centres = {r.pos_id: r.cost_center for r in company.registers if r.cost_center}
    return Mapping(voucher_series="", payment_methods={}, vat_rates={}, sales=(), cost_centres=cost_centres)


def connected(integration) -> FortnoxConnection | None:
    connection = integration.connection if integration is not None else None
    if connection is None or connection.status != ConnectionStatus.ACTIVE:
        return None
    return connection


def step_url(step: str, **query) -> str:
    return url_for("integrations.wizard", step=step, **query)


def _next_step(step: str) -> str:
    return STEPS[STEPS.index(step) + 1]


def _save(company: Company, mapping: Mapping, next_step: str):
    """Save the mapping as it stands after a step, remember the step, and unblock what it fixed
    (``unblock_jobs`` also applies a moved start date)."""
    save_mapping(session, company, mapping, actor=current_user.email)
    integration = integration_for(session, company)
    integration.wizard_step = next_step
    session.commit()
    unblock_jobs(session, company)
    changed = changed_days(session, company, business_today())  # "12 exporterade dagar bokförs annorlunda …"
    if changed.count:
        # Shown once, on the next page of the wizard, with its Rätta dagarna button (like a flash).
        cookie[CORRECTION_HINT] = {"count": changed.count, "fran": changed.date_from.isoformat(),
                                   "till": changed.date_to.isoformat()}
    else:
        cookie.pop(CORRECTION_HINT, None)
    return redirect(step_url(next_step))


def correction_hint() -> dict | None:
    """The hint the last save left, once: its sentence and the range its Rätta dagarna button previews."""
    hint = cookie.pop(CORRECTION_HINT, None)
    if not hint:
        return None
    first, last = date.fromisoformat(hint["fran"]), date.fromisoformat(hint["till"])
    return {"sentence": changed_days_hint(hint["count"], first, last),
            "url": url_for("correction.show", fran=hint["fran"], till=hint["till"])}


def _render(step: str, integration, status: int = 200, **context):
    reached = STEPS.index(integration.wizard_step) if integration and integration.wizard_step in STEPS else 0
    return (
        render_template(
            f"integrations/wizard/{'accounts' if step in ACCOUNT_STEPS else step}.html",
            step=step,
            steps=STEPS,
            titles=STEP_TITLES,
            reached=max(reached, STEPS.index(step)),
            integration=integration,
            previous=STEPS[STEPS.index(step) - 1] if STEPS.index(step) > 0 else None,
            correction_hint=correction_hint(),
            **context,
        ),
        status,
    )


# --- the wizard: steps ----------------------------------------------------------------------------


def _step_choose(step, company, integration, connection, mapping):
    form = ChooseIntegrationForm()
    if form.validate_on_submit():
        integration = integration_for(session, company)
        integration.wizard_step = "behorighet"
        session.commit()
        return redirect(step_url("behorighet"))
    if request.method == "GET":
        form.kind.data = "bokforing" if integration is not None and integration.wizard_step else None
    return _render(step, integration, 400 if request.method == "POST" else 200, form=form)


def _step_access(step, company, integration, connection, mapping):
    if request.method == "POST":
        if connection is None:
            flash(msg.PRESS_OK_FIRST, "error")
            return redirect(step_url(step))
        integration.wizard_step = "startdatum"
        session.commit()
        return redirect(step_url("startdatum"))
    connect_url = url_for("fortnox.connect_start", next=step_url(step))
    return _render(step, integration, connection=connection, connect_url=connect_url)


def _step_start_date(step, company, integration, connection, mapping):
    """Startdatum, required. Without one the wizard proposes the day after the last day already
    booked in Fortnox (the latest voucher of its current financial year), when it can see one, so
    that days booked by hand or by another integration are not booked twice."""
    form = StartDateForm()
    if form.validate_on_submit():
        return _save(company, dataclasses.replace(mapping, start_date=form.start_date.data), _next_step(step))
    last_booked = None
    if connection is not None:
        try:
            last_booked = fortnox_last_booked_day(connection)
        except FortnoxUnavailable:
            last_booked = None
    proposal = last_booked + timedelta(days=1) if last_booked is not None else None
    if request.method == "GET":
        form.start_date.data = mapping.start_date or proposal
    first = session.scalar(select(func.min(ZReportRecord.business_date)).where(ZReportRecord.company_id == company.id))
    return _render(step, integration, 400 if request.method == "POST" else 200, form=form, first_report=first,
                   last_booked=last_booked, proposal=proposal)


def _step_series(step, company, integration, connection, mapping):
    form = SeriesForm()
    error = None
    try:
        # The step that fixes a missing or non-manual series: what it lists is read from Fortnox now
        # (two calls from the tenant's budget), never a deleted series from a minute ago.
        series = fortnox_series(connection, fresh=True)
    except FortnoxUnavailable as exc:
        series, error = None, exc
    form.series.choices = [SelectChoice(s.code) for s in series or []]
    if request.method == "POST" and series is not None and form.validate_on_submit():
        chosen = next((s for s in series if s.code == form.series.data), None)
        if chosen is None:
            form.series.errors = [msg.CHOOSE_LISTED_SERIES]
        elif not chosen.manual:
            form.series.errors = [msg.SERIES_NOT_MANUAL]
        else:
            return _save(company, dataclasses.replace(mapping, voucher_series=chosen.code), _next_step(step))
    elif request.method == "GET":
        form.series.data = mapping.voucher_series or None
    has_cash_series = series is not None and any(s.code == CASH_SERIES[0] for s in series)
    status = 400 if request.method == "POST" else 200
    return _render(
        step,
        integration,
        status,
        form=form,
        series=series,
        fortnox_error=error,
        offer_cash_series=series is not None and not has_cash_series,
        cash_series=CASH_SERIES,
        read_at=chart_read_at(connection),
    )


@dataclass(slots=True)
class AccountRow:
    """One account field of an account step."""

    key: str
    label: str
    value: int | None
    raw: str = ""
    used: bool = False
    hint: str | None = None
    suggestion: int | None = None
    error: str | None = None
    #: an explanation where accountants disagree (``account_advice``), and whether it is a warning
    advice: str | None = None
    warning: bool = False

    @property
    def html_id(self) -> str:
        # Field keys may hold spaces (product groups): an id must not.
        return "f-" + hashlib.sha1(self.key.encode("utf-8")).hexdigest()[:12]

    @property
    def suggestion_label(self) -> str:
        return ACCOUNT_LABELS.get(self.suggestion, "") if self.suggestion else ""


def _row(key: str, value: int | None, used: bool, suggestion: int | None, hint: str | None = None,
         label: str | None = None) -> AccountRow:
    """One account field, named by its key (``accounts.fields.field_label``) unless ``label`` is given."""
    return AccountRow(key, label or field_label(key), value, used=used, hint=hint, suggestion=suggestion)


def account_rows(step: str, mapping: Mapping, seen: SeenParts) -> list[AccountRow]:
    """The fields of an account step: what the reports hold plus what is mapped already."""
    kind = ACCOUNT_STEPS[step]
    if kind == "payment_method":
        methods = sorted(set(seen.payment_methods) | set(mapping.payment_methods))
        return [_row(payment_key(m), mapping.payment_methods.get(m), seen.payment_methods.get(m, False),
                     PAYMENT_METHOD_ACCOUNTS.get(m)) for m in methods]
    if kind == "vat_rate":
        rates = sorted({r for r, used in seen.vat_rates.items() if used} | set(mapping.vat_rates), reverse=True)
        return [_row(vat_key(r), mapping.vat_rates.get(r), seen.vat_rates.get(r, False), VAT_RATE_ACCOUNTS.get(r))
                for r in rates]
    if kind == "sales":
        exact = {(rule.product_group, rule.vat_rate) for rule in mapping.sales}
        rows = [
            _row(sales_key(rule.product_group, rule.vat_rate), rule.account,
                 seen.sales.get((rule.product_group, rule.vat_rate), False),
                 SALES_ACCOUNTS_BY_VAT_RATE.get(rule.vat_rate) if rule.vat_rate is not None else None)
            for rule in mapping.sales
        ]
        for (group, rate), used in sorted(seen.sales.items(), key=lambda item: (item[0][0], -item[0][1])):
            if (group, rate) not in exact:
                covered = mapping.sales_account(group, rate)
                rows.append(_row(sales_key(group, rate), None, used, SALES_ACCOUNTS_BY_VAT_RATE.get(rate),
                                 msg.covered_by_general_rule(covered) if covered else None))
        return rows
    return [_row(other_key(part), getattr(mapping, part), seen.other.get(part, False), OTHER_ACCOUNTS.get(part),
                 label=name) for part, name in OTHER_PARTS.items()]


#: Product groups a register names gift cards by: sold as a 0 % article, they are not sales.
_GIFT_CARD_WORDS = ("presentkort", "gåvokort", "giftcard", "gift card", "gift_card", "voucher")


def _is_gift_card_group(group: str | None) -> bool:
    name = (group or "").casefold()
    return any(word in name for word in _GIFT_CARD_WORDS)


def account_advice(key: str, account: int | None) -> tuple[str | None, bool, int | None]:
    """What the wizard explains about a field where accountants disagree: (text, is a warning,
    account to suggest instead). docs/domain.md is the ground; docs/ARCHITECTURE.md says what was
    chosen where it is silent.
    """
    field = parse_field_key(key)
    if field is None:
        return None, False, None
    if field.kind == "sales" and field.vat_rate == 0 and _is_gift_card_group(field.product_group):
        # domain.md, gift cards (flerfunktionsvoucher): "a sale credits 2421 with no VAT … VAT arises
        # when the gift card is spent".
        return msg.GIFT_CARD_ADVICE, account is not None and account != 2421, 2421
    if field.kind == "payment_method" and (field.key or "").casefold() in ("invoice", "faktura"):
        # domain.md: Trivec via Omniboost needs a balance account for payments on invoice.
        return msg.INVOICE_ADVICE, False, 1510
    if field.kind == "payment_method" and account is not None:
        if 7000 <= account <= 7999:
            return msg.cost_account_advice(account), False, None
        if 3000 <= account <= 3999:
            return msg.sales_account_advice(account), True, None
        if is_result_account(account):
            return msg.result_account_advice(account), True, None
    return None, False, None


def _advise(rows: list[AccountRow]) -> None:
    for row in rows:
        row.advice, row.warning, better = account_advice(row.key, row.value)
        if better is not None:
            row.suggestion = better


def _apply_rows(step: str, mapping: Mapping, rows: list[AccountRow]) -> Mapping:
    """The mapping with this step's part replaced by what the fields say."""
    chosen = [(row, row.value) for row in rows if row.value is not None]
    kind = ACCOUNT_STEPS[step]
    if kind == "payment_method":
        return dataclasses.replace(mapping, payment_methods={parse_field_key(r.key).key: a for r, a in chosen})
    if kind == "vat_rate":
        return dataclasses.replace(mapping, vat_rates={parse_field_key(r.key).vat_rate: a for r, a in chosen})
    if kind == "sales":
        rules = []
        for row, account in chosen:
            key = parse_field_key(row.key)
            rules.append(SalesRule(account, key.product_group, key.vat_rate))
        return dataclasses.replace(mapping, sales=tuple(rules))
    return dataclasses.replace(mapping, **{parse_field_key(r.key).key: r.value for r in rows})


def _check_account(number: int, accounts: dict[int, tuple[str, bool]] | None) -> str | None:
    if accounts is None:
        return None
    known = accounts.get(number)
    if known is None:
        return msg.account_not_in_fortnox(number)
    if not known[1]:
        return msg.account_inactive(number)
    return None


def _accounts_refused_in_other_years(company: Company) -> dict[int, str]:
    """Accounts an open problem calls inactive or missing in another financial year's chart than
    today's (what the banner says, so the field says it too): number → the field's sentence."""
    found = {}
    for problem in session.scalars(select(Problem).where(
            Problem.company_id == company.id, Problem.closed_at.is_(None),
            Problem.kind.in_([Reason.ACCOUNT_INACTIVE, Reason.ACCOUNT_MISSING]))):
        detail = problem.details
        if detail.get("account") and detail.get("financial_year"):
            found[int(detail["account"])] = msg.account_unusable_in_year(
                detail["account"], problem.kind == Reason.ACCOUNT_INACTIVE, detail["financial_year"])
    return found


def _vat_account_error(row: AccountRow) -> str | None:
    """A VAT rate must be booked on output VAT, BAS 2610–2639 (mapping-v1.md ``vat_rates``)."""
    field = parse_field_key(row.key)
    if field is None or field.kind != "vat_rate" or row.value is None or is_output_vat_account(row.value):
        return None
    return vat_account_message(field.vat_rate, row.value)


def _step_accounts(step, company, integration, connection, mapping):
    seen = seen_parts(company, mapping.start_date)
    rows = account_rows(step, mapping, seen)
    fortnox_error = None
    try:
        # A deep link (``field``) comes from a problem's fix: judge its accounts as Fortnox has them now.
        accounts = fortnox_accounts(connection, fresh=request.method == "POST" or "las-om" in request.args
                                    or "field" in request.args)
    except FortnoxUnavailable as exc:
        accounts, fortnox_error = None, exc
    if request.method == "POST":
        for row in rows:
            row.raw = request.form.get(row.key, "")
            try:
                row.value = parse_account(row.raw)
            except AccountInputError:
                row.error = msg.BAD_ACCOUNT_NUMBER
                continue
            if row.value is not None:
                row.error = _vat_account_error(row) or _check_account(row.value, accounts)
        if not any(row.error for row in rows):
            return _save(company, _apply_rows(step, mapping, rows), _next_step(step))
    else:
        other_years = _accounts_refused_in_other_years(company)
        for row in rows:
            row.raw = "" if row.value is None else str(row.value)
            if row.value is not None:
                row.error = (_vat_account_error(row) or _check_account(row.value, accounts)
                             or other_years.get(row.value))
    _advise(rows)
    focus = request.args.get("field")
    status = 400 if request.method == "POST" else 200
    return _render(
        step,
        integration,
        status,
        rows=rows,
        accounts=accounts,
        fortnox_error=fortnox_error,
        focus=focus,
        kind=ACCOUNT_STEPS[step],
        start_date=mapping.start_date,
        new_account_form=NewAccountForm(formdata=None),
        read_at=chart_read_at(connection),
    )


@dataclass(frozen=True, slots=True)
class PreviewRow:
    account: int
    name: str
    debit: Decimal
    credit: Decimal
    cost_center: str | None


def _step_preview(step, company, integration, connection, mapping):
    seen = seen_parts(company, mapping.start_date)
    problems: list[tuple[str, str | None]] = []  # (sentence, link to the field that fixes it)
    try:
        accounts = fortnox_accounts(connection, fresh=request.method == "POST" or "las-om" in request.args)
    except FortnoxUnavailable as exc:
        accounts = None
        problems.append((exc.message, None))
    if mapping.start_date is None:
        problems.append((msg.NO_START_DATE, step_url("startdatum")))
    if not mapping.voucher_series:
        problems.append((msg.CHOOSE_SERIES, step_url("serie")))
    missing = missing_parts(mapping, seen)
    for part in missing:
        field = field_for_missing(part)
        problems.append(
            (msg.account_missing_for(describe_missing_account(part)), step_url(parse_field_key(field).step, field=field))
        )
    for key, number in mapped_fields(mapping):
        error = _check_account(number, accounts)
        if error:
            problems.append((error, step_url(parse_field_key(key).step, field=key)))
    summary = None if integration is not None and integration.active else activation_summary(company, mapping)
    if request.method == "POST" and not problems:
        integration = integration_for(session, company)
        was_active = integration.active
        integration.wizard_step = "klar"
        if not was_active:
            activate(session, company)
        session.commit()
        unblock_jobs(session, company)
        wake(current_app._get_current_object())
        return redirect(step_url("klar", saved=1) if was_active else step_url("klar"))
    record = session.scalar(
        select(ZReportRecord)
        .where(ZReportRecord.company_id == company.id)
        .order_by(ZReportRecord.business_date.desc(), ZReportRecord.id.desc())
        .limit(1)
    )
    preview_rows, preview_error, description = [], None, None
    if record is not None:
        try:
            voucher = build_voucher(record.to_report(), mapping, company_name=company.name)
        except MappingIncompleteError as exc:
            preview_error = mapping_incomplete_message(exc)
        except NothingToBookError:
            preview_error = msg.PREVIEW_NOTHING_TO_BOOK
        else:
            description = voucher.description
            names = {n: d for n, (d, _) in (accounts or {}).items()}
            preview_rows = [
                PreviewRow(
                    r.account,
                    names.get(r.account) or ACCOUNT_LABELS.get(r.account, ""),
                    r.debit,
                    r.credit,
                    r.cost_center,
                )
                for r in voucher.rows
            ]
    status = 400 if request.method == "POST" else 200
    return _render(
        step,
        integration,
        status,
        record=record,
        preview_rows=preview_rows,
        preview_error=preview_error,
        description=description,
        problems=problems,
        total_debit=sum((r.debit for r in preview_rows), ZERO),
        total_credit=sum((r.credit for r in preview_rows), ZERO),
        mapping=mapping,
        summary=summary,
        next_label=msg.NEXT if summary is None else msg.ACTIVATE_AND_EXPORT,
        read_at=chart_read_at(connection),
    )


def activation_summary(company: Company, mapping: Mapping) -> str:
    """What activating is about to do, said before it is done: the stored reports from the start date
    on that are not in Fortnox yet, and the series they are booked in."""
    conditions = [ZReportRecord.company_id == company.id]
    if mapping.start_date is not None:
        conditions.append(ZReportRecord.business_date >= mapping.start_date)
    exported = select(ExportJob.zreport_id).where(
        ExportJob.company_id == company.id, ExportJob.state == ExportState.EXPORTED
    )
    count, first, last = session.execute(
        select(func.count(), func.min(ZReportRecord.business_date), func.max(ZReportRecord.business_date))
        .where(*conditions, ZReportRecord.id.not_in(exported))
    ).one()
    return activation_message(count, first, last, mapping.voucher_series, mapping.start_date)


def _step_done(step, company, integration, connection, mapping):
    if integration is None or not integration.active:
        return redirect(step_url("forhandsgranskning"))
    if request.method == "POST":
        return redirect(url_for("integrations.index"))
    return _render(step, integration, saved=bool(request.args.get("saved")))


def missing_parts(mapping: Mapping, seen: SeenParts) -> list[MissingAccount]:
    """Every part the reports hold with an amount and the mapping has no account for (booking's rules)."""
    missing = [
        MissingAccount("payment_method", m)
        for m, used in seen.payment_methods.items()
        if used and mapping.account_for_payment(m) is None
    ]
    missing += [
        MissingAccount("vat_rate", vat_rate=r)
        for r, used in seen.vat_rates.items()
        if used and mapping.vat_account(r) is None
    ]
    missing += [
        MissingAccount("sales", g, r)
        for (g, r), used in seen.sales.items()
        if used and mapping.sales_account(g, r) is None
    ]
    missing += [MissingAccount(part) for part, used in seen.other.items() if used and getattr(mapping, part) is None]
    return sorted(set(missing), key=MissingAccount.sort_key)


def step_handler(step: str):
    """The function that answers the page of ``step``."""
    return {
        "bokforing": _step_choose,
        "behorighet": _step_access,
        "startdatum": _step_start_date,
        "serie": _step_series,
        "forhandsgranskning": _step_preview,
        "klar": _step_done,
    }.get(step, _step_accounts)
