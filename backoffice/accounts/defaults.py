"""BAS account suggestions for a restaurant's Z-report voucher: offered, never applied silently.

The setup wizard shows these next to empty fields, and :func:`suggested_mapping` builds a whole
mapping from them for the explicit "use BAS defaults" action (style B4). Sources and doubts are
in ``docs/domain.md``, "BAS accounts for a restaurant Z-report voucher": in particular the card
receivable may be 1686 rather than 1580 in BAS 2026, and there is no BAS account dedicated to
kassadifferens, so the accountant must confirm these before booking.
"""

from decimal import Decimal
from types import MappingProxyType

from backoffice.accounts.mapping import Mapping, SalesRule

#: Payment method identifier → suggested account.
PAYMENT_METHOD_ACCOUNTS = MappingProxyType({"cash": 1910, "card": 1580, "swish": 1930, "gift_card": 2421})

#: VAT rate → suggested output VAT account (utgående moms).
VAT_RATE_ACCOUNTS = MappingProxyType({Decimal("25"): 2611, Decimal("12"): 2621, Decimal("6"): 2631})

#: VAT rate → suggested sales account, used as VAT-rate-only sales rules.
SALES_ACCOUNTS_BY_VAT_RATE = MappingProxyType(
    {Decimal("25"): 3001, Decimal("12"): 3002, Decimal("6"): 3003, Decimal("0"): 3004}
)

#: Part of the report under mapping/v1 ``other`` → suggested account.
OTHER_ACCOUNTS = MappingProxyType({"tips": 2890, "rounding": 3740, "cash_difference": 3740, "gift_cards_sold": 2421})

#: BAS name of every suggested account, shown beside the suggestion.
ACCOUNT_LABELS = MappingProxyType(
    {
        1580: "Fordringar för kontokort och kuponger",
        1910: "Kassa",
        1930: "Företagskonto/checkkonto/affärskonto",
        2421: "Ej inlösta presentkort",
        2611: "Utgående moms på försäljning inom Sverige, 25 %",
        2621: "Utgående moms på försäljning inom Sverige, 12 %",
        2631: "Utgående moms på försäljning inom Sverige, 6 %",
        2890: "Övriga kortfristiga skulder",
        3001: "Försäljning inom Sverige, 25 % moms",
        3002: "Försäljning inom Sverige, 12 % moms",
        3003: "Försäljning inom Sverige, 6 % moms",
        3004: "Försäljning inom Sverige, momsfri",
        3740: "Öres- och kronutjämning",
    }
)


def suggested_mapping(series: str = "F") -> Mapping:
    """Return a complete mapping of the BAS suggestions, in voucher series ``series``.

    Only for the user's explicit "use BAS defaults" action: it is never applied on its own.
    """
    return Mapping(
        voucher_series=series,
        payment_methods=dict(PAYMENT_METHOD_ACCOUNTS),
        vat_rates=dict(VAT_RATE_ACCOUNTS),
        sales=tuple(SalesRule(account, vat_rate=rate) for rate, account in SALES_ACCOUNTS_BY_VAT_RATE.items()),
        **OTHER_ACCOUNTS,
    )
