"""The instructor's pages, all under the launch id."""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from blueprints.access import launch_required, role_required
from lti_tool.errors import NotFound
from lti_tool.extensions import csrf, db
from lti_tool.lti.roles import Role
from lti_tool.overview import launch_overview
from lti_tool.progress import service
from lti_tool.runtime import runtime

bp = Blueprint("instructor", __name__, url_prefix="/c/<launch_id>/instructor")
csrf.exempt(bp)  # launch_required checks the launch-scoped form token instead


@bp.get("/")
@launch_required
@role_required(Role.INSTRUCTOR)
def home() -> str | Response:
    placement = service.placement_for(g.launch.resource_link, runtime().catalog())
    if placement is None and g.launch.resource_link is not None:
        return redirect(url_for("instructor.pick", launch_id=g.launch.id))
    return render_template("instructor/home.html", overview=launch_overview(g.launch), placement=placement)


@bp.route("/pick", methods=["GET", "POST"])
@launch_required
@role_required(Role.INSTRUCTOR)
def pick() -> str | Response:
    """Bind a resource link made by hand in the LMS to a programme or a module."""
    link = g.launch.resource_link
    if link is None:
        raise NotFound("launch without resource link")
    catalog = runtime().catalog()
    if request.method == "POST":
        service.bind_link(db.session, catalog, link, request.form.get("placement", ""))
        return redirect(url_for("instructor.home", launch_id=g.launch.id))
    return render_template("instructor/pick.html", overview=launch_overview(g.launch),
                           programmes=list(catalog.programmes.values()), locale=g.launch.locale)
