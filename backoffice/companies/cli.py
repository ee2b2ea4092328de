"""Commands to create companies, users and registers (``flask companies|users|registers create``), and to
change a user's password or role, give them another company or end their sessions (``flask users set-password|set-role|add-company|end-sessions``)."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from backoffice.cli import company_by_name
from backoffice.companies.auth import change_password, change_role, end_sessions
from backoffice.companies.models import Company, Membership, Register, Role, User
from backoffice.db import session

companies_cli = AppGroup("companies", help="Restaurant companies.")
users_cli = AppGroup("users", help="Users who log in to the back office.")
registers_cli = AppGroup("registers", help="Cash registers and their API tokens.")


@companies_cli.command("create")
@click.argument("name")
@click.option("--org-number", required=True, help="Organisationsnummer, e.g. 556677-8899.")
def create_company(name: str, org_number: str) -> None:
    """Create a restaurant company."""
    if session.scalar(select(Company).where(Company.name == name)) is not None:
        raise click.ClickException(f"a company named {name!r} already exists")
    session.add(Company(name=name, org_number=org_number))
    session.commit()
    click.echo(f"Created company {name!r}.")


def user_by_email(email: str) -> User:
    """The user with this e-mail address, or a usage error naming it."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.BadParameter(f"no user {email!r}", param_hint="EMAIL")
    return user


def read_password(password_stdin: bool) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise click.ClickException("the password must be at least 8 characters")
    return password


@users_cli.command("create")
@click.argument("email")
@click.option("--company", "company_name", required=True)
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(email: str, company_name: str, role: str, password_stdin: bool) -> None:
    """Create a user of a company; the password comes from a prompt or standard input."""
    company = company_by_name(company_name)
    password = read_password(password_stdin)
    email = email.strip().lower()
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise click.ClickException(f"a user {email!r} already exists")
    user = User(email=email, company=company, role=Role(role))
    user.set_password(password)
    session.add(user)
    session.commit()
    click.echo(f"Created {role} {email} for {company.name!r}.")


@users_cli.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def set_password(email: str, password_stdin: bool) -> None:
    """Give a user a new password; every session of theirs ends."""
    user = user_by_email(email)
    change_password(user, read_password(password_stdin))
    session.commit()
    click.echo(f"New password set for {user.email}; their sessions are ended.")


@users_cli.command("add-company")
@click.argument("email")
@click.option("--company", "company_name", required=True)
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
def add_company(email: str, company_name: str, role: str) -> None:
    """Give a user a role in one more company (an owner's restaurants, a byrå's clients)."""
    user = user_by_email(email)
    company = company_by_name(company_name)
    if user.membership_in(company.id) is not None:
        raise click.ClickException(f"{user.email} is already a member of {company.name!r}; use set-role")
    user.memberships.append(Membership(company=company, role=Role(role)))
    session.commit()
    click.echo(f"{user.email} is now {role} of {company.name!r}.")


@users_cli.command("set-role")
@click.argument("email")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option("--company", "company_name", default=None, help="Needed when the user belongs to several companies.")
def set_role(email: str, role: str, company_name: str | None) -> None:
    """Give a user another role in a company; every session of theirs ends."""
    user = user_by_email(email)
    if company_name is not None:
        company = company_by_name(company_name)
    elif len(user.memberships) == 1:
        company = user.memberships[0].company
    else:
        raise click.BadParameter(f"{user.email} belongs to several companies: name one", param_hint="--company")
    try:
        change_role(user, company, Role(role))
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    session.commit()
    click.echo(f"{user.email} is now {role} of {company.name!r}; their sessions are ended.")


@users_cli.command("end-sessions")
@click.argument("email")
def end_user_sessions(email: str) -> None:
    """Log a user out everywhere (every browser holding one of their session cookies)."""
    user = user_by_email(email)
    ended = end_sessions(user)
    session.commit()
    click.echo(f"Ended {ended} session(s) of {user.email}.")


@registers_cli.command("create")
@click.option("--company", "company_name", required=True)
@click.option("--id", "pos_id", required=True, help="The register's id as the POS uses it, e.g. K1.")
@click.option("--name", required=True, help='The register\'s name, e.g. "Kassa 1".')
@click.option("--serial-number", default=None)
def create_register(company_name: str, pos_id: str, name: str, serial_number: str | None) -> None:
    """Create a cash register and print its API token (shown once, stored only as a hash)."""
    company = company_by_name(company_name)
    if not 1 <= len(pos_id) <= 40 or not 1 <= len(name) <= 80:
        raise click.ClickException("the id must be 1–40 characters and the name 1–80")
    exists = session.scalar(select(Register).where(Register.company_id == company.id, Register.pos_id == pos_id))
    if exists is not None:
        raise click.ClickException(f"register {pos_id!r} already exists in {company.name!r}")
    register = Register(company=company, pos_id=pos_id, name=name, serial_number=serial_number)
    token = register.issue_token()
    session.add(register)
    session.commit()
    click.echo(f"Created register {pos_id} ({name}) for {company.name!r}. Its API token, shown only now:")
    click.echo(token)
