"""Money and VAT rates as ``Decimal``: the one parser, the one rounding helper, the one rounding mode.

Invariants (style B0.2, B3; contracts zreport-v1.md "Fields" and mapping-v1.md):

- Money is ``Decimal`` from intake to Fortnox, never ``float``; an amount enters the product only
  through :func:`parse_amount`, which accepts a decimal string with at most two decimals and
  returns it with exactly two (``"0"`` → ``Decimal("0.00")``).
- Every rounding to öre goes through :func:`to_ore` with :data:`ROUNDING` (``ROUND_HALF_UP``), the
  single rounding mode of the product. Negative zero never leaves this module: it becomes ``ZERO``.
- A VAT rate is a percentage, 0 ≤ rate < 100, with at most two decimals. :func:`parse_vat_rate`
  returns one canonical ``Decimal`` per rate (``"12.00"`` and ``"12"`` both give ``Decimal("12")``)
  and :func:`format_vat_rate` its canonical text (``"12"``, ``"12.5"``), used as mapping keys and in
  messages. Equal rates are equal and hash equal whatever their exponent, so ``Decimal`` rates work
  as dictionary keys either way.
- An amount has at most :data:`MAX_INTEGER_DIGITS` digits before the decimal point: the database
  column is ``Numeric(14, 2)`` (style B5), and Fortnox's JSON doubles hold 14 significant digits
  exactly.
"""

import re
from decimal import ROUND_HALF_UP, Decimal

#: Zero kronor, with the two decimals every amount carries.
ZERO = Decimal("0.00")
#: One öre, the smallest unit of money the product knows.
ORE = Decimal("0.01")
#: The single rounding mode of the product, used only by :func:`to_ore`.
ROUNDING = ROUND_HALF_UP
#: Digits allowed before the decimal point of an amount (``Numeric(14, 2)``).
MAX_INTEGER_DIGITS = 12

_AMOUNT = re.compile(r"-?([0-9]+)(?:\.[0-9]{1,2})?")
_VAT_RATE = re.compile(r"([0-9]+)(?:\.[0-9]{1,2})?")
_WHOLE = Decimal(1)
_HUNDRED = Decimal(100)


def parse_amount(text: str) -> Decimal:
    """Parse a money string such as ``"1234.50"``, ``"-0.21"`` or ``"0"`` into a ``Decimal`` with two decimals.

    Only a ``str`` of ASCII digits with an optional leading minus and at most two decimals is
    accepted: no float, no exponent, no ``NaN``/``Infinity``, no spaces, no ``+``, no thousands
    separator, and at most :data:`MAX_INTEGER_DIGITS` digits before the point. Anything else
    raises ``ValueError`` with an English message.
    """
    if not isinstance(text, str):
        raise ValueError(f'an amount must be a decimal string such as "1234.50", not {type(text).__name__}')
    match = _AMOUNT.fullmatch(text)
    if match is None:
        raise ValueError(f"not an amount with at most two decimals: {text!r}")
    if len(match.group(1).lstrip("0")) > MAX_INTEGER_DIGITS:
        raise ValueError(f"amount too large (more than {MAX_INTEGER_DIGITS} digits before the point): {text!r}")
    return to_ore(Decimal(text))


def to_ore(x: Decimal) -> Decimal:
    """Round ``x`` to whole öre (0.01) with ``ROUND_HALF_UP``; ``-0.00`` becomes ``ZERO``.

    Raises ``TypeError`` for anything but a ``Decimal`` (a float must never reach money code) and
    ``ValueError`` for ``NaN`` and infinities.
    """
    if not isinstance(x, Decimal):
        raise TypeError(f"to_ore() takes a Decimal, not {type(x).__name__}")
    if not x.is_finite():
        raise ValueError(f"not a finite amount: {x}")
    rounded = x.quantize(ORE, rounding=ROUNDING)
    return rounded if rounded else ZERO


def parse_vat_rate(text: str) -> Decimal:
    """Parse a VAT rate in percent (``"25"``, ``"12.00"``, ``"12.5"``) into its canonical ``Decimal``.

    Accepts a ``str`` of ASCII digits with at most two decimals and a value 0 ≤ rate < 100;
    anything else raises ``ValueError``. ``"12"``, ``"12.0"`` and ``"12.00"`` all return
    ``Decimal("12")``; ``"12.50"`` returns ``Decimal("12.5")``.
    """
    if not isinstance(text, str):
        raise ValueError(f'a VAT rate must be a decimal string such as "25", not {type(text).__name__}')
    if _VAT_RATE.fullmatch(text) is None:
        raise ValueError(f"not a VAT rate in percent with at most two decimals: {text!r}")
    rate = Decimal(text)
    if rate >= _HUNDRED:
        raise ValueError(f"a VAT rate must be below 100 %: {text!r}")
    return canonical_vat_rate(rate)


def canonical_vat_rate(rate: Decimal) -> Decimal:
    """Return the canonical form of a VAT rate: no trailing zeros, and never an exponent.

    ``Decimal("12.00")`` → ``Decimal("12")``, ``Decimal("12.50")`` → ``Decimal("12.5")``,
    ``Decimal("10")`` → ``Decimal("10")`` (not ``normalize()``'s ``1E+1``).
    """
    if not isinstance(rate, Decimal) or not rate.is_finite():
        raise ValueError(f"not a VAT rate: {rate!r}")
    reduced = rate.normalize()
    if reduced == reduced.to_integral_value():
        return reduced.quantize(_WHOLE)
    return reduced


def format_vat_rate(rate: Decimal) -> str:
    """Return the canonical text of a VAT rate (``"25"``, ``"12"``, ``"6"``, ``"0"``, ``"12.5"``).

    The text is the key of ``vat_rates`` in mapping/v1 and the rate shown in messages.
    """
    return format(canonical_vat_rate(rate), "f")


def sek_text(amount: Decimal) -> str:
    """An amount the Swedish way, the one formatter of kronor in text and PDFs: ``12 345,67 kr``,
    ``-0,21 kr`` (rounded to the öre by :func:`to_ore`)."""
    value = to_ore(amount)
    whole, _, ore = f"{abs(value):.2f}".partition(".")
    return f"{'-' if value < 0 else ''}{int(whole):,}".replace(",", " ") + f",{ore} kr"
