"""The manager's view of every banner in Chromium: every problem kind, with the detail the code that
opens it really gives, renders a sentence that names what it is about (never an empty name), and
where only an admin has the button the manager is told to ask the admin, by name; every button a
manager does get leads to a page they may see, and no notification tells a manager to press a button
only an admin has."""

from __future__ import annotations

import json
import re

import pytest

from backoffice.db import now_utc
from backoffice.export.models import Problem
from tests.browser.conftest import log_in
from tests.fixtures import DEMO_MAPPING, fresh
from tests.test_messages import _EMPTY, _real_details

pytestmark = pytest.mark.browser


def test_a_manager_sees_every_problem_kind_with_its_detail_and_whom_to_ask(db, shop, connect, new_page):
    made = connect(shop(), active=True, mapping=DEMO_MAPPING)
    kinds = {kind: details[0] for kind, details in sorted(_real_details().items())}
    fresh(db)
    for kind, detail in kinds.items():
        db.add(Problem(company_id=made.company.id, kind=kind, key=kind, detail=json.dumps(detail), opened_at=now_utc()))
    db.commit()
    page = new_page()
    log_in(page, made.manager_email)
    page.goto("/")

    shown = {page.locator(".banner").nth(i).get_attribute("data-kind"): page.locator(".banner").nth(i).inner_text()
             for i in range(page.locator(".banner").count())}
    links = [a.get_attribute("href") for a in page.locator(".banner a.button:not([target])").all()]

    assert set(shown) == set(kinds)
    asked = f"Det här åtgärdar en administratör: be {made.admin_email} att göra det."
    for kind, text in shown.items():
        assert not [mark for line in text.splitlines() for mark in _EMPTY if mark in line], (kind, text)
        if kind in ("mapping_incomplete", "mapping_missing", "series_missing", "series_not_manual",
                    "account_missing", "auth_expired", "connection_invalidated", "access_denied"):
            assert asked in text and "Åtgärda detta" not in text, kind
    for href in links:
        assert page.request.get(href).status == 200, href

    # Each notification (Visa) explains the cause with its detail, and never tells a manager to press a
    # button only an admin has.
    told = {}
    for problem_id in [p.id for p in db.query(Problem).filter_by(company_id=made.company.id)]:
        page.goto(f"/foretag/notifikationer/{problem_id}")
        section = page.locator("section.notification")
        text = section.inner_text()
        buttons = {b.inner_text() for b in section.locator("a.button, button").all()}
        wrong = [mark for line in text.splitlines() for mark in _EMPTY if mark in line]
        # (Inställningar/… is a menu of Fortnox's, where a manager may go.)
        wrong += [label for label in ("Åtgärda detta", "Inställningar")
                  if re.search(re.escape(label) + "(?!/)", text) and label not in buttons]
        if wrong:
            told[section.locator("h1").inner_text()] = wrong
    assert told == {}
