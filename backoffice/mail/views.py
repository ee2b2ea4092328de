"""E-postnotiser: each user chooses, per company of theirs, the mails they get (problems that need a
person; the weekly summary)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from backoffice.db import session
from backoffice.mail.forms import mail_preference_form
from backoffice.mail.operations import choices_of, mail_status, set_preference
from backoffice.mail.smtp import SmtpSettings
from backoffice.messages import mail as msg

bp = Blueprint("mail", __name__, url_prefix="/konto")


@bp.route("/e-post", methods=["GET", "POST"])
@login_required
def preferences():
    user = current_user._get_current_object()
    choices = choices_of(session, user)
    data = {}
    for choice in choices:
        data[f"problems_{choice.membership.company_id}"] = choice.problems
        data[f"weekly_{choice.membership.company_id}"] = choice.weekly
    form = mail_preference_form({c.membership.company_id: c.membership.company.name for c in choices}, data)
    if form.validate_on_submit():
        for choice in choices:
            company_id = choice.membership.company_id
            set_preference(session, user, company_id, problems=form[f"problems_{company_id}"].data,
                           weekly=form[f"weekly_{company_id}"].data)
        session.commit()
        flash(msg.PREFERENCES_SAVED, "info")
        return redirect(url_for("mail.preferences"))
    configured = SmtpSettings.from_config(current_app.config) is not None
    return render_template(
        "mail/preferences.html",
        form=form,
        choices=choices,
        configured=configured,
        status=mail_status(session, user.company),
    )
