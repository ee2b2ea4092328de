"""Which register gets which cost centre when settings are copied (pure): by name, by id for a file,
else asked; a source without cost centres leaves each register its own."""

from __future__ import annotations

from backoffice.accounts.copy import ASK, NONE, SourceRegister, suggest_cost_centres

TARGETS = [("T1", "Kassa 1", None), ("T2", "Baren", "OLD")]


def suggested(sources, targets=TARGETS):
    return [(c.pos_id, c.suggested, c.matched_by) for c in suggest_cost_centres(sources, targets)]


def test_another_restaurants_registers_are_matched_by_name_and_the_rest_asked():
    sources = [SourceRegister("K1", " kassa  1 ", "RK1"), SourceRegister("K2", "Kassa 2", "RK2")]
    assert suggested(sources) == [("T1", "RK1", "name"), ("T2", ASK, None)]


def test_a_register_of_the_same_name_without_a_cost_centre_gets_none():
    sources = [SourceRegister("K1", "Kassa 1", None), SourceRegister("K2", "Baren", "RK2")]
    assert suggested(sources) == [("T1", NONE, "name"), ("T2", "RK2", "name")]


def test_a_file_made_for_these_registers_gives_the_unnamed_ones_none_and_another_file_asks():
    assert suggested([SourceRegister("T1", None, "RK1")]) == [("T1", "RK1", "id"), ("T2", NONE, None)]
    assert suggested([SourceRegister("T1", None, "RK1"), SourceRegister("K9", None, "X")]) == [
        ("T1", "RK1", "id"), ("T2", ASK, None)]


def test_a_source_without_cost_centres_keeps_each_registers_own():
    assert suggested([SourceRegister("K1", "Kassa 1", None)]) == [("T1", NONE, None), ("T2", "OLD", None)]
    assert suggested([]) == [("T1", NONE, None), ("T2", "OLD", None)]
