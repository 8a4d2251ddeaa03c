"""Reach per platform (municipality) and per month, toward the programme's target; CSV."""

from __future__ import annotations

from flask import Response, current_app, render_template, request

from blueprints.admin import bp
from lti_tool.extensions import db
from lti_tool.operating import reach as service
from lti_tool.runtime import runtime
from lti_tool.web import current_language, record_id


def _report() -> service.ReachReport:
    platform = request.args.get("platform", "")
    config = current_app.config
    return service.reach_report(
        db.session(), runtime().catalog(), target=int(config["REACH_TARGET"]),
        timezone=str(config["BABEL_DEFAULT_TIMEZONE"]), locale=current_language(),
        platform_id=record_id(platform))


@bp.get("/reach")
def reach() -> str:
    """The reach report over all platforms or one (`platform`): learners reached against the target."""
    return render_template("admin/reach.html", report=_report())


@bp.get("/reach.csv")
def reach_csv() -> Response:
    """The reach report as a CSV download."""
    response = Response(service.to_csv(_report()), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="integrationsloeft-reach.csv"'
    return response
