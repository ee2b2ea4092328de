"""Företag → Integrationer: the Fortnox card, and the settings wizard that activates the integration.

The wizard follows OPEN Two's "Aktivera integrationen": BOKFÖRING, access to Fortnox (OK sends
the admin to Fortnox's consent page), start date, voucher series, accounts for payment methods,
VAT rates, product groups and other events, a preview of a voucher, and OK. Every step is a page
with a form; NÄSTA saves the step into the company's mapping (empty parts are allowed until the
end), so a reload or an "Åtgärda detta" link resumes exactly there. The last step checks that
every part seen in the company's Z-reports has an account, then activates the integration.

The wizard lists Fortnox's voucher series and accounts live (the accounts cached for a minute per
connection), and can create an account or the series "F – Kassa" in Fortnox.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import ColumnElement, and_, exists, false, func, literal, not_, or_, select
from wtforms import SelectChoice

from backoffice.accounts.defaults import (
    ACCOUNT_LABELS,
    OTHER_ACCOUNTS,
    PAYMENT_METHOD_ACCOUNTS,
    SALES_ACCOUNTS_BY_VAT_RATE,
    VAT_RATE_ACCOUNTS,
)
from backoffice.accounts.mapping import Mapping, MappingIncompleteError, MissingAccount, SalesRule
from backoffice.accounts.operations import load_mapping, save_mapping
from backoffice.companies.auth import admin_required
from backoffice.companies.models import Company
from backoffice.companies.views import _safe_next as safe_next
from backoffice.db import session
from backoffice.export.engine import integration_of, unblock_jobs
from backoffice.export.views import job_counts, status_light
from backoffice.integrations.forms import (
    ACCOUNT_STEPS,
    OTHER_PARTS,
    STEP_TITLES,
    STEPS,
    AccountInputError,
    ChooseIntegrationForm,
    NewAccountForm,
    SeriesForm,
    StartDateForm,
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
from backoffice.integrations.fortnox.connection import client_for, settings
from backoffice.integrations.fortnox.errors import FortnoxAuthError, FortnoxError
from backoffice.integrations.fortnox.models import ConnectionStatus, FortnoxConnection
from backoffice.integrations.fortnox.operations import activate, deactivate, integration_for
from backoffice.messages import describe_missing_account, mapping_incomplete_message
from backoffice.money import ZERO, canonical_vat_rate
from backoffice.scheduler import wake
from backoffice.zreport.booking import build_voucher
from backoffice.zreport.models import ZReportLine, ZReportPayment, ZReportRecord, ZReportTip
from backoffice.zreport.voucher import NothingToBookError

bp = Blueprint("integrations", __name__, url_prefix="/foretag/integrationer")

#: The series offered when the company has none for the cash register (Loco: "F - Kassa").
CASH_SERIES = ("F", "Kassa")
#: How long a connection's chart of accounts and voucher series are reused between wizard pages
#: (Fortnox allows 25 calls per 5 s per company, shared with the exports).
FORTNOX_LIST_TTL = 60.0

#: (what, connection id) → (when read, the list as the wizard uses it)
_fortnox_lists: dict[tuple[str, int], tuple[float, object]] = {}
_fortnox_lists_lock = threading.Lock()


# --- the card -------------------------------------------------------------------------------------


@bp.get("/")
@login_required
def index():
    company = current_user.company
    integration = integration_of(session, company.id)
    counts = job_counts(company)
    mapping = load_mapping(session, company)
    run_id = request.args.get("run", type=int)
    return render_template(
        "integrations/index.html",
        integration=integration,
        connection=integration.connection if integration else None,
        light=status_light(company, integration, counts),
        counts=counts,
        mapping=mapping,
        run_id=run_id,
    )


@bp.post("/fortnox/inaktivera")
@login_required
def deactivate_fortnox():
    """ "Inaktivera": stop exporting and revoke the authorisation at Fortnox; the history stays."""
    admin_required()
    company = current_user.company
    integration = integration_of(session, company.id)
    if integration is None or (not integration.active and integration.connection is None):
        flash("Integrationen med Fortnox är redan inaktiverad.", "info")
        return redirect(url_for("integrations.index"))
    deactivate(session, company, settings())
    integration.wizard_step = STEPS[0]
    session.commit()
    flash("Integrationen med Fortnox är inaktiverad. Inget mer exporteras; historiken finns kvar.", "info")
    return redirect(url_for("integrations.index"))


# --- what the company's Z-reports contain ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeenParts:
    """The parts of the company's Z-reports that may need an account; True where an amount is not zero."""

    payment_methods: dict[str, bool]
    vat_rates: dict[Decimal, bool]
    sales: dict[tuple[str, Decimal], bool]
    other: dict[str, bool]

    def merge(self, newer: SeenParts) -> SeenParts:
        """What both hold: a part is used if it is used in either."""

        def both(a: dict, b: dict) -> dict:
            return {key: a.get(key, False) or b.get(key, False) for key in a.keys() | b.keys()}

        return SeenParts(
            both(self.payment_methods, newer.payment_methods),
            both(self.vat_rates, newer.vat_rates),
            both(self.sales, newer.sales),
            both(self.other, newer.other),
        )


