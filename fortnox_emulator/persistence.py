"""The state file: a JSON snapshot of everything but vouchers, plus an append-only voucher journal.

Vouchers can never change in Fortnox, and they are what grows, so each one is written once, as a
line of `<state file>.vouchers.jsonl`, when it is stored; the snapshot (companies, charts, series,
tokens) stays small and is rewritten after each change. Storing a voucher thus costs one small
snapshot plus one appended line, however many vouchers exist.

One generic codec, driven by the dataclasses' type hints, serves both: Decimals are written as
strings (never through float), dates and datetimes in ISO 8601, and dicts as lists of
[key, value] pairs because their keys may be ints or tuples. Fields marked
`metadata={"journal": True}` are left out of the snapshot.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from fortnox_emulator.state import EmulatorState, Voucher

FORMAT_VERSION = 2


def dump_snapshot(state: EmulatorState) -> str:
    """The state without vouchers, as JSON text."""
    return json.dumps({"format": FORMAT_VERSION, "state": _encode(state)}, ensure_ascii=False,
                      separators=(",", ":"))


def voucher_line(tenant_id: int, voucher: Voucher) -> str:
    """One journal line: the tenant and its voucher."""
    return json.dumps({"tenant_id": tenant_id, "voucher": _encode(voucher)}, ensure_ascii=False,
                      separators=(",", ":")) + "\n"


def load_state(snapshot: str, journal: Iterable[str] = ()) -> EmulatorState:
    """Rebuild the state from a snapshot and the journal lines.

    A crash between appending a voucher and rewriting the snapshot leaves a voucher the snapshot's
    series counter does not know; the counter is moved past it, so no number is ever given twice.
    """
    document = json.loads(snapshot)
    if document.get("format") != FORMAT_VERSION:
        raise ValueError(f"unsupported emulator state format {document.get('format')!r}")
    state: EmulatorState = _decode(EmulatorState, document["state"])
    for line in journal:
        if not line.strip():
            continue
        entry = json.loads(line)
        tenant = state.tenants[entry["tenant_id"]]
        voucher: Voucher = _decode(Voucher, entry["voucher"])
        tenant.vouchers[(voucher.year_id, voucher.series, voucher.number)] = voucher
        year = tenant.financial_years.get(voucher.year_id)
        series = year.series.get(voucher.series) if year else None
        if series is not None and series.next_number <= voucher.number:
            series.next_number = voucher.number + 1
    return state


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not f.metadata.get("journal")}
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
