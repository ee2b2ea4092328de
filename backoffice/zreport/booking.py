"""Book a Z-report as one balanced voucher, exactly as the mapping says.

Contract: ``docs/contracts/zreport-v1.md``, "How a report is booked", and
``docs/contracts/mapping-v1.md``, "When the mapping lacks an account".

Invariants of every voucher :func:`build_voucher` returns:

- It holds, per (account, cost centre), the net of the report's postings; a positive net is a
  Debit row, a negative net a Credit row, a zero net no row. No row is negative.
- Rows are unique per (account, cost centre) and sorted by account.
- The register's cost centre is on rows of result accounts (3000–8999) only.
- It balances to the öre; if it did not, :class:`UnbalancedVoucherError` is raised (a bug: the
  contract's balance rule makes every accepted report balance), never a voucher.
- It is dated ``business_date``, in the mapping's voucher series, and its description identifies
  the report within a Fortnox company (:func:`voucher_description`), naming the register's serial
  number when the report has one.
- Every row's ``transaction_information`` names the sources netted on it ("Kort", "Moms 12 %",
  "Mat 12 %"; :func:`source_label`), within Fortnox's 100 characters.

A part with a non-zero amount and no account stops booking; every such part of the report is
listed in one :class:`MappingIncompleteError`. A part whose amount is zero needs no account.
"""

import hashlib
from decimal import Decimal

from backoffice.accounts.mapping import Mapping, MappingIncompleteError, MissingAccount
from backoffice.messages.zreport import OTHER_LABELS, PAYMENT_METHOD_LABELS
from backoffice.money import ZERO, format_vat_rate
from backoffice.zreport.report import SalesLine, ZReport
from backoffice.zreport.voucher import (
    MAX_DESCRIPTION_LENGTH,
    MAX_TRANSACTION_INFORMATION_LENGTH,
    NothingToBookError,
    UnbalancedVoucherError,
    Voucher,
    VoucherRow,
    is_result_account,
)

#: Where a posting goes: (account, cost centre).
_Key = tuple[int, str | None]
#: One signed amount on one (account, cost centre) from one source (its row text): debit when
#: positive, credit when negative.
_Posting = tuple[_Key, Decimal, str]

def source_label(kind: str, key: str | None = None, vat_rate: Decimal | None = None) -> str:
    """The short Swedish text of one source of a row: ``Kort``, ``Moms 12 %``, ``Mat 12 %``, ``Dricks``.

    ``kind`` is ``payment_method`` (``key`` the method), ``vat_rate``, ``sales`` (``key`` the product
    group) or a key of :data:`OTHER_LABELS`. Rates are written the Swedish way (``12,5 %``).
    """
    rate = "" if vat_rate is None else format_vat_rate(vat_rate).replace(".", ",") + " %"
    if kind == "payment_method":
        return PAYMENT_METHOD_LABELS.get(key or "", key or "")
    if kind == "vat_rate":
        return f"Moms {rate}"
    if kind == "sales":
        return f"{key} {rate}"
    return OTHER_LABELS[kind]


def build_voucher(report: ZReport, mapping: Mapping, *, company_name: str) -> Voucher:
    """Book ``report`` with ``mapping`` as one balanced voucher of ``company_name``'s restaurant.

    The report must be contract-valid (intake checked it). Raises :class:`MappingIncompleteError`
    listing every unmapped part with a non-zero amount, :class:`NothingToBookError` when every
    account nets to zero, and :class:`UnbalancedVoucherError` if, by a bug, the rows don't balance.
    """
    postings = _post_report(report, mapping)
    nets, sources = _merge_by_account_and_cost_center(postings)
    nets = _drop_zero_nets(nets)
    rows = _rows_sorted_by_account(nets, sources)
    _check_balance(rows)
    description = voucher_description(report, company_name)
    if not rows:
        raise NothingToBookError(description)
    return Voucher(
        description=description,
        transaction_date=report.business_date,
        series=mapping.voucher_series,
        rows=rows,
    )


