"""Demo data for ``make run``: a restaurant, an admin, two registers and a month of Z-reports.

The reports are generated deterministically and go through the same intake as a register's, so
the demo shows exactly what production would store.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.companies.models import Company, Register, Role, User
from backoffice.db import business_today, session
from backoffice.intake.operations import find_zreport, store_zreport
from backoffice.messages import demo as msg
from backoffice.money import ORE, to_ore
from backoffice.zreport.models import ZReportRecord
from backoffice.zreport.schemas import parse_document

log = logging.getLogger(__name__)

DEMO_COMPANY = "Krogen AB"
DEMO_ADMIN = "admin@krogen.se"
DEMO_REGISTERS = (("K1", "Kassa 1", "CR-00017"), ("K2", "Kassa 2", "CR-00018"))

#: (product group, VAT rate, typical gross per day) of a restaurant day.
_GROUPS = (("Mat", "12", 14000), ("Dryck", "25", 5200), ("Alkoholfritt", "12", 1800), ("Avhämtning", "6", 2400))


def _wobble(register_id: str, z_number: int, part: int, seed: int, ore: int) -> Decimal:
    """A deterministic amount in [0, ``ore``) öre for one report number: the day-to-day variation."""
    return Decimal(random.Random(f"{register_id}/{z_number}/{part}/{seed}").randrange(ore)) * ORE


#: Returns come on every third Z-number: (base amount, variation in öre).
_RETURNS = (Decimal(150), 10_000)


def zreport_document(register_id: str, register_name: str, z_number: int, business_date: date, seed: int = 0) -> dict:
    """A balanced zreport/v1 document for one day of one register, deterministic for its arguments
    (``closed_at`` is the next day at 00:12 UTC, or a minute ago when that has not come yet).

    Its grand totals are those of a register whose reports 1 … ``z_number`` were all made by this
    function, so consecutive reports pass the completeness check: a day's gross per product group
    is ``typical + w(z) − w(z − 1)``, which adds up over the days to ``z × typical + w(z) − w(0)``.
    """
    rng = random.Random(f"{register_id}/{z_number}/{business_date}/{seed}")
    sales = []
    grand_sales = Decimal(9_000_000)
    for part, (group, rate, typical) in enumerate(_GROUPS):
        room = typical * 50  # öre: the gross varies by up to ± half of typical
        gross = to_ore(Decimal(typical) + _wobble(register_id, z_number, part, seed, room)
                       - _wobble(register_id, z_number - 1, part, seed, room))
        grand_sales += z_number * Decimal(typical) + _wobble(register_id, z_number, part, seed, room) - _wobble(
            register_id, 0, part, seed, room)
        vat = to_ore(gross * Decimal(rate) / (100 + Decimal(rate)))
        sales.append({"product_group": group, "vat_rate": rate, "gross": str(gross), "vat": str(vat), "count": rng.randint(10, 300)})
    returns = []
    base, room = _RETURNS
    if z_number % 3 == 0:
        gross = to_ore(base + _wobble(register_id, z_number, 9, seed, room) - _wobble(register_id, z_number - 3, 9, seed, room))
        returns.append({"product_group": "Dryck", "vat_rate": "25", "gross": str(gross), "vat": str(to_ore(gross / 5)), "count": 1})
    last_return = z_number - z_number % 3
    grand_returns = to_ore(Decimal(20_000) + (z_number // 3) * base + _wobble(register_id, last_return, 9, seed, room)
                           - _wobble(register_id, 0, 9, seed, room))
    tips = to_ore(Decimal(rng.randint(0, 900)))
    gift_cards = to_ore(Decimal(rng.choice([0, 0, 0, 500, 1000])))
    net_sales = sum(Decimal(s["gross"]) for s in sales) - sum(Decimal(r["gross"]) for r in returns)
    due = net_sales + tips + gift_cards
    swish = to_ore(due * Decimal("0.08"))
    gift_redeemed = to_ore(Decimal(rng.choice([0, 0, 250])))
    cash_due = to_ore(due * Decimal("0.12"))
    cash = to_ore(cash_due.quantize(Decimal(1)))  # cash is rounded to whole kronor
    rounding = cash - cash_due
    card = due - swish - gift_redeemed - cash_due
    payments = [
        {"method": "card", "amount": str(card), "count": rng.randint(80, 200)},
        {"method": "cash", "amount": str(cash), "count": rng.randint(10, 40)},
        {"method": "swish", "amount": str(swish), "count": rng.randint(5, 30)},
    ]
    if gift_redeemed:
        payments.append({"method": "gift_card", "amount": str(gift_redeemed), "count": 1})
    closed = min(datetime.combine(business_date + timedelta(days=1), time(0, 12), tzinfo=UTC),
                 datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1))
    gt_sales, gt_returns = to_ore(grand_sales), grand_returns
    return {
        "schema": "zreport/v1",
        "register": {"id": register_id, "name": register_name, "serial_number": "CR-DEMO"},
        "z_number": z_number,
        "business_date": business_date.isoformat(),
        "closed_at": closed.isoformat(),
        "currency": "SEK",
        "sales": sales,
        "returns": returns,
        "payments": payments,
        "tips": [{"method": "card", "amount": str(tips)}] if tips else [],
        "gift_cards_sold": str(gift_cards),
        "rounding": str(rounding),
        "cash_difference": "0.00",
        "discounts": {"count": rng.randint(0, 15), "amount": str(to_ore(Decimal(rng.randint(0, 500))))},
        "opening_float": "2000.00",
        "counters": {"receipts": rng.randint(100, 300), "drawer_openings": rng.randint(5, 30), "goods_sold": rng.randint(200, 500), "services_sold": 0},
        "copies": {"count": 1, "amount": "245.00"},
        "training": {"count": 0, "amount": "0.00"},
        "unfinished_sales": {"count": 0, "amount": "0.00"},
        "other_reductions": {"count": 0, "amount": "0.00"},
        "grand_total": {"sales": str(gt_sales), "returns": str(gt_returns), "net": str(gt_sales - gt_returns)},
    }


def deliver(db: Session, register: Register, document: dict) -> ZReportRecord:
    """Store a generated report through the same intake as the POS API; returns the stored report."""
    raw = json.dumps(document, ensure_ascii=False)
    stored = store_zreport(db, register, parse_document(raw), json.loads(raw), raw)
    return db.get(ZReportRecord, stored.zreport_id)


def seed_demo(db: Session, instance_path: Path, today: date, days: int = 30) -> tuple[Company, str]:
    """Create the demo company once and fill in missing days; returns the company and the admin's password."""
    password_file = instance_path / "demo_admin_password"
    company = db.scalar(select(Company).where(Company.name == DEMO_COMPANY))
    if company is None:
        company = Company(name=DEMO_COMPANY, org_number="556677-8899")
        db.add(company)
        password = secrets.token_urlsafe(9)
        admin = User(email=DEMO_ADMIN, company=company, role=Role.ADMIN)
        admin.set_password(password)
        db.add(admin)
        for pos_id, name, serial in DEMO_REGISTERS:
            register = Register(company=company, pos_id=pos_id, name=name, serial_number=serial)
            register.issue_token()
            db.add(register)
        db.flush()
        password_file.parent.mkdir(parents=True, exist_ok=True)
        password_file.write_text(password, encoding="utf-8")
        password_file.chmod(0o600)
    password = password_file.read_text(encoding="utf-8").strip() if password_file.exists() else "(okänt)"
    for register in company.registers:
        for offset in range(days, 0, -1):
            day = today - timedelta(days=offset)
            z_number = (day - date(2024, 1, 1)).days + 1
            if find_zreport(db, register, z_number) is None:
                deliver(db, register, zreport_document(register.pos_id, register.name, z_number, day))
    return company, password


