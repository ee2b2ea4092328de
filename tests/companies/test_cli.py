"""The commands that set up a restaurant: companies, users and registers."""

from __future__ import annotations

from sqlalchemy import select

from backoffice.companies.models import Register, Role, User


def test_setting_up_a_restaurant_from_the_command_line(app, db, pos, make_document):
    runner = app.test_cli_runner()

    company = runner.invoke(args=["companies", "create", "Gästis i Ystad AB", "--org-number", "556000-1111"])
    user = runner.invoke(
        args=["users", "create", "Chef@Gastis.se", "--company", "Gästis i Ystad AB", "--role", "manager", "--password-stdin"],
        input="hemligt-lösen\n",
    )
    register = runner.invoke(args=["registers", "create", "--company", "Gästis i Ystad AB", "--id", "K1", "--name", "Kassa 1"])

    assert company.exit_code == 0, company.output
    assert user.exit_code == 0, user.output
    assert register.exit_code == 0, register.output
    token = register.output.strip().splitlines()[-1]
    stored = db.scalar(select(User).where(User.email == "chef@gastis.se"))
    assert stored.role == Role.MANAGER and stored.check_password("hemligt-lösen")
    assert token not in {r.token_hash for r in db.scalars(select(Register))}
    assert pos.post(token, make_document()).status_code == 201


def test_commands_refuse_unknown_companies_duplicates_and_short_passwords(app, make_company):
    company = make_company()
    runner = app.test_cli_runner()

    unknown = runner.invoke(args=["registers", "create", "--company", "Finns inte AB", "--id", "K1", "--name", "Kassa"])
    duplicate = runner.invoke(args=["companies", "create", company.name, "--org-number", "1"])
    short = runner.invoke(
        args=["users", "create", "a@b.se", "--company", company.name, "--role", "admin", "--password-stdin"], input="kort\n"
    )

    assert unknown.exit_code != 0 and "no company named" in unknown.output
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    assert short.exit_code != 0 and "at least 8" in short.output