#: (company id, start date) → (reports counted, highest report id, what they hold). Z-reports are
#: final, so what a company's reports hold only grows: each look aggregates just the reports that
#: arrived since.
_seen_cache: dict[tuple[int, date | None], tuple[int, int, SeenParts]] = {}
_seen_lock = threading.Lock()
#: How many of the newest reports ``_aggregate`` reads whole before it asks the others what they add.
SAMPLE_REPORTS = 20


def seen_parts(company: Company, since: date | None = None) -> SeenParts:
    """What the company's reports from ``since`` on hold: reports before the start date are never
    exported, so what only they hold needs no account."""
    key = (company.id, since)
    reports = _reports_of(company.id, since)
    counted = (func.count(), func.coalesce(func.max(ZReportRecord.id), 0))
    with _seen_lock:
        cached = _seen_cache.get(key)
    if cached is None:
        # The first look (after a restart): the pass that counts the reports reads their amounts too.
        count, last, *amounts = session.execute(select(*counted, *_report_amounts()).where(*reports)).one()
        seen = _aggregate(company.id, since, 0, last, amounts)
    else:
        count, last = session.execute(select(*counted).where(*reports)).one()
        if cached[:2] == (count, last):
            return cached[2]
        after = cached[1]
        newer = _aggregate(company.id, since, after, last)
        if cached[0] + _count(company.id, since, after, last) == count:
            seen = cached[2].merge(newer)
        else:  # a report with a lower id committed late (possible on PostgreSQL): count everything again
            seen = newer if after == 0 else _aggregate(company.id, since, 0, last)
    with _seen_lock:
        _seen_cache[key] = (count, last, seen)
    return seen


def _reports_of(company_id: int, since: date | None) -> tuple:
    conditions = (ZReportRecord.company_id == company_id,)
    return conditions if since is None else (*conditions, ZReportRecord.business_date >= since)


def _within(company_id: int, since: date | None, after: int, upto: int) -> tuple:
    # The bounds are written into the SQL: as parameters of a prepared statement (psycopg prepares
    # a statement run five times) PostgreSQL's generic plan guesses that an id range holds 0.5 % of
    # the reports and visits them one by one, which made the searches below five times slower.
    return (
        *_reports_of(company_id, since),
        ZReportRecord.id > literal(after, literal_execute=True),
        ZReportRecord.id <= literal(upto, literal_execute=True),
    )


def _count(company_id: int, since: date | None, after: int, upto: int) -> int:
    return session.scalar(
        select(func.count()).select_from(ZReportRecord).where(*_within(company_id, since, after, upto))
    )


def _report_amounts() -> tuple:
    """Gift cards sold, rounding and cash difference of reports: the largest and smallest of each."""
    record = ZReportRecord
    return (
        func.max(record.gift_cards_sold),
        func.max(record.rounding),
        func.min(record.rounding),
        func.max(record.cash_difference),
        func.min(record.cash_difference),
    )


