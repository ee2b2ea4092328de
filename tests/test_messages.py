"""messages.py: the Swedish sentences made from error data."""

import ast
import re
from decimal import Decimal
from pathlib import Path

import pytest

from backoffice.accounts.mapping import MappingIncompleteError, MissingAccount
from backoffice.messages import describe_missing_account, mapping_incomplete_message
from backoffice.messages.reconcile import sie_written

D = Decimal


@pytest.mark.parametrize(
    ("missing", "text"),
    [
        pytest.param(MissingAccount("payment_method", "swish"), 'betalningsmetod "swish"', id="payment-method"),
        pytest.param(MissingAccount("vat_rate", vat_rate=D("6")), "momssats 6 %", id="vat-rate"),
        pytest.param(MissingAccount("vat_rate", vat_rate=D("12.00")), "momssats 12 %", id="vat-rate-canonical"),
        pytest.param(MissingAccount("vat_rate", vat_rate=D("12.50")), "momssats 12.5 %", id="vat-rate-fraction"),
        pytest.param(MissingAccount("sales", "Glass", D("6")), 'varugrupp "Glass" (6 %)', id="sales"),
        pytest.param(MissingAccount("tips"), "dricks", id="tips"),
        pytest.param(MissingAccount("rounding"), "öresavrundning", id="rounding"),
        pytest.param(MissingAccount("cash_difference"), "kassadifferens", id="cash-difference"),
        pytest.param(MissingAccount("gift_cards_sold"), "sålda presentkort", id="gift-cards-sold"),
    ],
)
def test_each_missing_part_is_named_in_swedish(missing, text):
    assert describe_missing_account(missing) == text


def test_mapping_incomplete_message_is_the_contract_sentence():
    error = MappingIncompleteError(
        (
            MissingAccount("sales", "Glass", D("6")),
            MissingAccount("vat_rate", vat_rate=D("6")),
            MissingAccount("payment_method", "swish"),
        )
    )
    assert mapping_incomplete_message(error) == (
        'Bokföringen kunde inte exporteras: konto saknas för betalningsmetod "swish", momssats 6 %, '
        'varugrupp "Glass" (6 %).'
    )


def test_one_missing_part_makes_a_sentence_without_a_list():
    error = MappingIncompleteError((MissingAccount("tips"),))
    assert mapping_incomplete_message(error) == "Bokföringen kunde inte exporteras: konto saknas för dricks."


# --- no sentence names nothing ---------------------------------------------------------------------


def _real_details() -> dict[str, list[dict]]:
    """Every problem kind with the details the code that opens it really gives: the pre-flight and
    the health check on a snapshot with each fault, and the engine's refusals as Fortnox words them
    (often without naming the series, the account or the locked date)."""
    from datetime import date

    from backoffice.export.context import connection_blockers
    from backoffice.export.preflight import check, check_cost_centers
    from backoffice.export.reasons import Reason
    from backoffice.integrations.fortnox.metadata import Account, CostCenter, Series, Unreadable
    from tests.export.test_preflight import ACCOUNTS, LAST_YEAR, THIS_YEAR, chart, snapshot, voucher

    found: dict[str, list[dict]] = {str(reason): [] for reason in Reason}

    def add(blockers):
        for blocker in blockers:
            found[str(blocker.reason)].append(blocker.detail)

    day = date(2027, 3, 1)
    add(check(voucher(day, series="X"), snapshot()))
    add(check(voucher(day), snapshot(this_year=chart(THIS_YEAR, series={"F": Series("Kassa", False)}))))
    add(check(voucher(day), snapshot(this_year=chart(THIS_YEAR, accounts={**ACCOUNTS, 1580: Account("K", False)}))))
    add(check(voucher(day), snapshot(this_year=chart(THIS_YEAR, accounts={3001: ACCOUNTS[3001], 2611: ACCOUNTS[2611]}))))
    add(check(voucher(date(2026, 5, 1)), snapshot(last_year=chart(LAST_YEAR, series={}))))
    add(check(voucher(day, cost_center="NYA"), snapshot()))
    add(check(voucher(day, cost_center="ODEN"), snapshot(cost_centers={"ODEN": CostCenter("Oden", False)})))
    add(check_cost_centers(["ODEN"], snapshot(cost_centers={}, cost_centers_error=Unreadable(2000663, "Nej"))))
    add(check(voucher(date(2031, 1, 2)), snapshot()))
    add(check(voucher(day), snapshot(locked_through=date(2027, 3, 31))))

    class Connection:
        status, tenant_id = "needs_reauth", 7

    class Context:
        connection = Connection()

    add(connection_blockers(Context()))  # type: ignore[arg-type]
    # The engine: Fortnox's refusal as it came, before the metadata names the cause.
    for reason in ("series_missing", "series_not_manual", "account_missing", "account_inactive", "cost_center_missing",
                   "cost_center_inactive", "no_financial_year", "period_locked", "access_denied", "voucher_invalid",
                   "connection_invalidated", "auth_expired", "not_connected", "cost_centers_unreadable"):
        found[reason].append({"fortnox_code": 2999005, "fortnox_message": "Ogiltig verifikationsserie angiven"})
        found[reason].append({})
    found["mapping_incomplete"] += [{"missing": [{"kind": "tips", "key": None, "vat_rate": None}]}, {}]
    found["mapping_missing"].append({})
    found["export_failed"].append({"error": "timeout"})
    found["voucher_differs"].append({
        "found_series": "A", "found_number": 7, "found_year": 2, "found_date": "2026-11-20", "sent_series": "F",
        "sent_date": "2026-11-20", "sent_description": "Z-rapport 1001", "differences": ["rows"]})
    # What ``export.problems.completeness_causes`` writes (a replaced register's unit 2 named by its serial number).
    where = {"register_id": 1, "register": "K1", "register_name": "Kassa 1", "unit": 2, "serial_number": "CR-00099"}
    found["zreport_missing"] += [{**where, "first_missing": 40, "last_missing": 41},
                                 {**where, "unit": 1, "serial_number": None, "first_missing": 40, "last_missing": 40}]
    found["grand_total_jump"].append({**where, "previous": 7, "z_number": 8, "expected_sales": "1200.00",
                                      "reported_sales": "1300.00", "expected_returns": "50.00",
                                      "reported_returns": "50.00"})
    return found


