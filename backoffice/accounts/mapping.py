"""The chart-of-accounts mapping of one restaurant, as an immutable value with lookups.

Contract: ``docs/contracts/mapping-v1.md`` (fields, "the most specific match wins", "When the
mapping lacks an account").

Invariants:

- A :class:`Mapping` is immutable: its dictionaries are read-only copies, and VAT-rate keys are
  canonical (``money.canonical_vat_rate``), so ``Decimal("12.00")`` and ``Decimal("12")`` find the
  same account.
- Every :class:`SalesRule` names a product group, a VAT rate or both, and no two rules of a
  mapping have the same (product group, VAT rate): the most specific match is always unique.
- Every lookup returns ``None`` when the mapping has no account; deciding whether that is an
  error (a non-zero amount needs an account, a zero amount does not) is booking's job, which
  collects every gap into one :class:`MappingIncompleteError`.
- Account numbers are checked (1000–9999) where a mapping enters the product, in
  ``accounts/schemas.py``, and again on every voucher row.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from backoffice.money import canonical_vat_rate

#: The kinds of missing account, in the order they are reported.
MISSING_KINDS = (
    "payment_method",
    "vat_rate",
    "sales",
    "tips",
    "rounding",
    "cash_difference",
    "gift_cards_sold",
)


@dataclass(frozen=True, slots=True)
class SalesRule:
    """One rule for choosing the sales account of a sales or return line.

    account: the sales account (BAS 3xxx usually).
    product_group: the product group the rule applies to, or None for every group.
    vat_rate: the VAT rate (canonical ``Decimal``) the rule applies to, or None for every rate.
    At least one of ``product_group`` and ``vat_rate`` is set.
    """

    account: int
    product_group: str | None = None
    vat_rate: Decimal | None = None

    def __post_init__(self) -> None:
        if self.product_group is None and self.vat_rate is None:
            raise ValueError("a sales rule needs a product_group, a vat_rate or both")
        if self.vat_rate is not None:
            object.__setattr__(self, "vat_rate", canonical_vat_rate(self.vat_rate))


@dataclass(frozen=True, slots=True)
class Mapping:
    """Which account each part of a Z-report is booked on (mapping/v1).

    voucher_series: the Fortnox voucher series code, e.g. ``"F"``.
    payment_methods: payment method identifier → account.
    vat_rates: VAT rate (canonical ``Decimal``) → output VAT account.
    sales: the rules choosing the sales account of a (product group, VAT rate).
    tips: liability account for tips, or None.
    rounding: account for öresavrundning, or None.
    cash_difference: account for kassadifferens, or None.
    gift_cards_sold: liability account for sold gift cards, or None.
    cost_centres: register id → Fortnox cost centre code.
    start_date: the first business date to export, or None for every date.
    """

    voucher_series: str
    payment_methods: dict[str, int]
    vat_rates: dict[Decimal, int]
    sales: tuple[SalesRule, ...]
    tips: int | None = None
    rounding: int | None = None
    cash_difference: int | None = None
    gift_cards_sold: int | None = None
    cost_centres: dict[str, str] = field(default_factory=dict)
    start_date: date | None = None
    _sales_index: dict[tuple[str | None, Decimal | None], int] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        # Read-only copies: a frozen value must not change through a dict the caller still holds.
        object.__setattr__(self, "payment_methods", MappingProxyType(dict(self.payment_methods)))
        object.__setattr__(
            self,
            "vat_rates",
            MappingProxyType({canonical_vat_rate(rate): account for rate, account in self.vat_rates.items()}),
        )
        object.__setattr__(self, "cost_centres", MappingProxyType(dict(self.cost_centres)))
        object.__setattr__(self, "sales", tuple(self.sales))
        index: dict[tuple[str | None, Decimal | None], int] = {}
        for rule in self.sales:
            key = (rule.product_group, rule.vat_rate)
            if key in index:
                raise ValueError(f"two sales rules for the same product group and VAT rate: {key}")
            index[key] = rule.account
        object.__setattr__(self, "_sales_index", MappingProxyType(index))

    def account_for_payment(self, method: str) -> int | None:
        """Return the account of a payment method, or None when unmapped."""
        return self.payment_methods.get(method)

    def vat_account(self, rate: Decimal) -> int | None:
        """Return the output VAT account of a VAT rate, or None when unmapped."""
        return self.vat_rates.get(rate)

    def sales_account(self, product_group: str, rate: Decimal) -> int | None:
        """Return the sales account of a product group at a VAT rate, or None when no rule matches.

        The most specific rule wins: (product group and VAT rate), then product group alone,
        then VAT rate alone (mapping-v1.md, ``sales``).
        """
        index = self._sales_index
        account = index.get((product_group, rate))
        if account is None:
            account = index.get((product_group, None))
        if account is None:
            account = index.get((None, rate))
        return account

    def cost_center_for(self, register_id: str) -> str | None:
        """Return the Fortnox cost centre code of a register, or None when it has none."""
        return self.cost_centres.get(register_id)


#: BAS 2610–2639: utgående moms 25 %, 12 % and 6 % (mapping-v1.md, ``vat_rates``). Output VAT on
#: any other account (a sales account, say) would vanish from the VAT return.
MIN_OUTPUT_VAT_ACCOUNT, MAX_OUTPUT_VAT_ACCOUNT = 2610, 2639


def is_output_vat_account(account: int) -> bool:
    """Tell whether ``account`` is an output VAT account, BAS 2610–2639."""
    return MIN_OUTPUT_VAT_ACCOUNT <= account <= MAX_OUTPUT_VAT_ACCOUNT


def misplaced_vat_accounts(vat_rates: dict[Decimal, int]) -> list[tuple[Decimal, int]]:
    """The (rate, account) pairs of ``vat_rates`` whose account is not an output VAT account, by rate."""
    return sorted((rate, account) for rate, account in vat_rates.items() if not is_output_vat_account(account))


class MappingError(Exception):
    """Base class of the errors of the accounts package."""


@dataclass(frozen=True, slots=True)
class MissingAccount:
    """One part of a report that has a non-zero amount and no account in the mapping.

    kind: one of :data:`MISSING_KINDS`.
    key: the payment method (``payment_method``) or product group (``sales``), else None.
    vat_rate: the VAT rate (``vat_rate``, ``sales``), else None.

    A cash difference needs two accounts: a missing ``payment_methods["cash"]`` is reported as
    ``MissingAccount("payment_method", "cash")``, a missing ``other.cash_difference`` as
    ``MissingAccount("cash_difference")``.
    """

    kind: str
    key: str | None = None
    vat_rate: Decimal | None = None

    def __post_init__(self) -> None:
        if self.kind not in MISSING_KINDS:
            raise ValueError(f"unknown kind of missing account: {self.kind!r}")

    def sort_key(self) -> tuple[int, str, Decimal]:
        """Order of reporting: by kind as in :data:`MISSING_KINDS`, then key, then VAT rate."""
        return (
            MISSING_KINDS.index(self.kind),
            self.key or "",
            self.vat_rate if self.vat_rate is not None else Decimal(-1),
        )


class MappingIncompleteError(MappingError):
    """The mapping lacks accounts for parts of a report: nothing is booked.

    missing: every missing part, deduplicated and in a stable order (:meth:`MissingAccount.sort_key`).
    The Swedish sentence for users is ``messages.mapping_incomplete_message``.
    """

    def __init__(self, missing: tuple[MissingAccount, ...]) -> None:
        self.missing = tuple(sorted(set(missing), key=MissingAccount.sort_key))
        super().__init__("mapping has no account for: " + ", ".join(map(_describe, self.missing)))


def _describe(missing: MissingAccount) -> str:
    """English text of one missing part, for logs."""
    details = [str(value) for value in (missing.key, missing.vat_rate) if value is not None]
    return f"{missing.kind} {' '.join(details)}".rstrip()
