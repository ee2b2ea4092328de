"""A voucher (verifikation) ready for Fortnox, as immutable values.

Contracts: ``docs/contracts/zreport-v1.md`` "How a report is booked"; Fortnox limits from
``docs/fortnox/api-facts.md`` §2.2.

Invariants, checked when a value is built:

- A :class:`VoucherRow` has separate ``debit`` and ``credit``, both ≥ 0, exactly one non-zero, both
  with exactly two decimals; its account is a BAS account 1000–9999; ``transaction_information``
  is at most 100 characters (Fortnox ``TransactionInformation``).
- A :class:`Voucher` has a description of 1–200 characters (Fortnox ``Description``) and at least
  two rows (Fortnox ``VoucherRows`` minItems 2).
- Whether a voucher balances is checked by whoever builds it (``booking.build_voucher``); an
  unbalanced voucher raises :class:`UnbalancedVoucherError`, which is a bug and never caught.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from backoffice.money import ORE, ZERO

#: Fortnox ``Voucher.Description`` maximum length.
MAX_DESCRIPTION_LENGTH = 200
#: Fortnox ``VoucherRow.TransactionInformation`` maximum length.
MAX_TRANSACTION_INFORMATION_LENGTH = 100
#: Fortnox ``VoucherRow.Account`` range.
MIN_ACCOUNT, MAX_ACCOUNT = 1000, 9999
#: BAS result accounts (resultaträkning), the only rows that carry a cost centre.
MIN_RESULT_ACCOUNT, MAX_RESULT_ACCOUNT = 3000, 8999


def is_result_account(account: int) -> bool:
    """Tell whether ``account`` is a BAS result account (3000–8999), which may carry a cost centre."""
    return MIN_RESULT_ACCOUNT <= account <= MAX_RESULT_ACCOUNT


class VoucherError(Exception):
    """Base class of the errors of this module."""


class UnbalancedVoucherError(VoucherError):
    """A voucher whose debit and credit totals differ: a bug in booking, never caught.

    debit_total: the sum of the rows' debits.
    credit_total: the sum of the rows' credits.
    """

    def __init__(self, debit_total: Decimal, credit_total: Decimal) -> None:
        super().__init__(
            f"voucher does not balance: debit {debit_total} ≠ credit {credit_total}"
            f" (difference {debit_total - credit_total})"
        )
        self.debit_total = debit_total
        self.credit_total = credit_total


class NothingToBookError(VoucherError):
    """Every account of a report nets to zero, so there is no voucher to book.

    Fortnox needs at least two rows; a day without sales (or whose returns cancel its sales)
    has none. The export engine can mark such a report as skipped.

    description: the description the voucher would have had; it identifies the report.
    """

    def __init__(self, description: str) -> None:
        super().__init__(f"nothing to book, every account nets to zero: {description}")
        self.description = description


def _is_ore_amount(x: object) -> bool:
    """Tell whether ``x`` is a finite ``Decimal`` with exactly two decimals."""
    # same_quantum is False for NaN and infinities, and cheaper than as_tuple() on this hot path.
    return isinstance(x, Decimal) and x.same_quantum(ORE)


@dataclass(frozen=True, slots=True)
class VoucherRow:
    """One line of a voucher: exactly one of debit and credit is non-zero, neither negative.

    account: the BAS account, 1000–9999.
    debit: the debit amount, ≥ 0, two decimals.
    credit: the credit amount, ≥ 0, two decimals.
    cost_center: the Fortnox cost centre code, or None.
    transaction_information: a short row text (≤ 100 characters), or None.
    """

    account: int
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    cost_center: str | None = None
    transaction_information: str | None = None

    def __post_init__(self) -> None:
        if type(self.account) is not int or not MIN_ACCOUNT <= self.account <= MAX_ACCOUNT:
            raise ValueError(f"account must be an integer {MIN_ACCOUNT}–{MAX_ACCOUNT}: {self.account!r}")
        if not (_is_ore_amount(self.debit) and _is_ore_amount(self.credit)):
            raise ValueError(f"debit and credit must be Decimals with two decimals: {self.debit!r}, {self.credit!r}")
        if self.debit < 0 or self.credit < 0:
            raise ValueError(f"debit and credit must not be negative: {self.debit}, {self.credit}")
        if (self.debit != 0) == (self.credit != 0):
            raise ValueError(f"exactly one of debit and credit must be non-zero: {self.debit}, {self.credit}")
        if self.cost_center is not None and not self.cost_center:
            raise ValueError("cost_center must be None or a non-empty code")
        if (
            self.transaction_information is not None
            and len(self.transaction_information) > MAX_TRANSACTION_INFORMATION_LENGTH
        ):
            raise ValueError(f"transaction_information is longer than {MAX_TRANSACTION_INFORMATION_LENGTH} characters")


@dataclass(frozen=True, slots=True)
class Voucher:
    """A voucher to create in Fortnox.

    description: the voucher text, 1–200 characters; for a Z-report it identifies the report.
    transaction_date: the accounting date (the report's business date).
    series: the Fortnox voucher series code, e.g. ``"F"``.
    rows: the voucher rows, at least two.
    """

    description: str
    transaction_date: date
    series: str
    rows: tuple[VoucherRow, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.description) <= MAX_DESCRIPTION_LENGTH:
            raise ValueError(f"description must be 1–{MAX_DESCRIPTION_LENGTH} characters: {self.description!r}")
        if not self.series:
            raise ValueError("series must not be empty")
        if len(self.rows) < 2:
            raise ValueError(f"a voucher needs at least two rows, got {len(self.rows)}")

    @property
    def debit_total(self) -> Decimal:
        """The sum of the rows' debits."""
        return sum((row.debit for row in self.rows), ZERO)

    @property
    def credit_total(self) -> Decimal:
        """The sum of the rows' credits."""
        return sum((row.credit for row in self.rows), ZERO)
