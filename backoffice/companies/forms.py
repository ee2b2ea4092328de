"""Forms of the companies feature (Flask-WTF: every form carries a CSRF token)."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    email = EmailField("E-post", validators=[DataRequired("Ange din e-postadress."), Length(max=254)])
    password = PasswordField("Lösenord", validators=[DataRequired("Ange ditt lösenord.")])
