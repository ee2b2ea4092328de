"""E-mail when a human is needed, through a real SMTP server (aiosmtpd): which problems are mailed,
to whom, once a day, in the banner's words with the fix link; a mail server that is down; no
SMTP_HOST; the weekly summary; and each user's choice on E-postnotiser."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from backoffice.business_day import BUSINESS_TIMEZONE
from backoffice.companies.models import Membership, Role
from backoffice.db import now_utc
from backoffice.export.reasons import Reason
from backoffice.mail.models import MailPreference, OutgoingMail
from backoffice.mail.operations import GRACE
from backoffice.mail.tasks import send_mail
from backoffice.messages import reason_message
from backoffice.overview.views import business_today
from backoffice.scheduler import JOBS
from tests.fixtures import DEMO_MAPPING, fresh, open_problem
from tests.mail.conftest import PUBLIC_URL

LATER = GRACE + timedelta(minutes=1)


def outbox(db, company) -> list[OutgoingMail]:
    fresh(db)
    return db.scalars(select(OutgoingMail).where(OutgoingMail.company_id == company.id).order_by(OutgoingMail.id)).all()


def checked(html: str, name: str) -> bool:
    """Whether the page's checkbox ``name`` is ticked."""
    return "checked" in re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)


def test_an_inactive_account_is_mailed_to_the_admins_in_the_banners_words_with_the_fix_link(
    db, site, connect, smtp, mail_app
):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    open_problem(db, made.company, Reason.ACCOUNT_INACTIVE, "1910", {"account": 1910})

    send_mail(mail_app, now=now_utc() + LATER)

    [message] = smtp.inbox.to(made.admin.user.email)
    assert smtp.inbox.to(made.manager.user.email) == []  # managers only when they opt in
    assert message["From"] == "BackOffice <noreply@backoffice.example.se>"
    assert message["Subject"] == f"Åtgärd krävs: {made.company.name} – konto 1910 i Fortnox"
    body = message.get_content().replace("\r\n", "\n")
    assert reason_message(Reason.ACCOUNT_INACTIVE, {"account": 1910}) in body  # the banner's own words
    assert "Konto: 1910" in body
    assert f"Åtgärda detta: {PUBLIC_URL}/foretag/integrationer/fortnox/inaktiva-konton\n" in body
    assert f"{PUBLIC_URL}/konto/e-post" in body


def test_a_series_not_manual_names_the_series_and_links_to_the_wizards_series_step(db, site, connect, smtp, mail_app):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    open_problem(db, made.company, Reason.SERIES_NOT_MANUAL, "F", {"series": "F"})

    send_mail(mail_app, now=now_utc() + LATER)

    [message] = smtp.inbox.to(made.admin.user.email)
    body = message.get_content().replace("\r\n", "\n")
    assert "Fortnox error 2001940: Verifikationsserien är inte manuell (F)." in body
    assert "Verifikationsserie: F" in body
    assert f"Åtgärda detta: {PUBLIC_URL}/foretag/integrationer/fortnox/installningar/?step=serie" in body
    assert "verifikationsserie F" in message["Subject"]


def test_at_most_one_mail_per_problem_per_day_and_again_the_next_day(db, site, connect, smtp, mail_app):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    open_problem(db, made.company, Reason.AUTH_EXPIRED)
    # Noon in Stockholm, so that "the next day" is a different Swedish day whatever time the suite runs.
    noon = datetime.combine(business_today(), time(12), tzinfo=BUSINESS_TIMEZONE) + timedelta(days=1)

    for minutes in (0, 1, 30, 240):
        send_mail(mail_app, now=noon + timedelta(minutes=minutes))
    assert len(smtp.inbox.to(made.admin.user.email)) == 1
    send_mail(mail_app, now=noon + timedelta(days=1))

    messages = smtp.inbox.to(made.admin.user.email)
    assert len(messages) == 2
    assert "Din Fortnox-autentisering har upphört att gälla." in messages[1].get_content().replace("\r\n", "\n")
    assert "/integrations/fortnox/connect?next=" in messages[1].get_content().replace("\r\n", "\n")


def test_what_heals_by_itself_is_not_mailed(db, site, connect, smtp, mail_app):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    open_problem(db, made.company, Reason.ACCOUNT_INACTIVE, "1910", {"account": 1910})
    closed = open_problem(db, made.company, Reason.PERIOD_LOCKED, "", {"locked_through": "2026-10-31"})
    closed.closed_at = now_utc()
    db.commit()

    send_mail(mail_app, now=now_utc() + GRACE - timedelta(minutes=2))  # still within the grace period

    assert smtp.inbox.to(made.admin.user.email) == []
    send_mail(mail_app, now=now_utc() + LATER)
    [message] = smtp.inbox.to(made.admin.user.email)  # the closed problem never
    assert "inaktiva" in message.get_content().replace("\r\n", "\n")


