"""Forms of the Fortnox settings wizard, and the names of its steps.

Its account fields are named by the field keys of ``backoffice.accounts.fields``.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, RadioField, SelectChoice, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from backoffice.messages import integrations as msg

#: The wizard's steps in order (OPEN Two's "Aktivera integrationen", steps 3–10).
STEPS = (
    "bokforing",
    "behorighet",
    "startdatum",
    "serie",
    "betalningsmetoder",
    "momssatser",
    "varugrupper",
    "ovriga",
    "forhandsgranskning",
    "klar",
)
STEP_TITLES = {
    "bokforing": "Välj integration",
    "behorighet": "Åtkomst till Fortnox",
    "startdatum": "Startdatum",
    "serie": "Verifikationsserie",
    "betalningsmetoder": "Konton för betalningsmetoder",
    "momssatser": "Konton för momssatser",
    "varugrupper": "Konton för varugrupper",
    "ovriga": "Konton för övriga händelser",
    "forhandsgranskning": "Förhandsgranska",
    "klar": "Klart",
}


# --- forms ----------------------------------------------------------------------------------------


class ChooseIntegrationForm(FlaskForm):
    kind = RadioField(
        msg.PURPOSE_QUESTION,
        choices=[SelectChoice("bokforing", "BOKFÖRING")],
        validators=[InputRequired(msg.CHOOSE_BOOKKEEPING)],
    )


class _SwedishDateField(DateField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(msg.DATE_FORMAT) from exc


class _AccountNumberField(IntegerField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(msg.ACCOUNT_HAS_FOUR_DIGITS) from exc


class StartDateForm(FlaskForm):
    #: required: without one, activating would export every stored report, however old
    start_date = _SwedishDateField(
        "Startdatum",
        validators=[InputRequired(msg.CHOOSE_START_DATE)],
    )


class SeriesForm(FlaskForm):
    series = RadioField(
        "Verifikationsserie", validate_choice=False, validators=[InputRequired(msg.CHOOSE_SERIES)]
    )


class NewAccountForm(FlaskForm):
    number = _AccountNumberField(
        "Kontonummer",
        validators=[
            InputRequired(msg.ENTER_ACCOUNT_NUMBER),
            NumberRange(1000, 9999, msg.ACCOUNT_HAS_FOUR_DIGITS),
        ],
    )
    description = StringField(
        "Benämning",
        validators=[DataRequired(msg.ENTER_ACCOUNT_NAME), Length(max=200, message=msg.AT_MOST_200)],
    )
