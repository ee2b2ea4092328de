"""Reading Fortnox request bodies: one parser per field type, one way to refuse unknown fields.

Every parser takes the resource's JSON object, the field name and its constraints, and raises
`FortnoxApiError` with the Fortnox code for that kind of mistake. `null` counts as absent, as in
Fortnox's own answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from fortnox_emulator.errors import (
    FIELD_REQUIRED,
    FIELD_TOO_LONG,
    INVALID_DATE,
    INVALID_FIELD_NAME,
    NO_DATA_IN_BODY,
    NOT_BOOLEAN,
    NOT_NUMERIC,
    FortnoxApiError,
)
from fortnox_emulator.jsonio import to_ore


def unwrap(body: Any, wrapper: str) -> dict[str, Any]:
    """The object inside `{"<wrapper>": {...}}`, or Fortnox's 2001392 when it is missing."""
    if not isinstance(body, dict) or not isinstance(body.get(wrapper), dict):
        raise FortnoxApiError(NO_DATA_IN_BODY)
    return body[wrapper]


def refuse_unknown_fields(obj: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Fortnox refuses field names it does not know (2001399), which catches client typos."""
    allowed = set(allowed)
    for name in obj:
        if name not in allowed:
            raise FortnoxApiError(INVALID_FIELD_NAME, field=name)


def text(obj: Mapping[str, Any], name: str, *, required: bool = False, max_length: int | None = None,
         min_length: int = 1) -> str | None:
    """A string field; numbers are accepted as text, and "" counts as absent (it clears on PUT)."""
    value = obj.get(name)
    if value is None or value == "":
        if required:
            raise FortnoxApiError(FIELD_REQUIRED, field=name)
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise FortnoxApiError(NO_DATA_IN_BODY)
    value = str(value)
    if len(value) < min_length:
        raise FortnoxApiError(FIELD_REQUIRED, field=name)
    if max_length is not None and len(value) > max_length:
        raise FortnoxApiError(FIELD_TOO_LONG, field=name, max_length=max_length)
    return value


def day(obj: Mapping[str, Any], name: str, *, required: bool = False) -> date | None:
    """A `YYYY-MM-DD` date field."""
    value = obj.get(name)
    if value is None or value == "":
        if required:
            raise FortnoxApiError(FIELD_REQUIRED, field=name)
        return None
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise FortnoxApiError(INVALID_DATE, field=name, value=value) from None


def decimal(obj: Mapping[str, Any], name: str) -> Decimal | None:
    """A number (JSON number or numeric string), kept exact as Decimal; absent gives None."""
    value = obj.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise FortnoxApiError(NOT_NUMERIC, field=name)
    if isinstance(value, (int, Decimal)):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise FortnoxApiError(NOT_NUMERIC, field=name) from None
    else:
        raise FortnoxApiError(NOT_NUMERIC, field=name)
    if not result.is_finite():
        raise FortnoxApiError(NOT_NUMERIC, field=name)
    return result


def amount(obj: Mapping[str, Any], name: str) -> Decimal:
    """A money field rounded to the öre; absent is zero."""
    value = decimal(obj, name)
    return to_ore(value) if value is not None else to_ore(Decimal(0))


def integer(obj: Mapping[str, Any], name: str, *, required: bool = False) -> int | None:
    """A whole number (JSON integer or a string of digits)."""
    value = decimal(obj, name)
    if value is None:
        if required:
            raise FortnoxApiError(FIELD_REQUIRED, field=name)
        return None
    if value != value.to_integral_value():
        raise FortnoxApiError(NOT_NUMERIC, field=name)
    return int(value)


def boolean(obj: Mapping[str, Any], name: str) -> bool | None:
    """A true/false field (Fortnox's 2000134 for anything else)."""
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise FortnoxApiError(NOT_BOOLEAN, field=name)
    return value


def choice(obj: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> str | None:
    """One of a fixed set of upper-case words (e.g. CostCenterSettings)."""
    value = text(obj, name)
    if value is not None and value not in allowed:
        raise FortnoxApiError(INVALID_FIELD_NAME, field=f"{name}={value}")
    return value


@dataclass(frozen=True, slots=True)
class Field:
    """How one writable JSON field maps onto an attribute of a state object.

    kind: "text", "bool", "int", "decimal" or "choice"; max_length and required apply to text,
    allowed to choice.
    """

    json_name: str
    attribute: str
    kind: str
    max_length: int | None = None
    allowed: tuple[str, ...] = ()
    required: bool = False

    def read(self, obj: Mapping[str, Any]) -> Any:
        """Parse this field from `obj` (None when absent; a required text field refuses that)."""
        if self.kind == "text":
            return text(obj, self.json_name, max_length=self.max_length, required=self.required)
        if self.kind == "bool":
            return boolean(obj, self.json_name)
        if self.kind == "int":
            return integer(obj, self.json_name)
        if self.kind == "decimal":
            return amount(obj, self.json_name)
        return choice(obj, self.json_name, self.allowed)


def apply_fields(target: object, obj: Mapping[str, Any], writable: tuple[Field, ...]) -> None:
    """Copy every writable field present in `obj` onto `target` (a PUT changes only what it sends)."""
    for spec in writable:
        if spec.json_name in obj:
            value = spec.read(obj)
            if value is not None or spec.kind in ("text", "int"):  # text and numbers may be cleared
                setattr(target, spec.attribute, value)
