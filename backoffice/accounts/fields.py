"""The field keys of the accounts mapping: which part of a Z-report an account field books.

A field is named by a *field key*: ``payment_method:swish``, ``vat_rate:12``, ``sales:12:Mat``
(product group and VAT rate; either may be empty for a rule that applies to every group or every
rate) and ``other:tips``. The settings wizard names its fields by them, and the same keys make the
"Åtgärda detta" deep links (``?step=betalningsmetoder&field=payment_method:swish``), so a banner or
a report page can name the very field that lacks an account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from backoffice.accounts.mapping import Mapping, MissingAccount
from backoffice.messages.zreport import OTHER_LABELS, PAYMENT_METHOD_LABELS
from backoffice.money import format_vat_rate, parse_vat_rate

#: The steps that choose accounts, and the kind of field key each holds.
ACCOUNT_STEPS = {
    "betalningsmetoder": "payment_method",
    "momssatser": "vat_rate",
    "varugrupper": "sales",
    "ovriga": "other",
}

#: The parts of a report under mapping/v1 ``other``, with their Swedish names: the booking core's
#: row texts, as for the payment methods below.
OTHER_PARTS = {part: OTHER_LABELS[part] for part in ("tips", "rounding", "cash_difference", "gift_cards_sold")}
#: Swedish names of the payment methods registers commonly send (others are shown as sent): the
#: booking core's row texts, so a method has one name on the voucher and on every page.
PAYMENT_METHOD_NAMES = PAYMENT_METHOD_LABELS


# --- field keys -----------------------------------------------------------------------------------


def payment_key(method: str) -> str:
    return f"payment_method:{method}"


def vat_key(rate: Decimal) -> str:
    return f"vat_rate:{format_vat_rate(rate)}"


def sales_key(product_group: str | None, rate: Decimal | None) -> str:
    return f"sales:{'' if rate is None else format_vat_rate(rate)}:{product_group or ''}"


def other_key(part: str) -> str:
    return f"other:{part}"


@dataclass(frozen=True, slots=True)
class FieldKey:
    """A parsed field key: ``kind`` is payment_method, vat_rate, sales or other."""

    kind: str
    key: str | None = None
    product_group: str | None = None
    vat_rate: Decimal | None = None

    @property
    def step(self) -> str:
        return next(step for step, kind in ACCOUNT_STEPS.items() if kind == self.kind)


def parse_field_key(text: str) -> FieldKey | None:
    """The field key ``text`` names, or None when it is not a well-formed one."""
    kind, _, rest = text.partition(":")
    try:
        if kind == "payment_method" and rest:
            return FieldKey(kind, key=rest)
        if kind == "vat_rate" and rest:
            return FieldKey(kind, vat_rate=parse_vat_rate(rest))
        if kind == "sales":
            rate_text, _, group = rest.partition(":")
            rate = parse_vat_rate(rate_text) if rate_text else None
            if group or rate is not None:
                return FieldKey(kind, product_group=group or None, vat_rate=rate)
        if kind == "other" and rest in OTHER_PARTS:
            return FieldKey(kind, key=rest)
    except ValueError:
        return None
    return None


def vat_rate_text(rate: Decimal) -> str:
    """A VAT rate the Swedish way: ``12 %``, ``12,5 %``."""
    return f"{format_vat_rate(rate).replace('.', ',')} %"


def field_label(text: str) -> str:
    """The Swedish name of a wizard field: "Kontant (cash)", "Moms 12 %", "Mat, 12 % moms", "Dricks"."""
    key = parse_field_key(text)
    if key is None:
        return text
    if key.kind == "payment_method":
        return f"{PAYMENT_METHOD_NAMES[key.key]} ({key.key})" if key.key in PAYMENT_METHOD_NAMES else key.key
    if key.kind == "vat_rate":
        return f"Moms {vat_rate_text(key.vat_rate)}"
    if key.kind == "other":
        return OTHER_PARTS[key.key]
    if key.product_group and key.vat_rate is not None:
        return f"{key.product_group}, {vat_rate_text(key.vat_rate)} moms"
    if key.product_group:
        return f"{key.product_group} (alla momssatser)"
    return f"Alla varugrupper, {vat_rate_text(key.vat_rate)} moms"


def field_for_missing(missing: MissingAccount) -> str:
    """The wizard field that gives a missing part of a report its account."""
    if missing.kind == "payment_method":
        return payment_key(missing.key)
    if missing.kind == "vat_rate":
        return vat_key(missing.vat_rate)
    if missing.kind == "sales":
        return sales_key(missing.key, missing.vat_rate)
    return other_key(missing.kind)


def missing_from_detail(item: dict) -> MissingAccount:
    """A missing part as a blocked job's JSON keeps it (``{"kind", "key", "vat_rate"}``)."""
    rate = item.get("vat_rate")
    return MissingAccount(item["kind"], item.get("key"), None if rate is None else Decimal(rate))


def mapped_fields(mapping: Mapping) -> list[tuple[str, int]]:
    """Every (field key, account) that ``mapping`` sets, in the wizard's order."""
    found = [(payment_key(method), account) for method, account in sorted(mapping.payment_methods.items())]
    found += [(vat_key(rate), account) for rate, account in sorted(mapping.vat_rates.items(), reverse=True)]
    found += [(sales_key(rule.product_group, rule.vat_rate), rule.account) for rule in mapping.sales]
    found += [(other_key(part), getattr(mapping, part)) for part in OTHER_PARTS if getattr(mapping, part) is not None]
    return found


def fields_of_account(mapping: Mapping, account: int) -> list[str]:
    """Every wizard field of ``mapping`` set to ``account``, in the wizard's order."""
    return [key for key, number in mapped_fields(mapping) if number == account]


def fix_link_args(field: str | None, *, fallback_step: str = "betalningsmetoder") -> dict:
    """The query of a deep link to ``field`` ("Åtgärda detta", "Visa inaktiva konton")."""
    parsed = parse_field_key(field) if field else None
    if parsed is None:
        return {"step": fallback_step}
    return {"step": parsed.step, "field": field}


# --- account numbers ------------------------------------------------------------------------------

_ACCOUNT = re.compile(r"\s*(\d{4})(?:\D.*)?", re.DOTALL)


class AccountInputError(ValueError):
    """What a user typed in an account field is not an account number."""


def parse_account(text: str | None) -> int | None:
    """The account of a field ("1910", "1910 – Kassa" from the list), None when empty.

    Raises ``AccountInputError`` for anything else.
    """
    if text is None or not text.strip():
        return None
    match = _ACCOUNT.fullmatch(text)
    if match is None or not 1000 <= int(match.group(1)) <= 9999:
        raise AccountInputError(text)
    return int(match.group(1))
