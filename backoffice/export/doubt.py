"""A job in doubt: does Fortnox hold the voucher we sent, exactly as we sent it?

A post whose answer was lost may or may not have stored its voucher. Before anything is posted
again, :func:`look_up` searches Fortnox for **what the job sent** (its stored series, financial year,
date and token, ``ExportJob.sent_*``), never for a voucher built from today's mapping: the admin may
have picked another series or renamed the company since. Only :data:`ABSENT`, which comes from a
read of every voucher of that financial year, lets the engine build a new voucher and post it.

A voucher found with our token is read with its rows and compared with the request body we sent
(:func:`differences`: series, date, rows; not the description, which Fortnox may normalise). One
that differs is never adopted and never posted again: the job is blocked, naming both vouchers.

Invariants: the token alone identifies our voucher (it is unique and ASCII, and never sent for
another job); "absent" is concluded only from a read whose completeness does not depend on how
Fortnox reads date filters (``FortnoxClient.find_vouchers``).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from backoffice.export.models import ExportJob
from backoffice.integrations.fortnox.client import FortnoxClient, carries_token, described_as

log = logging.getLogger(__name__)

#: How the token is written into the voucher's ``Comments``.
COMMENTS_PREFIX = "Export-id: "


def new_token() -> str:
    """A fresh token: 20 lower-case hex digits (80 random bits), unique by a database constraint too."""
    return secrets.token_hex(10)


def comments_for(token: str) -> str:
    """The voucher's ``Comments``: our token, readable for an accountant who wonders what it is."""
    return f"{COMMENTS_PREFIX}{token}"


@dataclass(frozen=True, slots=True)
class Sent:
    """What a job's last post sent: the request body's voucher and the ``financialyear`` it went to.

    series, day, description: as in the body. year: Fortnox's financial-year id, or None for a job
    put in doubt before the year was kept (the caller finds it from the date). token: None for a job
    put in doubt before tokens (then the description is matched, spacing and punctuation aside).
    rows: the body's ``VoucherRows``.
    """

    series: str
    day: date
    description: str
    year: int | None
    token: str | None
    rows: tuple[dict[str, Any], ...] = field(default=())


def sent_by(job: ExportJob) -> Sent | None:
    """What ``job`` sent last, from its columns and its last attempt's request body; None if unknown."""
    body = next((a.request_body for a in reversed(job.attempts) if a.request_body), None)
    voucher = (json.loads(body, parse_float=Decimal).get("Voucher") or {}) if body else {}
    series = job.sent_series or voucher.get("VoucherSeries")
    day = job.sent_date or (date.fromisoformat(voucher["TransactionDate"]) if voucher.get("TransactionDate") else None)
    description = job.voucher_description or voucher.get("Description")
    if not (series and day and description):
        return None
    return Sent(series, day, description, job.sent_year, job.voucher_token, tuple(voucher.get("VoucherRows") or ()))


@dataclass(frozen=True, slots=True)
class Found:
    """The voucher Fortnox holds with our token (with its rows), and how it differs from what was sent."""

    voucher: dict[str, Any]
    differences: tuple[str, ...]


#: Fortnox certainly holds no voucher of the job: a new one may be built and posted.
ABSENT = None


def look_up(client: FortnoxClient, sent: Sent, year: int) -> Found | None:
    """The voucher Fortnox holds for ``sent`` in financial year ``year``, or ``ABSENT``.

    Several vouchers with our token (a duplicate made before tokens could prevent it) yield the
    first that equals what was sent, else the first.
    """
    matches = carries_token(sent.token) if sent.token else described_as(sent.description)
    items = client.find_vouchers(sent.series, year, sent.day, matches)
    if not items:
        return ABSENT
    found = []
    for item in sorted(items, key=lambda i: (i.get("VoucherSeries") != sent.series, i.get("VoucherNumber") or 0)):
        whole = client.get_voucher(item["VoucherSeries"], int(item["VoucherNumber"]), financial_year=year)
        found.append(Found(whole, differences(sent, whole)))
        if not found[-1].differences:
            break
    if len(items) > 1:
        log.warning("Fortnox holds %s vouchers marked %s: %s", len(items), sent.token or sent.description,
                    [f"{i.get('VoucherSeries')} {i.get('VoucherNumber')}" for i in items])
    return next((f for f in found if not f.differences), found[0])


def differences(sent: Sent, stored: dict[str, Any]) -> tuple[str, ...]:
    """What of ``sent`` the voucher Fortnox stored does not have: "series", "date", "rows" (in that order).

    Rows are compared as a multiset of (account, debit, credit, cost centre), amounts as decimals;
    removed rows (``Removed``) do not count. The description is not compared: Fortnox may store it
    normalised, and the token already says whose voucher it is.
    """
    out = []
    if stored.get("VoucherSeries") != sent.series:
        out.append("series")
    if str(stored.get("TransactionDate")) != sent.day.isoformat():
        out.append("date")
    if _rows(r for r in stored.get("VoucherRows") or () if not r.get("Removed")) != _rows(sent.rows):
        out.append("rows")
    return tuple(out)


def _rows(rows: Any) -> Counter[tuple[int, Decimal, Decimal, str | None]]:
    return Counter(
        (int(r["Account"]), Decimal(str(r.get("Debit") or 0)), Decimal(str(r.get("Credit") or 0)), r.get("CostCenter") or None)
        for r in rows
    )