def test_an_export_that_failed_after_its_retries_is_mailed(db, site, connect, smtp, mail_app):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    open_problem(db, made.company, Reason.EXPORT_FAILED)

    send_mail(mail_app, now=now_utc() + LATER)

    [message] = smtp.inbox.to(made.admin.user.email)
    assert "efter flera försök" in message.get_content().replace("\r\n", "\n")
    assert f"Åtgärda detta: {PUBLIC_URL}/zrapporter/?status=failed" in message.get_content().replace("\r\n", "\n")


def test_a_mail_server_that_is_down_is_retried_and_the_mail_goes_when_it_is_back(db, site, connect, smtp, mail_app):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    open_problem(db, made.company, Reason.ACCOUNT_MISSING, "3001", {"account": 3001})
    smtp.stop()
    now = now_utc() + LATER

    assert send_mail(mail_app, now=now) == 0

    [mail] = outbox(db, made.company)
    assert mail.sent_at is None and mail.attempts == 1 and mail.next_attempt_at > now
    assert "Connection" in mail.last_error or "refused" in mail.last_error.lower()
    smtp.start()
    send_mail(mail_app, now=now + timedelta(seconds=10))  # not yet due: nothing is sent
    assert smtp.inbox.to(made.admin.user.email) == []
    send_mail(mail_app, now=mail.next_attempt_at)
    [message] = smtp.inbox.to(made.admin.user.email)
    assert 'konto "3001" saknas i Fortnox' in message.get_content().replace("\r\n", "\n")
    [mail] = outbox(db, made.company)
    assert mail.sent_at is not None and mail.attempts == 2


def test_without_smtp_host_nothing_is_queued_and_the_settings_page_says_so(db, site, connect, app, smtp):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    open_problem(db, made.company, Reason.ACCOUNT_INACTIVE, "1910", {"account": 1910})

    assert send_mail(app, now=now_utc() + LATER) == 0  # the suite's app has no SMTP_HOST

    assert outbox(db, made.company) == []
    page = made.admin.get("/konto/e-post").text
    assert "E-post är inte konfigurerad (SMTP_HOST saknas), så inga e-postmeddelanden skickas." in page


def test_each_user_opts_in_or_out_on_e_postnotiser(db, site, connect, smtp, mail_app):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    field = f"problems_{made.company.id}"
    assert not checked(made.manager.get("/konto/e-post").text, field)
    assert checked(made.admin.get("/konto/e-post").text, field)  # the admins' default

    assert made.admin.post("/konto/e-post", {f"weekly_{made.company.id}": "y"}).status_code == 302  # problems off
    assert made.manager.post("/konto/e-post", {field: "y"}).status_code == 302  # manager: on
    open_problem(db, made.company, Reason.ACCOUNT_INACTIVE, "1910", {"account": 1910})
    send_mail(mail_app, now=now_utc() + LATER)

    assert smtp.inbox.to(made.admin.user.email) == []
    assert len(smtp.inbox.to(made.manager.user.email)) == 1
    fresh(db)
    assert db.get(MailPreference, (made.admin.user.id, made.company.id)).weekly is True
    assert checked(made.manager.get("/konto/e-post").text, field)
    assert not checked(made.admin.get("/konto/e-post").text, field)


