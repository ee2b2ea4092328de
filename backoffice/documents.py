"""JSON documents as the product's contracts read them: one parser, and the marshmallow fields both
contracts (zreport/v1 and mapping/v1) build on.

``load_json`` keeps every number with a fraction as ``Decimal`` and refuses duplicate keys, so no
float ever appears and no value is silently dropped; ``Money`` then refuses anything but a string.
"""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal

from marshmallow import ValidationError, fields, validate

from backoffice.money import ZERO, format_vat_rate, parse_amount, parse_vat_rate


class Money(fields.Field):
    """An amount as a JSON string with at most two decimals (``"1234.50"``); ``signed`` allows a minus."""

    def __init__(self, *, signed: bool = False, **kwargs):
        pattern = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$" if signed else r"^[0-9]{1,12}(\.[0-9]{1,2})?$"
        super().__init__(metadata={"pattern": pattern, "example": "1234.50"}, **kwargs)
        self.signed = signed

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        if not isinstance(value, str):
            raise ValidationError('Money must be a JSON string such as "1234.50", not a JSON number.')
        try:
            amount = parse_amount(value)
        except ValueError as exc:
            raise ValidationError(f"Not a valid amount: {exc}.") from exc
        if not self.signed and amount < ZERO:
            raise ValidationError("Must not be negative.")
        return amount

    def _serialize(self, value, attr, obj, **kwargs) -> str | None:
        return None if value is None else f"{value:.2f}"


class VatRate(fields.Field):
    """A VAT rate in percent as a decimal string (``"25"``, ``"12.00"``)."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"pattern": r"^[0-9]{1,2}(\.[0-9]{1,2})?$", "example": "12"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        try:
            return parse_vat_rate(value)
        except ValueError as exc:
            raise ValidationError(f"Not a valid VAT rate: {exc}.") from exc

    def _serialize(self, value, attr, obj, **kwargs) -> str | None:
        return None if value is None else format_vat_rate(value)


#: The largest count or z_number stored (the database's INTEGER, 2**31 − 1).
MAX_COUNT = 2**31 - 1


class Count(fields.Integer):
    """A whole number from ``minimum`` to ``MAX_COUNT`` given as a JSON integer (not a string, a
    fraction or a boolean)."""

    def __init__(self, *, minimum: int = 0, **kwargs):
        super().__init__(strict=True, validate=validate.Range(min=minimum, max=MAX_COUNT), **kwargs)

    def _validated(self, value):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._validated(value)


class Text(fields.String):
    """A string a database can keep: no NUL character and no unpaired surrogate (``"\\ud800"``)."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("Must not contain the NUL character (\\u0000).")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValidationError("Must be valid Unicode (an unpaired surrogate was sent).") from exc
        return text


class DocumentError(ValueError):
    """The body is not a JSON document at all (malformed JSON, duplicate keys, not an object)."""


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    document = dict(pairs)
    if len(document) != len(pairs):  # linear: a 1 MiB object of short keys is judged in milliseconds
        counts = Counter(key for key, _ in pairs)
        repeated = sorted(key for key, count in counts.items() if count > 1)
        raise DocumentError(f"duplicate key(s) in a JSON object: {', '.join(repeated[:10])}"
                            + (f" and {len(repeated) - 10} more" if len(repeated) > 10 else ""))
    return document


def load_json(text: str | bytes) -> dict:
    """Parse a JSON document, keeping numbers with a fraction as ``Decimal`` so no float ever appears."""
    try:
        document = json.loads(text, parse_float=Decimal, object_pairs_hook=_reject_duplicate_keys)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, DocumentError):
            raise
        raise DocumentError(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise DocumentError("the body must be a JSON object")
    return document