_EMPTY = ('""', "“”", "””", "()", " .", "t.o.m. .", "None", "  ", " ,", "för .")


@pytest.mark.parametrize("reason", sorted(_real_details()))
def test_no_sentence_of_a_problem_kind_renders_an_empty_value(reason):
    from backoffice.messages import problem_clause, reason_message

    details = _real_details()[reason]
    assert details, f"no real detail of {reason} is swept"
    for detail in details:
        for text in (reason_message(reason, detail), problem_clause(reason, detail)):
            shown = text.replace(" (Fortnox: ”Ogiltig verifikationsserie angiven”)", "")
            assert not [mark for mark in _EMPTY if mark in shown.replace("”Z-rapport 1001”", "")], (reason, detail, text)


# --- every sentence a user reads lives in messages/ -------------------------------------------------

_PACKAGE = Path(__file__).resolve().parent.parent / "backoffice"
#: Swedish: a letter English lacks, or a word English lacks (as in "har inte", "finns redan").
_SWEDISH = re.compile(
    r"[åäöÅÄÖ]|\b(och|att|inte|har|finns|saknas|igen|kan|ska|eller|som|med|det|den|ett|ingen|inga|inget|kunde|redan|nu)\b",
    re.IGNORECASE,
)
_ABBREVIATIONS = re.compile(r"\b(t\.ex|t\.o\.m|inkl|exkl|bl\.a|m\.m|o\.s\.v|nr)\.", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?…](\s|$)")


def _is_sentence(text: str) -> bool:
    """Swedish text that reads as a sentence or a piece of one: it ends one (``.``, ``!``, ``?``, ``…``;
    not an abbreviation's point) or runs to seven words. "Kostnadsställe", "Försäljning inkl. moms"
    and "Utgående moms på försäljning inom Sverige, 25 %" (a BAS account's name) are not."""
    plain = _ABBREVIATIONS.sub("", text).strip()
    if " " not in plain or not _SWEDISH.search(plain):
        return False
    words = len(re.findall(r"[^\W\d_]+", plain))
    return (words >= 2 and _SENTENCE_END.search(plain) is not None) or words >= 7


def _sentences_in(path: Path) -> list[str]:
    """The string constants of a module (f-strings' literal parts too) that are Swedish sentences;
    docstrings are the code's own English and are left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        f"{path.relative_to(_PACKAGE.parent)}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
        and _is_sentence(node.value)
    ]


def test_the_guard_knows_a_sentence_from_a_label():
    assert _is_sentence("Avstämningen mot Fortnox har startats.")
    assert _is_sentence(" har inga inställningar att kopiera ännu.")
    assert _is_sentence("Z-rapporten har inte bifogats (verifikationen exporterades innan underlag bifogades).")
    assert not _is_sentence("Försäljning per dag (inkl. moms, kr)")
    assert not _is_sentence("Utgående moms på försäljning inom Sverige, 25 %")
    assert not _is_sentence("Sålda presentkort")
    assert not _is_sentence("/foretag/integrationer/fortnox/avvikande-verifikation/<int:job_id>/las-igen")
    assert not _is_sentence("the token belongs to another register.")


def test_no_module_outside_messages_holds_a_swedish_sentence():
    """Every sentence a user reads lives in backoffice/messages/ (one module per feature), and the
    engine words' Swedish names in names.py; views, commands, the engine and the PDFs take them from
    there (style B0.6)."""
    found = []
    for path in sorted(_PACKAGE.rglob("*.py")):
        module = path.relative_to(_PACKAGE.parent).as_posix()
        if module.startswith("backoffice/messages/") or module == "backoffice/names.py":
            continue
        found += _sentences_in(path)
    assert found == []


def test_the_sie_command_counts_its_vouchers_with_the_one_plural_rule():
    assert sie_written("mars.se", 1) == "Skrev mars.se (1 verifikation)."
    assert sie_written("mars.se", 2) == "Skrev mars.se (2 verifikationer)."
