"""Attaching Z-reports as people see it: the yellow banner of an old consent, its Fortnox login,
"Bifoga underlag för tidigare dagar" with its progress, and the Z-report's history."""

from __future__ import annotations

from html import unescape

from sqlalchemy import select

from backoffice.export.models import AttachmentState, VoucherAttachment
from backoffice.integrations.fortnox.models import FortnoxConnection
from tests.fixtures import ATTACH_SCOPE, DEMO_MAPPING, OLD_SCOPE, run_attachments, run_jobs

BANNER = "Logga in på Fortnox igen för att bifoga Z-rapporterna som underlag"
MISSING = "Verifikation skapad, underlag saknas"
ATTACH = "/foretag/integrationer/fortnox/bifoga-underlag"


def test_a_connection_made_before_gets_a_yellow_banner_whose_fix_runs_the_fortnox_login(db, site, connect, emulator):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING, scope=OLD_SCOPE)
    emulator.control.set_auto_approve(True, tenant_id=made.tenant_id)

    admin = unescape(made.admin.get("/zrapporter/").text)
    manager = unescape(made.manager.get("/zrapporter/").text)

    assert BANNER in admin and 'class="banner warning"' in admin and "Åtgärda detta" in admin
    assert BANNER in manager and "/integrations/fortnox/connect" not in manager  # only an admin logs in
    assert "Bifoga underlag för tidigare dagar" not in made.admin.get("/foretag/integrationer/").text
    # Åtgärda detta: Fortnox's consent (auto-approved here) with the new scopes, and back.
    fix = admin.split(BANNER, 1)[1].split('href="', 1)[1].split('"', 1)[0]
    back = made.admin.http.get(made.admin.url + fix, timeout=30)

    assert back.status_code == 200 and BANNER not in unescape(back.text)
    db.expire_all()
    scope = db.get(FortnoxConnection, made.connection_id).scope.split()
    assert {"inbox", "connectfile", "bookkeeping"} <= set(scope)
    assert "Bifoga underlag för tidigare dagar" in back.text or "Bifoga underlag för tidigare dagar" in \
        made.admin.get("/foretag/integrationer/").text


def test_a_new_consent_attaches_what_waited_for_it(db, site, connect, reports, emulator):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING, scope=OLD_SCOPE)
    reports(made, days=2)
    run_jobs(db)
    states = db.scalars(select(VoucherAttachment.state).where(VoucherAttachment.company_id == made.company.id)).all()
    assert states == [AttachmentState.NEEDS_CONSENT] * 2 and run_attachments(db, made.company) == []
    emulator.control.set_auto_approve(True, tenant_id=made.tenant_id)

    made.admin.http.get(made.admin.url + "/integrations/fortnox/connect", timeout=30)

    assert run_attachments(db, made.company) == ["attached", "attached"]


def test_the_z_report_shows_a_voucher_without_its_file_and_then_with_it(db, site, connect, reports, emulator):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING, scope=ATTACH_SCOPE)
    [record] = reports(made, days=1)
    run_jobs(db)
    emulator.control.add_fault("500", count=1, method="POST", path_prefix="/3/inbox", tenant_id=made.tenant_id)
    assert run_attachments(db, made.company) == ["pending"]

    missing = unescape(made.manager.get(f"/zrapporter/{record.id}").text)
    run_attachments(db, made.company, now=_later(6))
    attached = unescape(made.manager.get(f"/zrapporter/{record.id}").text)

    assert MISSING in missing and "Nytt försök görs automatiskt" in missing
    assert MISSING not in attached and "Z-rapporten (PDF) bifogad" in attached


def test_bifoga_underlag_for_tidigare_dagar_reports_its_progress_and_adds_nothing_twice(
        db, site, connect, reports, emulator):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING, scope=ATTACH_SCOPE)
    reports(made, days=3)
    run_jobs(db)
    for attachment in db.scalars(select(VoucherAttachment).where(VoucherAttachment.company_id == made.company.id)):
        db.delete(attachment)  # exported before attaching existed
    db.commit()
    json_headers = {"Accept": "application/json"}

    card = made.manager.get("/foretag/integrationer/").text
    refused = made.manager.post(ATTACH, csrf=False, headers=json_headers)
    started = made.manager.post(ATTACH, headers=json_headers)
    before = made.manager.get(started.json()["progress_url"]).json()
    run_attachments(db, made.company)
    after = made.manager.get(started.json()["progress_url"]).json()
    again = made.manager.post(ATTACH, headers=json_headers)
    run_attachments(db, made.company)
    second = made.manager.get(again.json()["progress_url"]).json()

    assert "Bifoga underlag för tidigare dagar" in card and 'id="attach-dialog"' in card
    assert refused.status_code == 400
    assert started.status_code == 202 and started.json()["total"] == 3
    assert before["pending"] == 3 and before["done"] is False and before["percent"] == 0
    assert (after["attached"], after["already_there"], after["failed"], after["done"]) == (3, 0, 0, True)
    assert after["text"] == "Bifogade: 3, hade redan underlag: 0."
    assert (second["attached"], second["already_there"], second["done"]) == (0, 3, True)
    states = db.scalars(select(VoucherAttachment.state).where(VoucherAttachment.company_id == made.company.id)).all()
    assert states == [AttachmentState.ATTACHED] * 3
    connected = [v["files"] for v in emulator.control.vouchers(made.tenant_id)]
    assert [len(files) for files in connected] == [1, 1, 1]


def test_bifoga_underlag_needs_the_new_consent(db, site, connect):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING, scope=OLD_SCOPE)

    refused = made.admin.post(ATTACH, headers={"Accept": "application/json"})

    assert refused.status_code == 409 and BANNER in refused.json()["error"]


def _later(seconds: float):
    from tests.fixtures import later

    return later(seconds)