def test_a_user_of_several_companies_chooses_per_company_which_mails_they_get(db, site, connect, smtp, mail_app):
    krogen = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    bistron = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    owner = krogen.admin  # admin of Krogen, and a manager of Bistron too (a byrå's or an owner's login)
    db.add(Membership(user_id=owner.user.id, company_id=bistron.company.id, role=Role.MANAGER))
    db.commit()
    for made in (krogen, bistron):
        open_problem(db, made.company, Reason.ACCOUNT_INACTIVE, "1910", {"account": 1910})

    page = owner.get("/konto/e-post").text
    # Noon in Stockholm on two days to come, so that they are two Swedish days whenever the suite runs.
    noon = datetime.combine(business_today() + timedelta(days=1), time(12), tzinfo=BUSINESS_TIMEZONE)
    send_mail(mail_app, now=noon)

    # The defaults: each company by the role there, so Krogen's problems and not Bistron's.
    assert [m["Subject"] for m in smtp.inbox.to(owner.user.email)] == [
        f"Åtgärd krävs: {krogen.company.name} – konto 1910 i Fortnox"]
    rows = {company_id: row for company_id, row in re.findall(r'<tr data-company="(\d+)">(.*?)</tr>', page, re.S)}
    assert krogen.company.name in rows[str(krogen.company.id)] and bistron.company.name in rows[str(bistron.company.id)]
    assert checked(rows[str(krogen.company.id)], f"problems_{krogen.company.id}")
    assert not checked(rows[str(bistron.company.id)], f"problems_{bistron.company.id}")
    assert not checked(rows[str(krogen.company.id)], f"weekly_{krogen.company.id}")

    # Bistron's problems and Krogen's weekly summary instead.
    assert owner.post("/konto/e-post", {f"problems_{bistron.company.id}": "y",
                                        f"weekly_{krogen.company.id}": "y"}).status_code == 302
    send_mail(mail_app, now=noon + timedelta(days=1))

    subjects = [m["Subject"] for m in smtp.inbox.to(owner.user.email)][1:]
    assert subjects == [f"Åtgärd krävs: {bistron.company.name} – konto 1910 i Fortnox"]
    fresh(db)
    stored = {(p.company_id, p.problems, p.weekly) for p in db.scalars(
        select(MailPreference).where(MailPreference.user_id == owner.user.id))}
    assert stored == {(krogen.company.id, False, True), (bistron.company.id, True, False)}
    # Bistron's admin is untouched by the owner's choices, and its manager still gets nothing.
    assert len(smtp.inbox.to(bistron.admin.user.email)) == 2  # one on each day
    assert smtp.inbox.to(bistron.manager.user.email) == []


def test_a_choice_equal_to_the_default_follows_the_role_and_goes_with_the_membership(db, site, connect, smtp):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    field = f"problems_{made.company.id}"
    manager = made.manager

    assert manager.post("/konto/e-post", {field: "y"}).status_code == 302
    assert manager.post("/konto/e-post", {}).status_code == 302  # back to a manager's default
    fresh(db)
    assert db.get(MailPreference, (manager.user.id, made.company.id)) is None
    assert manager.post("/konto/e-post", {field: "y", f"weekly_{made.company.id}": "y"}).status_code == 302
    membership = db.scalar(select(Membership).where(Membership.user_id == manager.user.id))
    db.delete(membership)
    db.commit()

    assert db.get(MailPreference, (manager.user.id, made.company.id)) is None


def test_veckosammanfattning_goes_on_monday_to_those_who_opted_in(db, site, connect, reports, smtp, mail_app):
    from backoffice.export.models import ExportState
    from backoffice.export.states import transition
    from tests.fixtures import jobs_of

    made = connect(site(registers=("K1", "K2")), active=True, mapping=DEMO_MAPPING)
    today = business_today()
    last_monday = today - timedelta(days=today.weekday() + 7)
    reports(made, days=10, registers=("K1",), start=last_monday - timedelta(days=3))
    reports(made, days=7, registers=("K2",), start=last_monday - timedelta(days=3))  # K2 misses Fri–Sun
    tuesday = last_monday + timedelta(days=1)
    for job in jobs_of(db, made.company):
        if job.zreport.business_date == tuesday:
            transition(job, ExportState.EXPORTED)  # Tuesday is booked, the other days wait
    db.commit()
    assert made.manager.post("/konto/e-post", {f"weekly_{made.company.id}": "y"}).status_code == 302
    monday_morning = datetime.combine(last_monday + timedelta(days=7), time(7), tzinfo=BUSINESS_TIMEZONE)

    send_mail(mail_app, now=monday_morning - timedelta(days=1))  # a Sunday: no summary
    assert [m for m in smtp.inbox.to(made.manager.user.email) if "Veckosammanfattning" in m["Subject"]] == []
    send_mail(mail_app, now=monday_morning)
    send_mail(mail_app, now=monday_morning + timedelta(hours=2))

    [weekly] = [m for m in smtp.inbox.to(made.manager.user.email) if "Veckosammanfattning" in m["Subject"]]
    assert smtp.inbox.to(made.admin.user.email) == []  # the admin did not opt in
    body = weekly.get_content().replace("\r\n", "\n")
    week = last_monday.isocalendar().week
    assert weekly["Subject"] == f"Veckosammanfattning för {made.company.name}, vecka {week}"
    assert f"{last_monday} – {last_monday + timedelta(days=6)}" in body
    assert "Bokförda dagar: 1 av 7" in body
    assert "Dagar med saknade Z-rapporter: 3" in body
    assert "Öppna problem: 0" in body
    lines = [line for line in body.splitlines() if line[:10].count("-") == 2 and line[:4].isdigit()]
    assert [line[:10] for line in lines] == [(last_monday + timedelta(days=i)).isoformat() for i in range(7)]
    assert "(1 kassa saknas)" in lines[-1] and "saknas" not in lines[3]
    columns = [re.split(" {2,}", line) for line in lines]
    assert columns[1][1] == columns[1][2] != "0,00"  # Tuesday: all of the day's sales are booked
    assert columns[2][2] == "0,00" and columns[2][1] != "0,00"  # Wednesday waits for export
    assert date.fromisoformat(lines[0][:10]).weekday() == 0


