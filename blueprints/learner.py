"""The learner's pages, all under the launch id."""

from __future__ import annotations

from flask import Blueprint, g, render_template

from blueprints.access import launch_required
from lti_tool.overview import launch_overview

bp = Blueprint("learner", __name__, url_prefix="/c/<launch_id>")


@bp.get("/")
@launch_required
def home() -> str:
    return render_template("learner/home.html", overview=launch_overview(g.launch))