class _Postings:
    """Collects the postings of one report, and the accounts found missing while making them."""

    __slots__ = ("postings", "missing", "_cost_center")

    def __init__(self, cost_center: str | None) -> None:
        self.postings: list[_Posting] = []
        self.missing: list[MissingAccount] = []
        self._cost_center = cost_center

    def post(
        self,
        account: int | None,
        amount: Decimal,
        missing: tuple[str, str | None, Decimal | None],
        source: tuple[str, str | None, Decimal | None] | None = None,
    ) -> None:
        """Post ``amount`` on ``account``; a zero amount needs no account, a missing one is recorded.

        The register's cost centre goes on result accounts (3000–8999) only (zreport-v1.md,
        "How a report is booked"). ``source`` names the part for the row text (:func:`source_label`);
        by default it is the part ``missing`` names.
        """
        if not amount:
            return
        if account is None:
            self.missing.append(MissingAccount(*missing))
            return
        cost_center = self._cost_center if is_result_account(account) else None
        self.postings.append(((account, cost_center), amount, source_label(*(source or missing))))


def _post_report(report: ZReport, mapping: Mapping) -> list[_Posting]:
    """Postings per report part, signed as in zreport-v1.md "How a report is booked" (debit +, credit −).

    Every part with a non-zero amount and no account is collected; if any, one
    :class:`MappingIncompleteError` lists them all (mapping-v1.md, "When the mapping lacks an account").
    """
    book = _Postings(mapping.cost_center_for(report.register.id))
    # Each payment: + amount on payment_methods[method].
    for payment in report.payments:
        book.post(mapping.account_for_payment(payment.method), payment.amount, ("payment_method", payment.method, None))
    # cash_difference d: + d on payment_methods["cash"], − d on other.cash_difference.
    difference = report.cash_difference
    cash = mapping.account_for_payment("cash")
    book.post(cash, difference, ("payment_method", "cash", None), ("cash_difference", None, None))
    book.post(mapping.cash_difference, -difference, ("cash_difference", None, None))
    # tips_paid_out_cash p: + p on other.tips (the liability to the staff is settled), − p on cash.
    paid_out = report.tips_paid_out_cash
    book.post(mapping.tips, paid_out, ("tips", None, None), ("tips_paid_out_cash", None, None))
    book.post(cash, -paid_out, ("payment_method", "cash", None), ("tips_paid_out_cash", None, None))
    # Sales lines: − (gross − vat) on the sales account, − vat on vat_rates[rate]; returns the opposite.
    _post_sales_lines(book, mapping, report.sales, sign=-1)
    _post_sales_lines(book, mapping, report.returns, sign=1)
    # Tips, gift cards sold and rounding: credited (− amount) on their accounts under "other".
    tips = sum((tip.amount for tip in report.tips), ZERO)
    book.post(mapping.tips, -tips, ("tips", None, None))
    book.post(mapping.gift_cards_sold, -report.gift_cards_sold, ("gift_cards_sold", None, None))
    book.post(mapping.rounding, -report.rounding, ("rounding", None, None))
    if book.missing:
        raise MappingIncompleteError(tuple(book.missing))
    return book.postings


def _post_sales_lines(book: _Postings, mapping: Mapping, lines: tuple[SalesLine, ...], *, sign: int) -> None:
    """Post sales (``sign=-1``) or return (``sign=1``) lines: the net on the sales account, the VAT on the VAT account.

    zreport-v1.md: each sales line − (gross − vat) on the sales account of (product group, VAT
    rate) and − vat on ``vat_rates[rate]``; each return line + (gross − vat) and + vat. A 0 % line
    has no VAT and so needs no VAT account.
    """
    for line in lines:
        net = line.gross - line.vat
        book.post(
            mapping.sales_account(line.product_group, line.vat_rate),
            net if sign > 0 else -net,
            ("sales", line.product_group, line.vat_rate),
        )
        book.post(
            mapping.vat_account(line.vat_rate),
            line.vat if sign > 0 else -line.vat,
            ("vat_rate", None, line.vat_rate),
        )


def _merge_by_account_and_cost_center(postings: list[_Posting]) -> tuple[dict[_Key, Decimal], dict[_Key, list[str]]]:
    """Net the postings per (account, cost centre): "per account (and cost centre) the voucher holds the net".

    Also returns each key's sources, once each, in the order they were posted.
    """
    nets: dict[_Key, Decimal] = {}
    sources: dict[_Key, list[str]] = {}
    for key, amount, source in postings:
        nets[key] = nets.get(key, ZERO) + amount
        labels = sources.setdefault(key, [])
        if source not in labels:
            labels.append(source)
    return nets, sources


def _drop_zero_nets(nets: dict[_Key, Decimal]) -> dict[_Key, Decimal]:
    """Drop accounts whose net is zero: "a zero net [becomes] no row"."""
    return {key: net for key, net in nets.items() if net}