def start_embedded_emulator(app) -> None:
    """Start the Fortnox emulator in this process, keeping its state in the instance folder."""
    from urllib.parse import urlsplit

    from fortnox_emulator.server import start_emulator

    port = urlsplit(app.config["FORTNOX_EMULATOR_URL"]).port or 5050
    try:
        emulator = start_emulator(port=port, control=True, state_file=Path(app.instance_path) / "fortnox-emulator.json")
    except OSError:
        log.info("Port %s is taken: using the Fortnox emulator already running there", port)
        return
    app.extensions["fortnox_emulator"] = emulator
    log.info(
        "No FORTNOX_CLIENT_ID is set: using the embedded Fortnox emulator at %s (client id demo)",
        app.config["FORTNOX_EMULATOR_URL"],
    )


demo_cli = AppGroup("demo", help="Demo data for trying the back office.")


@demo_cli.command("seed")
@click.option("--days", default=30, show_default=True, help="Days of Z-reports per register.")
def seed(days: int) -> None:
    """Create the demo restaurant (once) with a month of Z-reports, and print how to log in."""
    company, password = seed_demo(session, Path(current_app.instance_path), business_today(), days)
    session.commit()
    click.echo("")
    click.echo(msg.RUNS_AT)
    click.echo(msg.log_in_as(DEMO_ADMIN, password))
    click.echo("")
