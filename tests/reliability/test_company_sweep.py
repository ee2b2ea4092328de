"""The access sweep of issue 20 ("A user never sees a company they have no role in"): a user with a
role in two companies (admin of A, manager of C) walks every route of the app, every method, with
every URL parameter and the usual form and query fields naming company B's objects, and

- no answer (body or Location) carries anything of company B: its name, its register, its Fortnox
  company, its user's address, its problem key — each a unique marker;
- a route that names an object answers 404 for B's object;
- afterwards every row of company B (the rows reachable from its company row through foreign keys,
  either way) is exactly as before: nothing of B was written.

The table below (``OBJECT_OF_B``) says how to fill each URL parameter with B's object; a route with
a parameter it does not know fails the sweep, so a route added tomorrow is swept too. The planted
test proves the sweep finds a route that reads another company's object.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import date

import pytest
import requests
from sqlalchemy import or_, select

from backoffice.accounts.operations import save_mapping
from backoffice.accounts.schemas import mapping_schema
from backoffice.companies.models import Company, Membership, Register, Role
from backoffice.correction.models import CorrectionRun
from backoffice.db import Base, import_models, now_utc
from backoffice.demo import deliver, zreport_document
from backoffice.export.models import AttachmentRun, ExportJob, ManualExportRun, Problem
from backoffice.integrations.fortnox.models import FortnoxConnection, FortnoxIntegration
from backoffice.reconcile.models import ReconcileRun
from tests.conftest import PASSWORD
from tests.fixtures import login
from tests.reliability.test_security import BEARER, CONTEXT_PARAMS, PUBLIC, routes

pytestmark = pytest.mark.timeout(240)

#: Form and query fields that name a company or its objects, sent with every request filled with B's.
FIELDS = ("company_id", "fran", "source", "kassa", "register", "run", "next")


class Owner:
    """The swept user's browser: logged in, with the CSRF token of its session."""

    def __init__(self, url: str, email: str):
        self.url = url
        self.http = requests.Session()
        assert login(self.http, url, email, PASSWORD).status_code == 302
        start = self.http.get(url + "/", timeout=30).text
        self.csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', start).group(1)

    def call(self, method: str, path: str, fields: dict) -> requests.Response:
        if method == "POST":
            data = {**fields, "csrf_token": self.csrf}
            return self.http.post(self.url + path, data=data, headers={"X-CSRFToken": self.csrf},
                                  timeout=30, allow_redirects=False)
        return self.http.request(method, self.url + path, params=fields, timeout=30, allow_redirects=False)


@pytest.fixture()
def world(db, live_server, restaurant, make_user):
    """Companies A and C of the swept user, and company B with an object of every kind, marked."""
    marker = uuid.uuid4().hex[:10]
    a = restaurant(registers=("K1",))
    c = restaurant(registers=("K1",))
    b_company = Company(name=f"Kanarie {marker} AB", org_number="559999-0001")
    db.add(b_company)
    db.flush()
    b_register = Register(company=b_company, pos_id=f"KB{marker[:4]}", name=f"Kanariekassa {marker}",
                          cost_center=f"K{marker[:5]}")
    b_register.issue_token()
    connection = FortnoxConnection(tenant_id=900_000 + int(marker[:5], 16), fortnox_company_name=f"Fortnox {marker}")
    db.add_all([b_register, connection])
    db.add(FortnoxIntegration(company=b_company, connection=connection, active=True, activated_at=now_utc()))
    db.commit()
    mapping = {
        "schema": "mapping/v1", "voucher_series": "F", "start_date": "2026-11-01",
        "payment_methods": {"card": 1580, "cash": 1910, "swish": 1930, "gift_card": 2421},
        "vat_rates": {"25": 2611, "12": 2621, "6": 2631},
        "sales": [{"vat_rate": "25", "account": 3001}, {"vat_rate": "12", "account": 3002},
                  {"vat_rate": "6", "account": 3003}],
        "other": {"tips": 2890, "rounding": 3740, "cash_difference": 3740, "gift_cards_sold": 2421},
        "cost_centres": {b_register.pos_id: b_register.cost_center},
    }
    save_mapping(db, b_company, mapping_schema.load(mapping), actor="test")
    record = deliver(db, b_register, zreport_document(b_register.pos_id, b_register.name, 1, date(2026, 11, 2)))
    problem = Problem(company_id=b_company.id, kind="account_inactive", key=f"9{marker[:3]}", detail="{}",
                      opened_at=now_utc())
    run = ManualExportRun(company_id=b_company.id, started_by="test", started_at=now_utc(), job_ids="[]", total=0)
    reconciling = ReconcileRun(company_id=b_company.id, month="2026-11", started_by="test")
    attach_run = AttachmentRun(company_id=b_company.id, started_by="test", started_at=now_utc())
    correcting = CorrectionRun(company_id=b_company.id, started_by="test", date_from=date(2026, 11, 2),
                               date_to=date(2026, 11, 2), why="test")
    db.add_all([problem, run, reconciling, attach_run, correcting])
    db.commit()
    b_user = make_user(b_company, role=Role.MANAGER, email=f"kanarie-{marker}@example.se")
    owner = make_user(a.company, role=Role.ADMIN)
    owner.memberships.append(Membership(company=c.company, role=Role.MANAGER))
    db.commit()
    objects = {"zreport_id": record.id, "problem_id": problem.id, "run_id": run.id, "user_id": b_user.id,
               "reconcile_run_id": reconciling.id, "attach_run_id": attach_run.id, "correction_run_id": correcting.id,
               "company_id": b_company.id, "job_id": db.scalar(select(ExportJob.id).where(ExportJob.zreport_id == record.id))}
    fields = {"company_id": b_company.id, "fran": b_company.id, "source": b_company.id,
              "kassa": b_register.pos_id, "register": b_register.id, "run": run.id, "next": f"/zrapporter/{record.id}"}
    markers = [b_company.name, marker, b_register.name, connection.fortnox_company_name, b_user.email,
               b_register.cost_center]
    return {"b": b_company, "objects": objects, "fields": fields, "markers": markers,
            "owner": Owner(live_server.url, owner.email), "owner_email": owner.email, "b_user": b_user}