def _rows_sorted_by_account(nets: dict[_Key, Decimal], sources: dict[_Key, list[str]]) -> tuple[VoucherRow, ...]:
    """One row per (account, cost centre), sorted by account: "a positive net becomes a row with that
    Debit, a negative net a row with that Credit" (so no row is ever negative). Its row text names
    its sources (:func:`_row_text`)."""
    return tuple(
        VoucherRow(account, debit=net, cost_center=cost_center, transaction_information=_row_text(sources[key]))
        if net > 0
        else VoucherRow(account, credit=-net, cost_center=cost_center, transaction_information=_row_text(sources[key]))
        for key, net in sorted(nets.items(), key=lambda item: (item[0][0], item[0][1] or ""))
        for account, cost_center in (key,)
    )


def _row_text(labels: list[str]) -> str:
    """The sources of a row joined by ", ", shortened to Fortnox's 100 characters with "…"."""
    return _shorten(", ".join(labels), MAX_TRANSACTION_INFORMATION_LENGTH)


def _check_balance(rows: tuple[VoucherRow, ...]) -> None:
    """Check that debit equals credit to the öre: "the balance rule makes every voucher balance exactly".

    A difference is a bug in booking or intake and raises :class:`UnbalancedVoucherError`; it
    cannot be skipped.
    """
    debit_total = sum((row.debit for row in rows), ZERO)
    credit_total = sum((row.credit for row in rows), ZERO)
    if debit_total != credit_total:
        raise UnbalancedVoucherError(debit_total, credit_total)


# Description: "Z-rapport <z> <register name> (<register id>[, <serial number>]) <date> · <company>", at
# most 200 characters. The separator comes with the company name, so a text without one (the CLI's
# preview) ends in the date.
_DESCRIPTION = "Z-rapport {z} {name} ({register_id}) {date}{company}"
_COMPANY_SEPARATOR = " · "
_ELLIPSIS = "…"
_HASH_LENGTH = 8


def voucher_description(report: ZReport, company_name: str) -> str:
    """Return the voucher text identifying ``report`` within a Fortnox company, at most 200 characters.

    ``Z-rapport 1042 Kassa 1 (K1, CR-00017) 2026-11-20 · Krogen AB``: the z number, register id,
    serial number (tillverkningsnummer, when the report has one) and date identify the report within
    our company, also across the units of a replaced register; the company name (unique in our
    database) tells our restaurants apart when several book into the same Fortnox company. The
    export engine finds a voucher in Fortnox by this text, so it depends on nothing but the report
    and the name. Without a company name (a preview) the text ends after the date.

    When the text is longer than 200 characters, the register name and company name are shortened
    (ending in "…") and ``#`` plus the first 8 hex digits of the full text's SHA-256 is appended, so
    two reports still get different texts; the z number, register id, serial number and date are
    never shortened (together at most 160 characters).
    """
    serial = report.register.serial_number
    fields = {
        "z": report.z_number,
        "register_id": f"{report.register.id}, {serial}" if serial else report.register.id,
        "date": report.business_date.isoformat(),
    }
    separator = _COMPANY_SEPARATOR if company_name else ""
    full = _DESCRIPTION.format(name=report.register.name, company=separator + company_name, **fields)
    if len(full) <= MAX_DESCRIPTION_LENGTH:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:_HASH_LENGTH]
    suffix = f" #{digest}"
    budget = MAX_DESCRIPTION_LENGTH - len(_DESCRIPTION.format(name="", company=separator, **fields)) - len(suffix)
    name, company = _shorten_pair(report.register.name, company_name, budget)
    return _DESCRIPTION.format(name=name, company=separator + company, **fields) + suffix


def _shorten_pair(first: str, second: str, budget: int) -> tuple[str, str]:
    """Shorten two texts to at most ``budget`` characters together, sharing the room fairly.

    Each gets half; what one does not need goes to the other. A shortened text ends in "…".
    """
    half = budget // 2
    first_room = max(half, budget - len(second))
    second_room = budget - min(len(first), first_room)
    return _shorten(first, first_room), _shorten(second, second_room)


def _shorten(text: str, room: int) -> str:
    """Return ``text`` if it fits in ``room`` characters, else its start and "…" in exactly ``room``."""
    if len(text) <= room:
        return text
    return text[: room - len(_ELLIPSIS)] + _ELLIPSIS if room >= len(_ELLIPSIS) else ""