def test_the_mail_job_is_on_the_workers_schedule():
    assert any(job["func"] == "backoffice.mail.tasks:send_mail" for job in JOBS)


def test_the_smtp_settings_come_from_the_environment_and_the_password_is_never_shown(tmp_path):
    from backoffice.config import load_settings
    from backoffice.mail.smtp import SmtpSettings

    environ = {"SMTP_HOST": "smtp.example.se", "SMTP_USERNAME": "bo", "SMTP_PASSWORD": "hemligt-123"}
    relay = load_settings(tmp_path, {"SMTP_HOST": "relay", "SMTP_STARTTLS": "0"})
    settings = SmtpSettings.from_config(load_settings(tmp_path, environ))

    assert (settings.host, settings.port, settings.starttls, settings.username) == ("smtp.example.se", 587, True, "bo")
    assert "hemligt" not in repr(settings)
    assert (relay["SMTP_PORT"], relay["SMTP_STARTTLS"]) == (25, False)
    assert SmtpSettings.from_config(load_settings(tmp_path, {})) is None


def test_a_missing_z_number_is_mailed_naming_the_register(db, site, connect, smtp, mail_app):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    detail = {"register_id": made.registers["K1"].id, "register": "K1", "register_name": "Kassa 1",
              "first_missing": 40, "last_missing": 40}
    open_problem(db, made.company, Reason.ZREPORT_MISSING, "K1:40", detail)

    send_mail(mail_app, now=now_utc() + LATER)

    [message] = smtp.inbox.to(made.admin.user.email)
    body = message.get_content().replace("\r\n", "\n")
    assert "Z-rapport 40 från Kassa 1 saknas: dagens försäljning har inte nått bokföringen." in body
    assert "Kassa: Kassa 1 (K1)" in body
    assert f"Åtgärda detta: {PUBLIC_URL}/zrapporter/?kassa={made.registers['K1'].id}" in body
    assert message["Subject"] == f"Åtgärd krävs: {made.company.name} – Z-rapport 40 saknas från Kassa 1"


def test_a_voucher_that_differs_in_fortnox_is_mailed_for_a_person_to_compare(db, site, connect, smtp, mail_app):
    made = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    detail = {"found_series": "F", "found_number": 7, "differences": ["rows"], "sent_series": "F",
              "sent_date": "2026-11-30", "sent_description": "Kassa 1 Z 7"}
    open_problem(db, made.company, Reason.VOUCHER_DIFFERS, "F 7", detail)

    send_mail(mail_app, now=now_utc() + LATER)

    [message] = smtp.inbox.to(made.admin.user.email)
    assert message["Subject"] == f"Åtgärd krävs: {made.company.name} – verifikation F 7 i Fortnox skiljer sig"
    assert "Be er redovisningskonsult jämföra verifikation F 7 i Fortnox med Z-rapporten." in (
        message.get_content().replace("\r\n", "\n"))


def test_a_lapsed_persons_login_is_mailed_with_the_service_account_that_never_lapses(db, site, connect, smtp, mail_app):
    from backoffice.integrations.fortnox.models import ConnectionKind, FortnoxConnection

    person = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    service = connect(site(registers=("K1",)), active=True, mapping=DEMO_MAPPING)
    db.get(FortnoxConnection, service.connection_id).kind = ConnectionKind.SERVICE
    db.commit()
    for made in (person, service):
        open_problem(db, made.company, Reason.AUTH_EXPIRED)  # e.g. the employee who connected has left

    send_mail(mail_app, now=now_utc() + LATER)

    [to_person] = smtp.inbox.to(person.admin.user.email)
    [to_service] = smtp.inbox.to(service.admin.user.email)
    body = to_person.get_content().replace("\r\n", "\n")
    assert ("Ett tjänstekonto slutar inte gälla om personen slutar eller om inget exporteras på länge. "
            f"Koppla med tjänstekonto (rekommenderas): {PUBLIC_URL}/integrations/fortnox/connect?account_type=service"
            in body)
    assert "tjänstekonto" not in to_service.get_content()