def rows_of_company(db, company_id: int) -> dict[str, list[str]]:
    """Every row reachable from the company's row through foreign keys, in either direction, as text."""
    import_models()
    db.rollback()
    tables = Base.metadata.sorted_tables
    keys: dict[str, set] = {"company": {company_id}}
    rows: dict[str, dict] = {}
    changed = True
    while changed:
        changed = False
        for table in tables:
            if not table.primary_key.columns or len(table.primary_key.columns) != 1:
                continue
            pk = list(table.primary_key.columns)[0]
            conditions = []
            if table.name in keys:
                conditions.append(pk.in_(keys[table.name]))
            for fk in table.foreign_keys:
                target = fk.column.table.name
                if keys.get(target):
                    conditions.append(fk.parent.in_(keys[target]))
            if not conditions:
                continue
            found = db.execute(select(table).where(or_(*conditions))).mappings().all()
            for row in found:
                ident = row[pk.name]
                if ident not in keys.setdefault(table.name, set()):
                    keys[table.name].add(ident)
                    changed = True
                rows.setdefault(table.name, {})[ident] = row
                # Forward: what this row refers to belongs to the company too (its user, its connection).
                for fk in table.foreign_keys:
                    value = row[fk.parent.name]
                    target = fk.column.table.name
                    if value is not None and value not in keys.setdefault(target, set()):
                        keys[target].add(value)
                        changed = True
    return {
        name: sorted(json.dumps({k: str(v) for k, v in row.items()}, ensure_ascii=False) for row in found.values())
        for name, found in rows.items()
    }


def path_for(rule, objects: dict) -> str:
    values = {}
    for name in rule.arguments:
        if name in objects:
            values[name] = objects[name]
        elif name in CONTEXT_PARAMS:
            values[name] = CONTEXT_PARAMS[name]
        else:
            pytest.fail(f"{rule.rule}: unknown URL parameter {name!r}; say in OBJECT_OF_B (the world fixture of"
                        " tests/reliability/test_company_sweep.py) which of company B's objects it names")
    return rule.build(values, append_unknown=False)[1]


def sweep(app, world, owner: Owner | None = None) -> list[str]:
    owner = owner or world["owner"]
    objects, fields, markers = world["objects"], world["fields"], world["markers"]
    failures = []
    last = []
    for rule, method in routes(app):
        if rule.endpoint in PUBLIC or rule.endpoint in BEARER:
            continue
        if rule.endpoint == "companies.logout":
            last.append((rule, method))  # it ends the session the sweep runs in
            continue
        failures += _try(owner, rule, method, objects, fields, markers)
    for rule, method in last:
        failures += _try(owner, rule, method, objects, fields, markers)
    return failures


def _try(owner, rule, method, objects, fields, markers) -> list[str]:
    path = path_for(rule, objects)
    answer = owner.call(method, path, fields)
    seen = answer.text + " " + answer.headers.get("Location", "")
    failures = [f"{method} {path}: shows {marker!r} of company B" for marker in markers if marker in seen]
    if set(rule.arguments) & set(objects) and answer.status_code != 404:
        failures.append(f"{method} {path} (company B's object): {answer.status_code}, not 404")
    return failures


def test_a_user_of_two_companies_reads_and_writes_nothing_of_a_third_on_any_route(app, db, world, live_server):
    before = rows_of_company(db, world["b"].id)
    assert {"company", "register", "zreport", "membership", "user_account", "fortnox_connection",
            "problem", "account_mapping"} <= set(before), sorted(before)

    failures = sweep(app, world)

    assert not failures, "\n".join(failures)
    assert rows_of_company(db, world["b"].id) == before
    # Not vacuous: B's own user sees the markers on B's pages.
    mine = requests.Session()
    assert login(mine, live_server.url, world["b_user"].email, PASSWORD).status_code == 302
    page = mine.get(f"{live_server.url}/ekonomi/redovisning/", timeout=30).text
    assert all(marker in page for marker in world["markers"][:3] + world["markers"][5:])


def test_the_sweep_catches_a_route_that_reads_another_companys_object(app_config, db, world):
    from flask import abort, request

    from backoffice import create_app
    from backoffice.db import session
    from tests.conftest import LiveServer

    planted = create_app(app_config)

    @planted.post("/planted/rename")
    def rename():  # writes the company the form names, without asking whether it is the user's
        company = session.get(Company, int(request.form["company_id"])) or abort(404)
        company.org_number = "000000-0000"
        session.commit()
        return "ok"

    @planted.get("/planted/company/<int:company_id>")
    def show(company_id):  # reads it
        company = session.get(Company, company_id) or abort(404)
        return company.name

    server = LiveServer(planted)
    try:
        before = rows_of_company(db, world["b"].id)
        failures = [f for f in sweep(planted, world, Owner(server.url, world["owner_email"])) if "/planted/" in f]
        after = rows_of_company(db, world["b"].id)
    finally:
        server.stop()
        planted.extensions["db_engine"].dispose()
    assert any(f.startswith("GET /planted/company/") and "shows" in f for f in failures), failures
    assert any("not 404" in f for f in failures), failures
    assert after != before  # the write is seen in B's rows

