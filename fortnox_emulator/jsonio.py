"""JSON in and out, the way Fortnox writes it.

Out: amounts are JSON numbers rounded to 2 decimals; dates `YYYY-MM-DD`; absent values `null`;
slashes escaped (`"https:\\/\\/api.fortnox.se\\/3\\/..."`, as in recorded answers).
In: numbers are parsed as Decimal (never float), NaN/Infinity refused.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from werkzeug.wrappers import Request, Response

from fortnox_emulator.errors import INVALID_JSON, FortnoxApiError

ORE = Decimal("0.01")


def to_ore(amount: Decimal) -> Decimal:
    """Round an amount to whole öre, half away from zero (the rounding mode used everywhere here)."""
    return amount.quantize(ORE, rounding=ROUND_HALF_UP)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # The wire format is a JSON number. A Decimal with 2 decimals and fewer than 15 significant
        # digits converts to the float whose shortest repr has exactly those digits, so a client
        # that parses with parse_float=Decimal gets the exact öre back.
        return float(to_ore(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: Any) -> str:
    """Serialise like Fortnox: compact, UTF-8 text, `/` escaped as `\\/`."""
    # "/" only ever occurs inside JSON strings, so escaping it in the finished text is safe.
    return json.dumps(data, default=_default, ensure_ascii=False, separators=(",", ":")).replace("/", "\\/")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None,
                  content_type: str = "application/json") -> Response:
    """A JSON answer with the given status and extra headers."""
    return Response(dumps(data), status=status, headers=headers, content_type=content_type)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def parse_json(text: bytes | str) -> Any:
    """Parse request JSON with numbers as Decimal; any syntax error becomes Fortnox's 2002115."""
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise FortnoxApiError(INVALID_JSON) from exc


def request_json(request: Request) -> Any:
    """The request body parsed by `parse_json` (Fortnox's spec allows any content type)."""
    return parse_json(request.get_data(cache=True))
