"""A voucher typed over in Fortnox after a lost answer: the fix screen, over real HTTP with the emulator.

The answer to our post is lost after Fortnox stored the voucher; someone types the voucher over in
Fortnox (the emulator's control API, as Fortnox's UI would); the next attempt finds it with our token,
differing, and blocks the job (``voucher_differs``). The banner's **Åtgärda detta** leads to the page
that shows both vouchers per account; an admin accepts Fortnox's voucher, or corrects it and has it read
again. Nothing ever posts a second voucher.
"""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

from backoffice.export.models import AttachmentState, ExportState, VoucherAttachment
from backoffice.intake.views import format_sek
from tests.fixtures import DEMO_MAPPING, banners, export_pending, fresh, jobs_of


def voucher_posts(emulator, tenant_id: int) -> int:
    return sum(1 for e in emulator.control.requests(tenant_id) if e["method"] == "POST" and e["path"] == "/3/vouchers")


def typed_over(db, site, connect, reports, emulator):
    """A site whose one report's voucher Fortnox stored, lost the answer of, and then had typed over:
    100 kr of the card payment (1580) moved to Swish (1930). Returns (site, job, the voucher as stored)."""
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    reports(made, days=1)
    emulator.control.add_fault("timeout_after_store", method="POST", path_prefix="/3/vouchers",
                               tenant_id=made.tenant_id, seconds=0, after="drop")
    assert export_pending(db, made.company) == ["pending"]  # stored, but we do not know it
    [stored] = emulator.control.vouchers(made.tenant_id)
    card = next(r for r in stored["rows"] if r["account"] == 1580)
    moved = [dict(card, debit=f"{float(card['debit']) - 100:.2f}"), {"account": 1930, "debit": "100.00", "credit": "0.00"}]
    rows = [dict(r, removed=True) for r in stored["rows"] if r["account"] == 1580]
    rows += [r for r in stored["rows"] if r["account"] != 1580] + moved
    emulator.control.type_over_voucher(made.tenant_id, stored["financial_year"], stored["series"], stored["number"], rows)

    assert export_pending(db, made.company) == ["blocked"]
    [job] = jobs_of(db, made.company)
    assert (job.reason_code, job.reason_key, job.in_doubt) == ("voucher_differs", f"F {stored['number']}", True)
    return made, job, stored


def fix_link(page: str) -> str:
    [banner] = banners(page)
    return unescape(re.search(r'href="([^"]+)">Åtgärda detta', banner).group(1))


def row(page: str, account: int) -> str:
    return re.search(rf'<tr data-account="{account}"[^>]*>(.*?)</tr>', page, re.S).group(0)


def test_the_fix_screen_shows_what_we_sent_beside_what_fortnox_has_and_accepting_books_nothing_twice(
        db, site, connect, reports, emulator):
    made, job, stored = typed_over(db, site, connect, reports, emulator)
    card_sent = format_sek(Decimal(next(r for r in stored["rows"] if r["account"] == 1580)["debit"]))

    link = fix_link(made.admin.get("/").text)
    page = made.admin.get(link).text
    denied = made.manager.post(link + "/godkann")
    accepted = made.admin.post(link + "/godkann")
    shown = made.admin.get(accepted.headers["Location"]).text

    assert link == f"/foretag/integrationer/fortnox/avvikande-verifikation/{job.id}"
    assert f"Verifikation F {stored['number']} i Fortnox skiljer sig från den vi skickade" in page
    assert 'class="differs"' in row(page, 1580) and f"debet {card_sent}" in row(page, 1580)
    assert '<td class="num">-100,00</td>' in row(page, 1580)
    assert '<td class="num">100,00</td>' in row(page, 1930) and 'class="differs"' in row(page, 1930)
    assert 'class="differs"' not in row(page, 2611)  # the VAT is as sent
    assert "Godkänn verifikation F" in page and "Läs verifikationen från Fortnox igen" in page
    assert "Åtgärda detta" not in "".join(banners(made.manager.get("/").text))  # admins decide
    assert denied.status_code == 403
    assert accepted.status_code == 302 and accepted.headers["Location"] == f"/zrapporter/{job.zreport_id}"
    assert f"Verifikation F {stored['number']} i Fortnox är nu Z-rapportens bokföring" in unescape(shown)
    [job] = jobs_of(db, made.company)
    assert (job.state, job.in_doubt, job.voucher_series, job.voucher_number, job.voucher_year) == (
        ExportState.EXPORTED, False, "F", stored["number"], stored["financial_year"])
    assert (job.attempts[-1].outcome, job.attempts[-1].actor) == ("accepted", made.admin.user.email)
    assert db.query(VoucherAttachment).filter_by(job_id=job.id).one().state == AttachmentState.PENDING
    assert banners(made.admin.get("/").text) == []
    assert voucher_posts(emulator, made.tenant_id) == 1 and len(emulator.control.vouchers(made.tenant_id)) == 1
    # Settled: the page leads back to the report, and accepting again changes nothing.
    assert made.admin.get(link, allow_redirects=False).headers["Location"].endswith(f"/zrapporter/{job.zreport_id}")
    assert made.admin.post(link + "/godkann").status_code == 302
    assert [j.state for j in jobs_of(db, made.company)] == [ExportState.EXPORTED]


def test_corrected_in_fortnox_and_read_again_it_is_adopted_without_a_second_post(db, site, connect, reports, emulator):
    made, job, stored = typed_over(db, site, connect, reports, emulator)
    link = fix_link(made.admin.get("/").text)
    # The accountant corrects the voucher in Fortnox back to what we sent (the typed rows struck out).
    emulator.control.type_over_voucher(made.tenant_id, stored["financial_year"], stored["series"], stored["number"],
                                       stored["rows"])

    again = made.admin.post(link + "/las-igen")

    assert again.status_code == 302
    [job] = jobs_of(db, made.company)
    assert (job.state, job.in_doubt, job.attempts[-1].outcome) == (ExportState.PENDING, True, "look_again")
    assert export_pending(db, made.company) == ["exported"]
    [job] = jobs_of(db, made.company)
    assert job.voucher_number == stored["number"] and job.attempts[-1].outcome == "found"
    assert voucher_posts(emulator, made.tenant_id) == 1 and len(emulator.control.vouchers(made.tenant_id)) == 1
    fresh(db)
    assert banners(made.admin.get("/").text) == []


def test_read_again_while_it_still_differs_blocks_it_again_and_never_posts(db, site, connect, reports, emulator):
    made, job, stored = typed_over(db, site, connect, reports, emulator)

    assert made.admin.post(fix_link(made.admin.get("/").text) + "/las-igen").status_code == 302
    assert export_pending(db, made.company) == ["blocked"]

    [job] = jobs_of(db, made.company)
    assert (job.reason_code, job.in_doubt) == ("voucher_differs", True)
    assert voucher_posts(emulator, made.tenant_id) == 1
    assert made.admin.get(fix_link(made.admin.get("/").text)).status_code == 200
