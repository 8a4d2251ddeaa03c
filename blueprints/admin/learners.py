"""Data protection in the console: find a person, export what is held about them, erase them.

The search is a POST, so names and email addresses never appear in URLs (and so in access logs).
"""

from __future__ import annotations

import json
import logging

from flask import Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from blueprints.admin import bp
from lti_tool.extensions import db
from lti_tool.operating import console, gdpr
from lti_tool.web import record_id

log = logging.getLogger("lti_tool.admin")


@bp.route("/learners", methods=["GET", "POST"])
def learners() -> str:
    """Find learners by platform, LTI subject or text (POST); GET shows the empty search form."""
    form = request.form
    platform = form.get("platform", "")
    platform_id = record_id(platform)
    results = gdpr.find_learners(db.session(), platform_id=platform_id, sub=form.get("sub", ""),
                                 text=form.get("text", ""))
    return render_template("admin/learners.html", form=form, results=results,
                           searched=request.method == "POST",
                           platforms=console.platform_rows(db.session()))


@bp.get("/learners/<int:user_id>")
def learner(user_id: int) -> str:
    """One learner's page: who they are and what the tool holds about them."""
    return render_template("admin/learner.html", learner=gdpr.get_learner(db.session(), user_id),
                           holdings=gdpr.holdings(db.session(), user_id))


@bp.get("/learners/<int:user_id>/export.json")
def export_learner(user_id: int) -> Response:
    """Download everything the tool holds about one learner as JSON (GDPR access), logged."""
    data = gdpr.export_user(db.session(), user_id)
    log.info("operator %s exported the data of user %s", g.operator.id, user_id)
    response = Response(json.dumps(data, indent=2, ensure_ascii=False), mimetype="application/json")
    filename = f"integrationsloeft-user-{user_id}.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.post("/learners/<int:user_id>/erase")
def erase_learner(user_id: int) -> BaseResponse:
    """Erase one learner's data once the operator ticked the confirmation (GDPR erasure), logged."""
    if request.form.get("confirm") != "erase":
        flash(_("Tick the box to confirm the erasure."), "error")
        return redirect(url_for("admin.learner", user_id=user_id))
    gdpr.erase_user(db.session(), user_id)
    log.warning("operator %s erased user %s", g.operator.id, user_id)
    flash(_("The person's data was erased. Their anonymous progress still counts in the "
            "statistics."), "ok")
    return redirect(url_for("admin.learner", user_id=user_id))