def _aggregate(
    company_id: int, since: date | None, after: int, upto: int, amounts: Sequence | None = None
) -> SeenParts:
    """What the reports with ``after < id <= upto`` hold; ``amounts`` are their ``_report_amounts()``
    when the caller has read them already.

    A company's reports hold the same few parts day after day. So the newest reports are read whole
    first, and the others are only searched for a row that changes that answer: a part the newest
    lack, or an amount that is not zero where theirs all are. Such a search groups nothing and
    usually finds nothing, so it costs one pass over the rows, not a grouping of every one of them.
    """
    record = ZReportRecord
    within = _within(company_id, since, after, upto)
    newest = (
        select(record.id).where(*within).order_by(record.business_date.desc(), record.id.desc()).limit(SAMPLE_REPORTS)
    )
    methods = {
        method: used
        for (method,), (used,) in _parts(
            ZReportPayment, (ZReportPayment.method,), (ZReportPayment.amount != 0,), within, newest
        ).items()
    }
    line = ZReportLine
    vat_rates: dict[Decimal, bool] = {}
    sales: dict[tuple[str, Decimal], bool] = {}
    for (group, rate), (net, vat) in _parts(
        line, (line.product_group, line.vat_rate), (line.gross != line.vat, line.vat != 0), within, newest
    ).items():
        rate = canonical_vat_rate(_decimal(rate))
        vat_rates[rate] = vat_rates.get(rate, False) or vat
        sales[(group, rate)] = sales.get((group, rate), False) or net
    tips = session.scalar(
        select(literal(True))
        .where(ZReportTip.amount != 0, exists().where(record.id == ZReportTip.zreport_id, *within))
        .limit(1)
    )
    if amounts is None:
        amounts = session.execute(select(*_report_amounts()).where(*within)).one()
    gift, round_max, round_min, diff_max, diff_min = (_decimal(value) for value in amounts)
    cash_difference = diff_max != 0 or diff_min != 0
    if cash_difference:
        methods["cash"] = True
    other = {
        "tips": bool(tips),
        "rounding": round_max != 0 or round_min != 0,
        "cash_difference": cash_difference,
        "gift_cards_sold": gift != 0,
    }
    return SeenParts(payment_methods=methods, vat_rates=vat_rates, sales=sales, other=other)


def _parts(table, keys: tuple, flags: tuple, within: tuple, newest) -> dict[tuple, list[bool]]:
    """key → for each of ``flags``, whether it holds in some row of ``table`` in the reports ``within``.

    The rows of the ``newest`` reports are read first; the others only for a row whose key is not
    known yet or that sets a flag still false (one pass, and most often no row at all)."""
    found: dict[tuple, list[bool]] = {}

    def add(rows) -> None:
        for row in rows:
            was = found.setdefault(tuple(row[: len(keys)]), [False] * len(flags))
            for i, value in enumerate(row[len(keys) :]):
                was[i] = was[i] or bool(value)

    def one_of(values) -> ColumnElement[bool]:
        # Plain comparisons, not IN: a prepared statement's generic plan builds an IN list's array
        # of parameters again for every row, which made this search twice as slow.
        return or_(false(), *(and_(*(column == v for column, v in zip(keys, value, strict=True))) for value in values))

    add(session.execute(select(*keys, *flags).distinct().where(table.zreport_id.in_(newest))))
    news = or_(
        not_(one_of(found)),
        *(and_(one_of([k for k, was in found.items() if not was[i]]), flag) for i, flag in enumerate(flags)),
    )
    in_range = exists().where(ZReportRecord.id == table.zreport_id, *within)
    add(session.execute(select(*keys, *flags).distinct().where(news, in_range)))
    return found


def _decimal(value) -> Decimal:
    if value is None:
        return ZERO
    return value if isinstance(value, Decimal) else Decimal(str(value))


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


# --- Fortnox lists --------------------------------------------------------------------------------


class FortnoxUnavailable(Exception):
    """Fortnox could not be asked; ``message`` says why, in Swedish."""

    def __init__(self, message: str, *, reauth: bool = False):
        super().__init__(message)
        self.message = message
        self.reauth = reauth


def _call_fortnox(call):
    # End the request's transaction first: on SQLite it holds the write lock, which a token refresh
    # (in its own session) would wait for while this request waits for the refresh.
    session.commit()
    try:
        return call()
    except FortnoxAuthError as exc:
        raise FortnoxUnavailable(
            "Din Fortnox-autentisering har upphört att gälla. Logga in på fortnox för att uppdatera autentiseringen.",
            reauth=True,
        ) from exc
    except FortnoxError as exc:
        current_app.logger.warning("Fortnox could not be read for the wizard: %s", exc)
        raise FortnoxUnavailable("Fortnox svarar inte just nu. Försök igen om en stund.") from exc


@dataclass(frozen=True, slots=True)
class SeriesChoice:
    code: str
    description: str
    manual: bool

    @classmethod
    def from_fortnox(cls, item: dict) -> SeriesChoice:
        return cls(str(item["Code"]), item.get("Description") or "", item.get("Manual") is not False)


