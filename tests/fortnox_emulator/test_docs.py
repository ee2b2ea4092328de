"""docs/EMULATOR.md lists every error kind exactly as errors.py defines it."""

from __future__ import annotations

import pytest

from fortnox_emulator.errors import ALL_ERROR_KINDS
from tests.fortnox_emulator.conftest import REPO_ROOT

DOC = (REPO_ROOT / "docs" / "EMULATOR.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", ALL_ERROR_KINDS, ids=[k.name for k in ALL_ERROR_KINDS])
def test_every_error_kind_is_documented_with_its_status_code_and_message(kind):
    assert f"| {kind.name} | {kind.status} | {kind.code} | `{kind.message}` |" in DOC


def test_unknown_codes_come_from_the_reserved_range_and_codes_are_unique():
    codes = [k.code for k in ALL_ERROR_KINDS]
    ours = [k for k in ALL_ERROR_KINDS if k.source.startswith("no source") or "code ours" in k.source]
    assert len(codes) == len(set(codes))
    assert all(2_999_000 <= k.code <= 2_999_999 for k in ours)
