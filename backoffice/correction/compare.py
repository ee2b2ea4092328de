"""What a correction changes, computed without the database or Fortnox: pure (style B0.1).

A voucher in Fortnox cannot be changed or deleted (docs/fortnox/facts-2026-12.md, "Deleting a
voucher"), so a booked day is corrected by two new vouchers (BFL 5 kap. 5 §): a **reversal** of the
voucher that is current for the report (every row with debit and credit swapped, same series) and
a **new** voucher with today's booking. Invariants:

- :func:`reversal_rows` swaps debit and credit on every row and keeps account, cost centre and row
  text, so the current voucher plus its reversal nets to zero on every (account, cost centre);
- :func:`changes` is the difference per (account, cost centre) between the current voucher and
  today's booking, to the öre, leaving out what does not change; none means the day is unchanged;
- :func:`first_open_day` is the day itself, or the day after the locked period when the day is in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from backoffice.money import ZERO, to_ore
from backoffice.zreport.voucher import MAX_DESCRIPTION_LENGTH, VoucherRow

#: Where an amount is booked: (account, cost centre).
Key = tuple[int, str | None]


@dataclass(frozen=True, slots=True)
class AccountChange:
    """How the net of one (account, cost centre) changes with today's booking.

    account: the BAS account.
    cost_center: the cost centre code, or None.
    before: the net (debit − credit) of the current voucher on it.
    after: the net of today's booking on it.
    """

    account: int
    cost_center: str | None
    before: Decimal
    after: Decimal

    @property
    def change(self) -> Decimal:
        """after − before: what the reversal and the new voucher add to the account together."""
        return self.after - self.before


def rows_of(body_rows: Iterable[Mapping[str, Any]]) -> tuple[VoucherRow, ...]:
    """Voucher rows from Fortnox's ``VoucherRows`` (as we sent them or as Fortnox returns them);
    struck-out rows (``Removed``) and rows of zero are left out."""
    rows = []
    for row in body_rows:
        if row.get("Removed"):
            continue
        debit, credit = to_ore(Decimal(str(row.get("Debit") or 0))), to_ore(Decimal(str(row.get("Credit") or 0)))
        if debit == credit:
            continue
        net = debit - credit
        rows.append(VoucherRow(
            account=int(row["Account"]),
            debit=net if net > 0 else ZERO,
            credit=-net if net < 0 else ZERO,
            cost_center=row.get("CostCenter") or None,
            transaction_information=row.get("TransactionInformation") or None,
        ))
    return tuple(rows)


def net(rows: Iterable[VoucherRow]) -> dict[Key, Decimal]:
    """The net (debit − credit) per (account, cost centre)."""
    totals: dict[Key, Decimal] = {}
    for row in rows:
        key = (row.account, row.cost_center)
        totals[key] = totals.get(key, ZERO) + row.debit - row.credit
    return totals


def changes(current: Iterable[VoucherRow], today: Iterable[VoucherRow]) -> tuple[AccountChange, ...]:
    """The (account, cost centre) whose net differs between ``current`` and ``today``, by account."""
    before, after = net(current), net(today)
    keys = sorted(set(before) | set(after), key=lambda k: (k[0], k[1] or ""))
    return tuple(
        AccountChange(account, cost_center, before.get((account, cost_center), ZERO),
                      after.get((account, cost_center), ZERO))
        for account, cost_center in keys
        if before.get((account, cost_center), ZERO) != after.get((account, cost_center), ZERO)
    )


def reversal_rows(rows: Iterable[VoucherRow]) -> tuple[VoucherRow, ...]:
    """Every row with debit and credit swapped; account, cost centre and row text kept."""
    return tuple(
        VoucherRow(account=row.account, debit=row.credit, credit=row.debit, cost_center=row.cost_center,
                   transaction_information=row.transaction_information)
        for row in rows
    )


#: The reversal's description: "Rättelse av F 123: " and the original's description.
REVERSAL_PREFIX = "Rättelse av {series} {number}: "


def reversal_description(series: str, number: int, description: str) -> str:
    """``Rättelse av F 123: `` followed by the reversed voucher's description, cut to Fortnox's 200."""
    text = REVERSAL_PREFIX.format(series=series, number=number) + description
    return text if len(text) <= MAX_DESCRIPTION_LENGTH else text[: MAX_DESCRIPTION_LENGTH - 1] + "…"


def first_open_day(day: date, locked_through: date | None) -> date:
    """``day``, or the day after the locked period when ``day`` is inside it (locked through that date)."""
    if locked_through is not None and day <= locked_through:
        return locked_through + timedelta(days=1)
    return day
