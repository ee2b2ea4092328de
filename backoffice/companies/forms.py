"""Forms of the companies feature (Flask-WTF: every form carries a CSRF token)."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from backoffice.messages import companies as msg

#: No control characters in an e-mail address (a NUL cannot even be sent to PostgreSQL). The password
#: is never sent to the database, so it may hold any character.
_PRINTABLE = Regexp(r"[^\x00-\x1f\x7f]*\Z", message=msg.EMAIL_NOT_PRINTABLE)


class LoginForm(FlaskForm):
    email = EmailField("E-post", validators=[DataRequired(msg.ENTER_EMAIL), Length(max=254), _PRINTABLE])
    password = PasswordField("Lösenord", validators=[DataRequired(msg.ENTER_PASSWORD), Length(max=1024)])


class PasswordForm(FlaskForm):
    current = PasswordField("Nuvarande lösenord", validators=[DataRequired(msg.ENTER_CURRENT_PASSWORD)])
    new = PasswordField("Nytt lösenord", validators=[
        DataRequired(msg.ENTER_NEW_PASSWORD),
        Length(min=8, max=1024, message=msg.PASSWORD_TOO_SHORT),
    ])
    repeat = PasswordField("Upprepa det nya lösenordet", validators=[EqualTo("new", msg.PASSWORDS_DIFFER)])
