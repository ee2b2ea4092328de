"""The state file: the whole `EmulatorState` as one JSON document, and back.

One generic codec driven by the dataclasses' type hints, so a new field needs no code here.
Decimals are written as strings (never through float), dates and datetimes in ISO 8601, and
dicts as lists of [key, value] pairs because their keys may be ints or tuples.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from fortnox_emulator.state import EmulatorState

FORMAT_VERSION = 1


def dump_state(state: EmulatorState) -> str:
    """Serialise the state to JSON text."""
    return json.dumps({"format": FORMAT_VERSION, "state": _encode(state)}, ensure_ascii=False,
                      separators=(",", ":"))


def load_state(text: str) -> EmulatorState:
    """Read a state written by `dump_state`; refuses a document of another format version."""
    document = json.loads(text)
    if document.get("format") != FORMAT_VERSION:
        raise ValueError(f"unsupported emulator state format {document.get('format')!r}")
    return _decode(EmulatorState, document["state"])


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):  # datetime is a date
        return value.isoformat()
    if isinstance(value, dict):
        return [[_encode(k), _encode(v)] for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(tp: Any, data: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if data is None:
            return None
        (inner,) = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        return _decode(inner, data)
    if origin is dict:
        key_type, value_type = typing.get_args(tp)
        return {_decode(key_type, k): _decode(value_type, v) for k, v in data}
    if origin is list:
        (item_type,) = typing.get_args(tp)
        return [_decode(item_type, v) for v in data]
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in data)
        return tuple(_decode(arg, v) for arg, v in zip(args, data, strict=True))
    if dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        return tp(**{name: _decode(hints[name], value) for name, value in data.items()})
    if tp is Decimal:
        return Decimal(data)
    if tp is datetime:
        return datetime.fromisoformat(data)
    if tp is date:
        return date.fromisoformat(data)
    return data
