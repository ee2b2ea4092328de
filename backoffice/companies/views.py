"""Logging in and out, and the company's users (an admin ends a user's sessions); the start page,
Översikt, is ``backoffice.overview``."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask import session as web_session
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from backoffice.companies.auth import (
    LoginThrottledError,
    admin_required,
    authenticate,
    change_password,
    end_session,
    end_sessions,
    start_session,
    switch_company,
)
from backoffice.companies.forms import LoginForm, PasswordForm
from backoffice.companies.models import Membership, User
from backoffice.db import session
from backoffice.messages import companies as msg
from backoffice.security import safe_next

bp = Blueprint("companies", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("overview.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data, request.remote_addr)
        except LoginThrottledError:
            session.commit()
            flash(msg.TOO_MANY_LOGINS, "error")
            return render_template("companies/login.html", form=form), 429
        if user is not None:
            target = safe_next(request.args.get("next")) or url_for("overview.index")
            web_session.clear()  # nothing of the anonymous session (a planted one) survives the login
            start_session(user)
            session.commit()
            login_user(user)
            return redirect(target)
        session.commit()
        flash(msg.WRONG_LOGIN, "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("companies/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    end_session()
    session.commit()
    logout_user()
    flash(msg.LOGGED_OUT, "info")
    return redirect(url_for("companies.login"))


@bp.post("/foretag/byt")
@login_required
def switch():
    """The header's company switch: make another of the user's companies this browser's current one."""
    company_id = request.form.get("company_id", "")
    if not company_id.isdigit() or switch_company(current_user, int(company_id)) is None:
        abort(404)  # a company the user has no role in does not exist, for them
    target = safe_next(request.form.get("next")) or url_for("overview.index")
    return redirect(target)


@bp.get("/foretag/anvandare/")
@login_required
def users():
    """The company's users; an admin can log any of them out everywhere."""
    admin_required()
    members = session.scalars(
        select(Membership).join(User).where(Membership.company_id == current_user.company_id).order_by(User.email)
    )
    return render_template("companies/users.html", members=list(members))


@bp.post("/foretag/anvandare/<int:user_id>/logga-ut")
@login_required
def end_user_sessions(user_id: int):
    """"Logga ut överallt": end every session of a user of this company (the admin's own too, if it is theirs)."""
    user = session.get(User, user_id)
    if user is None or user.membership_in(current_user.company_id) is None:
        abort(404)  # another company's user does not exist, for anyone
    admin_required()
    ended = end_sessions(user)
    session.commit()
    flash(msg.logged_out_everywhere(user.email, ended), "info")
    if user.id == current_user.id:
        logout_user()
        return redirect(url_for("companies.login"))
    return redirect(url_for("companies.users"))


@bp.route("/konto/losenord", methods=["GET", "POST"])
@login_required
def password():
    """"Byt lösenord": the user's own password; their other sessions end, this one goes on."""
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        if current_user.check_password(form.current.data):
            change_password(current_user, form.new.data)
            session.commit()
            flash(msg.PASSWORD_CHANGED, "info")
            return redirect(url_for("overview.index"))
        form.current.errors.append(msg.WRONG_PASSWORD)
        status = 400
    elif request.method == "POST":
        status = 400
    return render_template("companies/password.html", form=form), status
