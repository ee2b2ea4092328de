"""Logging in and out, and the start page."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from backoffice.companies.auth import LoginThrottledError, authenticate
from backoffice.companies.forms import LoginForm
from backoffice.db import session
from backoffice.security import safe_next

bp = Blueprint("companies", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("companies.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data)
        except LoginThrottledError:
            session.commit()
            flash("För många misslyckade inloggningar. Försök igen om en stund.", "error")
            return render_template("companies/login.html", form=form), 429
        session.commit()
        if user is not None:
            login_user(user)
            return redirect(safe_next(request.args.get("next")) or url_for("companies.index"))
        flash("Fel e-postadress eller lösenord.", "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("companies/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("Du är utloggad.", "info")
    return redirect(url_for("companies.login"))


@bp.get("/")
@login_required
def index():
    return render_template("companies/index.html")
