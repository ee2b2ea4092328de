"""E-postnotiser: each user chooses the mails they get (problems that need a person; the weekly summary)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from backoffice.companies.models import Role
from backoffice.db import session
from backoffice.mail.forms import MailPreferenceForm
from backoffice.mail.operations import mail_status, preference_of, set_preference, wants_problem_mail
from backoffice.mail.smtp import SmtpSettings
from backoffice.messages import mail as msg

bp = Blueprint("mail", __name__, url_prefix="/konto")


@bp.route("/e-post", methods=["GET", "POST"])
@login_required
def preferences():
    user = current_user._get_current_object()
    preference = preference_of(session, user)
    form = MailPreferenceForm(
        data={
            # The default of an admin of any of the user's companies (the choice holds for all of them).
            "problems": wants_problem_mail(
                Role.ADMIN if any(m.is_admin for m in user.memberships) else Role.MANAGER, preference
            ),
            "weekly": preference.weekly if preference is not None else False,
        }
    )
    if form.validate_on_submit():
        set_preference(session, user, problems=form.problems.data, weekly=form.weekly.data)
        session.commit()
        flash(msg.PREFERENCES_SAVED, "info")
        return redirect(url_for("mail.preferences"))
    configured = SmtpSettings.from_config(current_app.config) is not None
    return render_template(
        "mail/preferences.html",
        form=form,
        configured=configured,
        default_on=user.is_admin,
        chosen=preference is not None,
        status=mail_status(session, user.company),
    )
