"""The form of "E-postnotiser" (Flask-WTF: it carries a CSRF token)."""

from flask_wtf import FlaskForm
from wtforms import BooleanField


class MailPreferenceForm(FlaskForm):
    problems = BooleanField("E-post när något behöver åtgärdas")
    weekly = BooleanField("Veckosammanfattning")
