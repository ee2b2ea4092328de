"""``flask demo seed`` (``make run``)."""

RUNS_AT = "  BackOffice körs på http://127.0.0.1:5000"


def log_in_as(email: str, password: str) -> str:
    return f"  Logga in som {email} med lösenordet {password}"