def _fortnox_list(what: str, connection: FortnoxConnection, read, *, fresh: bool):
    now = time.monotonic()
    with _fortnox_lists_lock:
        cached = _fortnox_lists.get((what, connection.id))
    if cached is not None and not fresh and now - cached[0] < FORTNOX_LIST_TTL:
        return cached[1]
    value = read(_call_fortnox(lambda: getattr(client_for(connection), f"list_{what}")()))
    with _fortnox_lists_lock:
        _fortnox_lists[(what, connection.id)] = (now, value)
    return value


def fortnox_accounts(connection: FortnoxConnection, *, fresh: bool = False) -> dict[int, tuple[str, bool]]:
    """The connection's chart of accounts: number → (description, active), cached for a minute."""
    return _fortnox_list(
        "accounts",
        connection,
        lambda items: {int(a["Number"]): (a.get("Description") or "", a.get("Active") is not False) for a in items},
        fresh=fresh,
    )


def fortnox_series(connection: FortnoxConnection, *, fresh: bool = False) -> list[SeriesChoice]:
    """The connection's voucher series, cached for a minute."""
    return _fortnox_list(
        "voucher_series",
        connection,
        lambda items: [SeriesChoice.from_fortnox(item) for item in items],
        fresh=fresh,
    )


def forget_fortnox_lists(connection_id: int) -> None:
    """Read Fortnox again next time (after we changed its accounts or series)."""
    with _fortnox_lists_lock:
        for key in [key for key in _fortnox_lists if key[1] == connection_id]:
            del _fortnox_lists[key]


# --- the wizard: plumbing -------------------------------------------------------------------------


def empty_mapping_for(company: Company) -> Mapping:
    """A mapping with nothing chosen yet; registers keep the cost centres they have."""
    cost_centres = {r.pos_id: r.cost_center for r in company.registers if r.cost_center}
    return Mapping(voucher_series="", payment_methods={}, vat_rates={}, sales=(), cost_centres=cost_centres)


def _connected(integration) -> FortnoxConnection | None:
    connection = integration.connection if integration is not None else None
    if connection is None or connection.status != ConnectionStatus.ACTIVE:
        return None
    return connection


def _step_url(step: str, **query) -> str:
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
    return redirect(_step_url(next_step))


@bp.get("/fortnox/installningar/")
@login_required
def wizard_entry():
    """Open the wizard: at ``?step=…&field=…`` (a deep link), or where the admin left it."""
    admin_required()
    step = request.args.get("step")
    field = request.args.get("field")
    if step in STEPS:
        return redirect(_step_url(step, **({"field": field} if field else {})))
    integration = integration_of(session, current_user.company_id)
    resume = integration.wizard_step if integration and integration.wizard_step in STEPS else STEPS[0]
    if integration is not None and integration.active and resume == "klar":
        resume = "startdatum"
    if _connected(integration) is None and STEPS.index(resume) > STEPS.index("behorighet"):
        resume = "behorighet"
    return redirect(_step_url(resume))


@bp.route("/fortnox/installningar/<step>", methods=["GET", "POST"])
@login_required
def wizard(step: str):
    admin_required()
    if step not in STEPS:
        abort(404)
    company = current_user.company
    integration = integration_of(session, company.id)
    connection = _connected(integration)
    if STEPS.index(step) > STEPS.index("behorighet") and connection is None:
        flash("Ge BackOffice åtkomst till Fortnox först.", "error")
        return redirect(_step_url("behorighet"))
    mapping = load_mapping(session, company) or empty_mapping_for(company)
    handler = {
        "bokforing": _step_choose,
        "behorighet": _step_access,
        "startdatum": _step_start_date,
        "serie": _step_series,
        "forhandsgranskning": _step_preview,
        "klar": _step_done,
    }.get(step, _step_accounts)
    return handler(step, company, integration, connection, mapping)


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
        return redirect(_step_url("behorighet"))
    if request.method == "GET":
        form.kind.data = "bokforing" if integration is not None and integration.wizard_step else None
    return _render(step, integration, 400 if request.method == "POST" else 200, form=form)


def _step_access(step, company, integration, connection, mapping):
    if request.method == "POST":
        if connection is None:
            flash("Tryck på OK för att logga in på Fortnox först.", "error")
            return redirect(_step_url(step))
        integration.wizard_step = "startdatum"
        session.commit()
        return redirect(_step_url("startdatum"))
    connect_url = url_for("fortnox.connect_start", next=_step_url(step))
    return _render(step, integration, connection=connection, connect_url=connect_url)


