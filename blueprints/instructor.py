"""The instructor's pages, all under the launch id."""

from __future__ import annotations

from flask import Blueprint, g, render_template

from blueprints.access import launch_required, role_required
from lti_tool.lti.roles import Role
from lti_tool.overview import launch_overview

bp = Blueprint("instructor", __name__, url_prefix="/c/<launch_id>/instructor")


@bp.get("/")
@launch_required
@role_required(Role.INSTRUCTOR)
def home() -> str:
    return render_template("instructor/home.html", overview=launch_overview(g.launch))
