"""The start page, tool keys, grade delivery, certificate look-up (and revoking its credentials)
and manual registration."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response as BaseResponse

from blueprints.admin import bp
from lti_tool.credentials import service as credentials_service
from lti_tool.credentials.service import credentials_of_certificate
from lti_tool.extensions import db
from lti_tool.grading.delivery import outbox_status, retry_parked
from lti_tool.operating import console
from lti_tool.progress.service import find_certificate
from lti_tool.runtime import runtime
from lti_tool.web import current_language, record_id

log = logging.getLogger("lti_tool.admin")


@bp.get("/")
def home() -> str:
    """The console's start page: a summary of platforms, keys and the grade outbox."""
    return render_template("admin/home.html", summary=console.summary(db.session()))


@bp.get("/keys")
def keys() -> str:
    """The tool's signing keys and which of them platforms may still verify."""
    grace = timedelta(seconds=int(current_app.config["TOOL_KEY_GRACE"]))
    states = console.key_states(db.session(), grace)
    return render_template("admin/keys.html", keys=states, grace=grace)


@bp.post("/keys/rotate")
def rotate_key() -> BaseResponse:
    """Make a new signing key current (the old one stays published for the grace period)."""
    key = console.rotate_key(db.session(), str(current_app.config["SECRET_KEY"]))
    log.warning("operator %s rotated the tool key; new kid %s", g.operator.id, key.kid)
    flash(_("A new key %(kid)s is now used for signing.", kid=key.kid), "ok")
    return redirect(url_for("admin.keys"))


@bp.get("/grades")
def grades() -> str:
    """The grade outbox: scores waiting and those parked for an operator."""
    return render_template("admin/grades.html", status=outbox_status(db.session(), per_platform=True))


@bp.post("/grades/retry")
def retry_grades() -> BaseResponse:
    """Retry one parked score (`id`), or all of them when no id is given."""
    ids = [i for i in map(record_id, request.form.getlist("id")) if i is not None]
    count = retry_parked(db.session(), ids or None)
    log.info("operator %s queued %s parked score(s) again", g.operator.id, count)
    flash(ngettext("%(num)d score queued again.", "%(num)d scores queued again.", count), "ok")
    return redirect(url_for("admin.grades"))


@bp.get("/certificates")
def certificates() -> str:
    """Look up a course certificate by its code."""
    code = request.args.get("code", "").strip()
    found = find_certificate(db.session(), code) if code else None
    return render_template("admin/certificates.html", code=code, certificate=found,
                           credentials=credentials_of_certificate(db.session(), found))


@bp.post("/credentials/revoke")
def revoke_credential() -> BaseResponse:
    """Revoke an Open Badges credential (issued in error, or at the holder's request)."""
    record = credentials_service.revoke_credential(db.session(), request.form.get("credential_id", ""),
                                                   request.form.get("reason", ""))
    log.warning("operator %s revoked credential %s", g.operator.id, record.credential_id)
    flash(_("The credential %(id)s is revoked.", id=record.credential_id), "ok")
    return redirect(url_for("admin.certificates", code=request.form.get("code", "")))


@bp.get("/register")
def register() -> str:
    """Everything an LMS administrator pastes when registering the tool by hand."""
    manual = console.manual_registration(runtime().base_url, current_language())
    return render_template("admin/register.html", manual=manual,
                           dynamic_url=runtime().base_url + "/lti/register")