def _step_start_date(step, company, integration, connection, mapping):
    form = StartDateForm()
    if form.validate_on_submit():
        return _save(company, dataclasses.replace(mapping, start_date=form.start_date.data), _next_step(step))
    if request.method == "GET":
        form.start_date.data = mapping.start_date
    first = session.scalar(select(func.min(ZReportRecord.business_date)).where(ZReportRecord.company_id == company.id))
    return _render(step, integration, 400 if request.method == "POST" else 200, form=form, first_report=first)


def _step_series(step, company, integration, connection, mapping):
    form = SeriesForm()
    error = None
    try:
        series = fortnox_series(connection, fresh=request.method == "POST" or "las-om" in request.args)
    except FortnoxUnavailable as exc:
        series, error = None, exc
    form.series.choices = [SelectChoice(s.code) for s in series or []]
    if request.method == "POST" and series is not None and form.validate_on_submit():
        chosen = next((s for s in series if s.code == form.series.data), None)
        if chosen is None:
            form.series.errors = ["Välj en av verifikationsserierna i listan."]
        elif not chosen.manual:
            form.series.errors = [
                "Verifikationsserien är inte manuell. Välj en annan eller slå på Manuell kontering i Fortnox."
            ]
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
    )


@bp.post("/fortnox/installningar/serie/ny")
@login_required
def create_cash_series():
    """Create the voucher series "F – Kassa" (manual) in Fortnox."""
    admin_required()
    connection = _connected(integration_of(session, current_user.company_id))
    if connection is None:
        abort(409)
    code, description = CASH_SERIES
    try:
        _call_fortnox(lambda: client_for(connection).create_voucher_series(code, description, manual=True))
    except FortnoxUnavailable as exc:
        flash(exc.message, "error")
    else:
        forget_fortnox_lists(connection.id)
        flash(f"Verifikationsserien {code} – {description} är skapad i Fortnox.", "info")
    return redirect(_step_url("serie"))


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

    @property
    def html_id(self) -> str:
        # Field keys may hold spaces (product groups): an id must not.
        return "f-" + hashlib.sha1(self.key.encode("utf-8")).hexdigest()[:12]

    @property
    def suggestion_label(self) -> str:
        return ACCOUNT_LABELS.get(self.suggestion, "") if self.suggestion else ""


def account_rows(step: str, mapping: Mapping, seen: SeenParts) -> list[AccountRow]:
    """The fields of an account step: what the reports hold plus what is mapped already."""
    kind = ACCOUNT_STEPS[step]
    if kind == "payment_method":
        methods = sorted(set(seen.payment_methods) | set(mapping.payment_methods))
        return [
            AccountRow(
                payment_key(method),
                field_label(payment_key(method)),
                mapping.payment_methods.get(method),
                used=seen.payment_methods.get(method, False),
                suggestion=PAYMENT_METHOD_ACCOUNTS.get(method),
            )
            for method in methods
        ]
    if kind == "vat_rate":
        rates = sorted({r for r, used in seen.vat_rates.items() if used} | set(mapping.vat_rates), reverse=True)
        return [
            AccountRow(
                vat_key(rate),
                field_label(vat_key(rate)),
                mapping.vat_rates.get(rate),
                used=seen.vat_rates.get(rate, False),
                suggestion=VAT_RATE_ACCOUNTS.get(rate),
            )
            for rate in rates
        ]
    if kind == "sales":
        rows = []
        exact = {(rule.product_group, rule.vat_rate) for rule in mapping.sales}
        for rule in mapping.sales:
            rows.append(
                AccountRow(
                    sales_key(rule.product_group, rule.vat_rate),
                    field_label(sales_key(rule.product_group, rule.vat_rate)),
                    rule.account,
                    used=seen.sales.get((rule.product_group, rule.vat_rate), False),
                    suggestion=SALES_ACCOUNTS_BY_VAT_RATE.get(rule.vat_rate) if rule.vat_rate is not None else None,
                )
            )
        for (group, rate), used in sorted(seen.sales.items(), key=lambda item: (item[0][0], -item[0][1])):
            if (group, rate) in exact:
                continue
            covered = mapping.sales_account(group, rate)
            rows.append(
                AccountRow(
                    sales_key(group, rate),
                    field_label(sales_key(group, rate)),
                    None,
                    used=used,
                    hint=f"Bokförs nu på konto {covered} enligt en mer allmän regel." if covered else None,
                    suggestion=SALES_ACCOUNTS_BY_VAT_RATE.get(rate),
                )
            )
        return rows
    return [
        AccountRow(
            other_key(part),
            name,
            getattr(mapping, part),
            used=seen.other.get(part, False),
            suggestion=OTHER_ACCOUNTS.get(part),
        )
        for part, name in OTHER_PARTS.items()
    ]


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
        return f"Konto {number} finns inte i Fortnox. Välj ett konto i listan eller lägg till det med Lägg till konto."
    if not known[1]:
        return f"Konto {number} är inaktivt i Fortnox. Aktivera det i Fortnox eller välj ett annat konto."
    return None


