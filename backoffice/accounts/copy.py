"""Copying settings to another restaurant (issue 15, "Copying settings to another restaurant"): what
an import would overwrite, and which register of the restaurant gets which cost centre.

A mapping/v1 document names cost centres by the *source's* register ids, which another restaurant
rarely shares. So the cost centres are offered per register of the target: by the same register
name when the source's names are known (a copy from another of the user's restaurants), else by the
same register id (a file), else the person is asked. The start date is never copied silently: the
target keeps its own unless the person ticks the box. Nothing is written before the person has seen
every change (``changes``) and confirmed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date

from backoffice.accounts.fields import OTHER_PARTS, PAYMENT_METHOD_NAMES
from backoffice.accounts.mapping import Mapping, SalesRule
from backoffice.money import format_vat_rate

#: The select value of "ask me": no choice made yet.
ASK = "?"
#: The select value of "no cost centre".
NONE = ""


@dataclass(frozen=True, slots=True)
class Change:
    """One part of the settings the import changes: its Swedish name, the value now and after
    (None: not set)."""

    part: str
    before: str | None
    after: str | None


@dataclass(frozen=True, slots=True)
class SourceRegister:
    """A register of the source: its id, its name when known (another restaurant's register; a file
    names none), and its cost centre code (None: it has none)."""

    pos_id: str
    name: str | None
    code: str | None


@dataclass(frozen=True, slots=True)
class CostCentreChoice:
    """One register of the target: its current code and the suggested one.

    ``suggested`` is a code, ``NONE`` or ``ASK``; ``matched_by`` says why ("name", "id") or is None.
    """

    pos_id: str
    name: str
    current: str | None
    suggested: str
    matched_by: str | None


def _fold(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def suggest_cost_centres(
    sources: list[SourceRegister], targets: list[tuple[str, str, str | None]]
) -> list[CostCentreChoice]:
    """For each target register ``(pos_id, name, current code)`` the source's cost centre for it:

    - a source without any cost centre asks nothing: each register keeps its own;
    - a register of the source with the same name gives its code (or none);
    - a file (no names) gives each register the code of its id; when every id of the file is a
      register here, the file was made for these registers, and one it leaves out gets none;
    - any other register is asked about.
    """
    if not any(s.code for s in sources):
        return [CostCentreChoice(pos_id, name, current, current or NONE, None) for pos_id, name, current in targets]
    by_name = {_fold(s.name): s for s in sources if s.name}
    by_id = {s.pos_id: s for s in sources if s.name is None}
    same_registers = bool(by_id) and set(by_id) <= {pos_id for pos_id, _, _ in targets}
    choices = []
    for pos_id, name, current in targets:
        if _fold(name) in by_name:
            choices.append(CostCentreChoice(pos_id, name, current, by_name[_fold(name)].code or NONE, "name"))
        elif pos_id in by_id:
            choices.append(CostCentreChoice(pos_id, name, current, by_id[pos_id].code or NONE, "id"))
        elif same_registers:
            choices.append(CostCentreChoice(pos_id, name, current, NONE, None))
        else:
            choices.append(CostCentreChoice(pos_id, name, current, ASK, None))
    return choices


def _account(value: int | None) -> str | None:
    return None if value is None else str(value)


def _rule_name(rule: SalesRule) -> str:
    if rule.product_group and rule.vat_rate is not None:
        return f'Varugrupp "{rule.product_group}" ({format_vat_rate(rule.vat_rate)} %)'
    if rule.product_group:
        return f'Varugrupp "{rule.product_group}"'
    return f"Försäljning {format_vat_rate(rule.vat_rate)} %"


def changes(before: Mapping | None, after: Mapping) -> list[Change]:
    """Every part of the accounts mapping that differs between the target's settings and the
    import's (cost centres and the start date are shown apart)."""
    result = []

    def compare(part: str, old: str | None, new: str | None) -> None:
        if old != new:
            result.append(Change(part, old, new))

    compare("Verifikationsserie", before.voucher_series if before else None, after.voucher_series)
    old_methods = dict(before.payment_methods) if before else {}
    for method in sorted(set(old_methods) | set(after.payment_methods)):
        name = PAYMENT_METHOD_NAMES.get(method, method)
        compare(f'Betalningsmetod "{name}"', _account(old_methods.get(method)),
                _account(after.payment_methods.get(method)))
    old_rates = dict(before.vat_rates) if before else {}
    for rate in sorted(set(old_rates) | set(after.vat_rates), reverse=True):
        compare(f"Momssats {format_vat_rate(rate)} %", _account(old_rates.get(rate)), _account(after.vat_rates.get(rate)))
    old_rules = {(r.product_group, r.vat_rate): r for r in (before.sales if before else ())}
    new_rules = {(r.product_group, r.vat_rate): r for r in after.sales}
    for key in sorted(set(old_rules) | set(new_rules), key=lambda k: (k[0] or "", -(k[1] or 0))):
        rule = old_rules.get(key) or new_rules[key]
        compare(_rule_name(rule), _account(old_rules[key].account) if key in old_rules else None,
                _account(new_rules[key].account) if key in new_rules else None)
    for part, name in OTHER_PARTS.items():
        compare(name, _account(getattr(before, part)) if before else None, _account(getattr(after, part)))
    return result


def applied(imported: Mapping, cost_centres: dict[str, str], *, start_date: date | None) -> Mapping:
    """The mapping to save: the import's accounts, the chosen cost centres, the chosen start date."""
    return replace(imported, cost_centres=cost_centres, start_date=start_date)


def fingerprint(document: dict | None) -> str:
    """A short hash of the target's settings as previewed: the confirmation is refused when they
    changed in between (someone else saved), since the preview no longer says what is overwritten."""
    text = json.dumps(document, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
