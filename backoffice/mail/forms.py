"""The form of "E-postnotiser" (Flask-WTF: it carries a CSRF token): two choices per company of the user."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField

from backoffice.messages import mail as msg


def mail_preference_form(company_names: dict[int, str], data: dict[str, bool]) -> FlaskForm:
    """A form with ``problems_<company id>`` and ``weekly_<company id>`` for each of the user's companies."""
    fields = {}
    for company_id, name in company_names.items():
        fields[f"problems_{company_id}"] = BooleanField(msg.problems_choice(name))
        fields[f"weekly_{company_id}"] = BooleanField(msg.weekly_choice(name))
    form_class = type("MailPreferenceForm", (FlaskForm,), fields)
    return form_class(data=data)