def _step_accounts(step, company, integration, connection, mapping):
    seen = seen_parts(company, mapping.start_date)
    rows = account_rows(step, mapping, seen)
    fortnox_error = None
    try:
        accounts = fortnox_accounts(connection, fresh=request.method == "POST" or "las-om" in request.args)
    except FortnoxUnavailable as exc:
        accounts, fortnox_error = None, exc
    if request.method == "POST":
        for row in rows:
            row.raw = request.form.get(row.key, "")
            try:
                row.value = parse_account(row.raw)
            except AccountInputError:
                row.error = "Ange ett kontonummer med fyra siffror (1000–9999)."
                continue
            if row.value is not None:
                row.error = _check_account(row.value, accounts)
        if not any(row.error for row in rows):
            return _save(company, _apply_rows(step, mapping, rows), _next_step(step))
    else:
        for row in rows:
            row.raw = "" if row.value is None else str(row.value)
            if row.value is not None:
                row.error = _check_account(row.value, accounts)
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
    )


@bp.post("/fortnox/installningar/konto")
@login_required
def add_account():
    """ "Lägg till konto": create an account in Fortnox (JSON for the dialog, a redirect without JS)."""
    admin_required()
    form = NewAccountForm()
    back = safe_next(request.form.get("back")) or url_for("integrations.wizard_entry")
    wants_json = request.accept_mimetypes.best == "application/json"
    connection = _connected(integration_of(session, current_user.company_id))
    if connection is None:
        abort(409)
    if not form.validate():
        errors = [error for field in (form.number, form.description) for error in field.errors]
        if wants_json:
            return jsonify(errors=errors), 400
        for error in errors:
            flash(error, "error")
        return redirect(back)
    number, description = form.number.data, form.description.data.strip()
    try:
        existing = fortnox_accounts(connection, fresh=True)
        if number in existing:
            raise FortnoxUnavailable(f"Konto {number} finns redan i Fortnox.")
        _call_fortnox(lambda: client_for(connection).create_account(number, description))
    except FortnoxUnavailable as exc:
        if wants_json:
            return jsonify(errors=[exc.message]), 409 if not exc.reauth else 401
        flash(exc.message, "error")
        return redirect(back)
    forget_fortnox_lists(connection.id)
    message = f"Konto {number} {description} är skapat i Fortnox."
    if wants_json:
        return jsonify(number=number, description=description, message=message), 201
    flash(message, "info")
    return redirect(back)


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
        accounts = fortnox_accounts(connection, fresh=request.method == "POST")
    except FortnoxUnavailable as exc:
        accounts = None
        problems.append((exc.message, None))
    if not mapping.voucher_series:
        problems.append(("Välj en verifikationsserie.", _step_url("serie")))
    missing = missing_parts(mapping, seen)
    for part in missing:
        field = field_for_missing(part)
        problems.append(
            (f"Konto saknas för {describe_missing_account(part)}.", _step_url(parse_field_key(field).step, field=field))
        )
    for key, number in mapped_fields(mapping):
        error = _check_account(number, accounts)
        if error:
            problems.append((error, _step_url(parse_field_key(key).step, field=key)))
    if request.method == "POST" and not problems:
        integration = integration_for(session, company)
        was_active = integration.active
        integration.wizard_step = "klar"
        if not was_active:
            activate(session, company)
        session.commit()
        unblock_jobs(session, company)
        wake(current_app._get_current_object())
        return redirect(_step_url("klar", saved=1) if was_active else _step_url("klar"))
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
            preview_error = "Den senaste Z-rapporten har inget att bokföra: alla konton blir noll."
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
    )


def _step_done(step, company, integration, connection, mapping):
    if integration is None or not integration.active:
        return redirect(_step_url("forhandsgranskning"))
    if request.method == "POST":
        return redirect(url_for("integrations.index"))
    return _render(step, integration, saved=bool(request.args.get("saved")))
