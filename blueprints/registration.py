"""LTI Dynamic Registration: the page an LMS administrator opens from their platform."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from lti_tool.extensions import csrf, db
from lti_tool.lti import registration
from lti_tool.lti.http import person_waiting
from lti_tool.runtime import runtime
from lti_tool.web import current_language
from lti_tool.web.limits import limiter

bp = Blueprint("registration", __name__)


@bp.before_request
def _framed_by_any_platform() -> None:
    """An LMS opens dynamic registration inside a frame of its own admin page (Moodle 4.5 does),
    before the tool knows it: no list of registered platforms can name it. Every registration page
    (instructions, confirmation, the confirming POST, errors) may therefore be framed by any origin.
    That gives a framing page nothing: the pages act only with the one-time registration token and
    pending id the platform itself issued, and create a platform that waits for the operator's
    approval, which anyone holding those could do by calling the endpoints directly. The origin of
    the configuration URL would not do: on some platforms (Canvas cloud) it is not the admin page's."""
    g.frame_anywhere = True


@bp.get("/")
def home() -> BaseResponse:
    """The tool's address opened in a browser: the demo LMS in the demo, else how to register."""
    lms = str(current_app.config.get("DEMO_LMS_URL") or "").rstrip("/")
    return redirect(lms + "/demo-lms/" if lms else "/lti/register")


def _failed(error: registration.RegistrationFailed) -> tuple[str, int] | tuple[str, int, dict[str, str]]:
    current_app.logger.warning("dynamic registration failed: %s: %s", error.reason, error.detail)
    page = render_template("registration/failed.html", error=error)
    if error.status == 503:  # the platform ran out of the time a waiting person is given
        return page, 503, {"Retry-After": "30"}
    return page, 400


def _waiting_timeout() -> tuple[float, float]:
    """The administrator waits on these calls: the general timeout, capped at about 2 s."""
    return person_waiting(runtime().http().default_timeout)


@bp.get("/lti/register")
@limiter.limit("LIMIT_REGISTRATION")
def start() -> str | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """LTI dynamic registration: the instructions, or the confirmation page for a platform's configuration URL."""
    config_url = request.args.get("openid_configuration", "")
    if not config_url:
        return render_template("registration/instructions.html", info_url=runtime().base_url + "/lti/register")
    rt = runtime()
    try:
        pending_id, configuration = registration.begin(
            rt.store, rt.http(), config_url, request.args.get("registration_token"),
            allow_private=bool(current_app.config["ALLOW_PRIVATE_REGISTRATION_URLS"]),
            canvas_hosts=tuple(current_app.config["CANVAS_CLOUD_EXTRA_HOSTS"]), timeout=_waiting_timeout())
    except registration.RegistrationFailed as error:
        return _failed(error)
    return render_template("registration/confirm.html", pending_id=pending_id, configuration=configuration)


@bp.post("/lti/register")
@limiter.limit("LIMIT_REGISTRATION")
@csrf.exempt  # the random pending id is the form's secret; the page may have no cookies in a popup
def finish() -> str | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """Complete the dynamic registration the administrator confirmed, and show the result."""
    rt = runtime()
    try:
        platform = registration.complete(
            db.session(), rt.store, rt.http(), request.form.get("pending_id", ""), base_url=rt.base_url,
            auto_approve=bool(current_app.config["AUTO_APPROVE_REGISTRATIONS"]), locale=current_language(),
            timeout=_waiting_timeout())
    except registration.RegistrationFailed as error:
        return _failed(error)
    details: dict[str, Any] = {"platform": platform, "deployments": [d.deployment_id for d in platform.deployments]}
    return render_template("registration/done.html", **details)
