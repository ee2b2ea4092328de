"""Fortnox's bookkeeping rules: which financial year a call means, and when a voucher is accepted.

A voucher is refused (HTTP 400, nothing stored, no number used) unless, in this order:
1. the body is `{"Voucher": {...}}` with known fields, Description (1–200), TransactionDate and
   VoucherSeries, and at least two rows (2001897);
2. a financial year covers TransactionDate ("Räkenskapsår saknas för valt datum"), and it is the
   year asked for with `?financialyear=`, or without it the preselected year (the one covering
   today): Fortnox's spec says "If no query param is used the voucher will be created in the
   preselected financial year";
3. the date is after the locked period (2000401);
4. the series exists in that year ("Ogiltig verifikationsserie angiven") and is manual (2001940);
5. every row's account exists (2001304) and is active in that year (`Konto "3001" är inte aktivt`),
   every cost centre exists and is active (2000947), and the account's CostCenterSettings hold;
6. debit total equals credit total to the öre (amounts are rounded to the öre first).
Then it gets the series' next number in that year, so numbers have no gaps.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from fortnox_emulator import payload
from fortnox_emulator.errors import (
    ACCOUNT_INACTIVE,
    ACCOUNT_NOT_FOUND,
    COST_CENTER_INACTIVE,
    COST_CENTER_MANDATORY,
    COST_CENTER_NOT_ALLOWED,
    COST_CENTER_NOT_FOUND,
    DATE_OUTSIDE_FINANCIAL_YEAR,
    FINANCIAL_YEAR_PARAM_UNKNOWN,
    INVALID_PARAMETER,
    NO_DATA_IN_BODY,
    NO_FINANCIAL_YEAR,
    PERIOD_LOCKED,
    SERIES_NOT_FOUND,
    SERIES_NOT_MANUAL,
    VOUCHER_TOO_FEW_ROWS,
    VOUCHER_UNBALANCED,
    FortnoxApiError,
)
from fortnox_emulator.state import FinancialYear, Tenant, Voucher, VoucherRow, now_utc

#: Fields a client may send; the read-only ones (C# SDK [ReadOnly]) are accepted and ignored.
VOUCHER_WRITABLE = ("Comments", "CostCenter", "Description", "Project", "TransactionDate", "VoucherRows",
                    "VoucherSeries")
VOUCHER_READ_ONLY = ("@url", "ApprovalState", "ReferenceNumber", "ReferenceType", "VoucherNumber", "Year")
ROW_WRITABLE = ("Account", "CostCenter", "Credit", "Debit", "Description", "Project", "Quantity",
                "TransactionInformation")
ROW_READ_ONLY = ("Removed",)


def preselected_year(tenant: Tenant, today: date) -> FinancialYear:
    """The year Fortnox uses when a call names none: the one covering today, else the latest."""
    years = list(tenant.financial_years.values())
    for year in years:
        if year.contains(today):
            return year
    if not years:
        raise FortnoxApiError(NO_FINANCIAL_YEAR)
    return max(years, key=lambda y: y.to_date)


def year_for_day(tenant: Tenant, day: date) -> FinancialYear | None:
    """The financial year covering `day`, if any."""
    for year in tenant.financial_years.values():
        if year.contains(day):
            return year
    return None


def requested_year(tenant: Tenant, args: Mapping[str, str], today: date) -> FinancialYear:
    """The year a call asks for: `financialyear` (an Id), else `financialyeardate`, else preselected."""
    if args.get("financialyear"):
        raw = args["financialyear"]
        if not raw.isdigit():
            raise FortnoxApiError(INVALID_PARAMETER)
        year = tenant.financial_years.get(int(raw))
        if year is None:
            raise FortnoxApiError(FINANCIAL_YEAR_PARAM_UNKNOWN, year=raw)
        return year
    if args.get("financialyeardate"):
        year = year_for_day(tenant, parse_day_param(args["financialyeardate"]))
        if year is None:
            raise FortnoxApiError(NO_FINANCIAL_YEAR)
        return year
    return preselected_year(tenant, today)


def parse_day_param(raw: str) -> date:
    """A `YYYY-MM-DD` query parameter (2000588 otherwise)."""
    try:
        if len(raw) == 10:
            return date.fromisoformat(raw)
    except ValueError:
        pass
    raise FortnoxApiError(INVALID_PARAMETER)


def create_voucher(tenant: Tenant, body: Any, args: Mapping[str, str], today: date, *,
                   normalise: bool = False) -> Voucher:
    """Check a POST /3/vouchers body against every rule above and store it with its number.

    ``normalise``: store `Description` and `Comments` as :func:`normalised_text` gives them (the
    "normalised" reading of docs/EMULATOR.md; no source says Fortnox does or does not).
    """
    data = payload.unwrap(body, "Voucher")
    payload.refuse_unknown_fields(data, VOUCHER_WRITABLE + VOUCHER_READ_ONLY)
    description = payload.text(data, "Description", required=True, max_length=200)
    transaction_date = payload.day(data, "TransactionDate", required=True)
    series_code = payload.text(data, "VoucherSeries", required=True, max_length=10)
    comments = payload.text(data, "Comments", max_length=1000)
    voucher_cost_center = payload.text(data, "CostCenter")
    project = payload.text(data, "Project")
    raw_rows = data.get("VoucherRows") or []
    if not isinstance(raw_rows, list) or not all(isinstance(r, dict) for r in raw_rows):
        raise FortnoxApiError(NO_DATA_IN_BODY)
    raw_rows = [r for r in raw_rows if r.get("Removed") is not True]
    if len(raw_rows) < 2:
        raise FortnoxApiError(VOUCHER_TOO_FEW_ROWS)
    rows = [_parse_row(r) for r in raw_rows]

    year = _year_for_voucher(tenant, transaction_date, args, today)
    if tenant.locked_until is not None and transaction_date <= tenant.locked_until:
        raise FortnoxApiError(PERIOD_LOCKED, end_date=tenant.locked_until.isoformat())
    series = year.series.get(series_code)
    if series is None:
        raise FortnoxApiError(SERIES_NOT_FOUND)
    if not series.manual:
        raise FortnoxApiError(SERIES_NOT_MANUAL, series=series.code)
    if voucher_cost_center is not None:
        _check_cost_center(tenant, voucher_cost_center)
    for row in rows:
        _check_row(tenant, year, row)
    debit = sum((r.debit for r in rows), Decimal("0.00"))
    credit = sum((r.credit for r in rows), Decimal("0.00"))
    if debit != credit:
        raise FortnoxApiError(VOUCHER_UNBALANCED, debit=f"{debit:.2f}", credit=f"{credit:.2f}")

    voucher = Voucher(year_id=year.id, series=series.code, number=series.next_number,
                      transaction_date=transaction_date, description=description, rows=rows,
                      created_at=now_utc(), comments=comments, cost_center=voucher_cost_center,
                      project=project)
    if normalise:
        voucher.description = normalised_text(voucher.description)
        voucher.comments = normalised_text(voucher.comments) if voucher.comments is not None else None
    series.next_number += 1
    tenant.vouchers[(year.id, voucher.series, voucher.number)] = voucher
    return voucher


def _year_for_voucher(tenant: Tenant, day: date, args: Mapping[str, str], today: date) -> FinancialYear:
    if year_for_day(tenant, day) is None:
        raise FortnoxApiError(NO_FINANCIAL_YEAR)
    year = requested_year(tenant, args, today)
    if not year.contains(day):
        raise FortnoxApiError(DATE_OUTSIDE_FINANCIAL_YEAR, date=day.isoformat(),
                              from_date=year.from_date.isoformat(), to_date=year.to_date.isoformat())
    return year


def _parse_row(data: dict[str, Any]) -> VoucherRow:
    payload.refuse_unknown_fields(data, ROW_WRITABLE + ROW_READ_ONLY)
    account = payload.integer(data, "Account", required=True)
    quantity = payload.decimal(data, "Quantity")
    return VoucherRow(
        account=account,
        debit=payload.amount(data, "Debit"),
        credit=payload.amount(data, "Credit"),
        cost_center=payload.text(data, "CostCenter"),
        project=payload.text(data, "Project"),
        quantity=quantity,
        transaction_information=payload.text(data, "TransactionInformation", max_length=100),
    )


def _check_row(tenant: Tenant, year: FinancialYear, row: VoucherRow) -> None:
    account = year.accounts.get(row.account)
    if account is None:
        raise FortnoxApiError(ACCOUNT_NOT_FOUND)
    if not account.active:
        raise FortnoxApiError(ACCOUNT_INACTIVE, account=row.account)
    # The C# SDK documents VoucherRow.Description as "the description of the account": the server
    # fills it in from the account, whatever the client sent.
    row.description = account.description
    if row.cost_center is not None:
        _check_cost_center(tenant, row.cost_center)
        if account.cost_center_settings == "NOTALLOWED":
            raise FortnoxApiError(COST_CENTER_NOT_ALLOWED, account=row.account)
    elif account.cost_center_settings == "MANDATORY":
        raise FortnoxApiError(COST_CENTER_MANDATORY, account=row.account)


def _check_cost_center(tenant: Tenant, code: str) -> None:
    cost_center = tenant.cost_centers.get(code)
    if cost_center is None:
        raise FortnoxApiError(COST_CENTER_NOT_FOUND, code=code)
    if not cost_center.active:
        raise FortnoxApiError(COST_CENTER_INACTIVE, code=code)


#: What the "normalised" reading makes of punctuation outside plain Latin letters and ASCII.
_REPLACEMENTS = {"\u00b7": "-", "\u2026": "...", "\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'",
                 "\u201c": '"', "\u201d": '"', "\u00a0": " "}


def normalised_text(text: str) -> str:
    """`text` trimmed, runs of whitespace made one space, and every character that is neither
    printable ASCII nor a Latin-1 letter replaced (`·` → `-`, `…` → `...`, others → `?`)."""
    out = []
    for char in text:
        if char in _REPLACEMENTS:
            out.append(_REPLACEMENTS[char])
        elif char.isspace() or (" " <= char <= "~") or (char.isalpha() and ord(char) < 256):
            out.append(char)
        else:
            out.append("?")
    return " ".join("".join(out).split())
