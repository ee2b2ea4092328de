"""Företag → Integrationer: the Fortnox card."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("integrations", __name__, url_prefix="/foretag/integrationer")


@bp.get("/")
@login_required
def index():
    return render_template("integrations/index.html")
