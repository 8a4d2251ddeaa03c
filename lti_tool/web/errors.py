"""Error handlers: every failure becomes a ToolError rendered as a localised page or JSON."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from flask import Flask, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from lti_tool import errors
from lti_tool.extensions import db
from lti_tool.launch.live import launch_locale
from lti_tool.web.i18n import set_locale
from lti_tool.web.logs import launch_id_in_path, logged_path
from lti_tool.web.metrics import DEPENDENCY_UNAVAILABLE, LAUNCHES

log = logging.getLogger("lti_tool.web")

_HTTP_ERRORS: dict[int, type[errors.ToolError]] = {404: errors.NotFound, 403: errors.AccessDenied}


def wants_json() -> bool:
    """Whether the client prefers JSON to HTML (an API caller rather than a browser)."""
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def render_error(error: errors.ToolError) -> tuple[Any, int]:
    """Log the error and return its localised page (or JSON body) with its status."""
    if request.endpoint in ("lti.launch", "lti.login"):
        LAUNCHES.labels("refused", error.reason).inc()
    log.warning(
        "%s %s -> %s %s: %s",
        request.method,
        logged_path(),
        error.status,
        error.reason,
        error.detail,
        extra={"reason": error.reason, "status": error.status, "path": logged_path(),
               **({"dependency": error.dependency} if isinstance(error, errors.DependencyUnavailable) else {})},
    )
    if wants_json():
        return jsonify(error=error.reason, message=str(error.message)), error.status
    page = render_template("errors/error.html", error=error, request_id=g.get("request_id"))
    return page, error.status


def dependency_unavailable(dependency: str, error: BaseException) -> tuple[Any, int, dict[str, str]]:
    """503 with Retry-After and the localised "try again shortly" page, for a failing dependency.

    The log line and the metrics name the dependency; no traceback, since nothing is wrong with
    the tool itself and an outage would otherwise write one per request."""
    with contextlib.suppress(Exception):  # the database may be the one that is gone
        db.session.rollback()
    DEPENDENCY_UNAVAILABLE.labels(dependency, "web").inc()
    tool_error = errors.DependencyUnavailable(dependency, errors.summary(error))
    page, status = render_error(tool_error)
    return page, status, {"Retry-After": str(tool_error.retry_after)}


def tool_error(error: errors.ToolError) -> tuple[Any, int]:
    """A refusal the tool raised itself: roll the transaction back and render it."""
    db.session.rollback()
    return render_error(error)


def csrf_error(error: CSRFError) -> tuple[Any, int]:
    """An expired or missing form token: ask the person to reload the page."""
    refusal = errors.ToolError(str(error.description), reason="csrf")
    refusal.message = _("The form has expired. Reload the page and try again.")
    return render_error(refusal)


def too_large(error: RequestEntityTooLarge) -> tuple[Any, int]:
    """413 for a body past MAX_CONTENT_LENGTH, worded for a platform message or for a form."""
    if request.path.startswith("/lti/"):
        refusal: errors.ToolError = errors.WrongMessage("request body too large", reason="oversized_request")
    else:  # a form of the tool's own pages, not a message from the platform
        refusal = errors.ToolError("request body too large", reason="oversized_request")
        refusal.message = _("What you sent is too large to be received.")
        refusal.hint = _("Shorten the text and send it again.")
    refusal.status = 413
    return render_error(refusal)


def too_many(error: HTTPException) -> tuple[Any, int]:
    """429 from the rate limits: ask the person to wait a minute."""
    refusal = errors.ToolError(str(error.description), reason="rate_limited")
    refusal.status = 429
    refusal.message = _("Too many requests from your network right now.")
    refusal.hint = _("Wait a minute and try again.")
    return render_error(refusal)


def http_error(error: HTTPException) -> tuple[Any, ...]:
    """Werkzeug's HTTP errors (404, 405 …) as the tool's page; a failing dependency as a 503."""
    original = getattr(error, "original_exception", None)
    if isinstance(original, BaseException):  # raised after the view: Flask wrapped it in a 500
        dependency = errors.failing_dependency(original)
        if dependency is not None:
            return dependency_unavailable(dependency, original)
    launch_id = launch_id_in_path(request.path)
    if g.get("locale") is None and launch_id:
        # An address under a launch that no route matched: the page speaks the launch's language.
        set_locale(launch_locale(db.session(), launch_id))
    kind = _HTTP_ERRORS.get(error.code or 400, errors.ToolError)
    refusal = kind(str(error.description), reason=f"http_{error.code}")
    refusal.status = error.code or 400
    return render_error(refusal)


def unexpected(error: Exception) -> tuple[Any, ...]:
    """Any other exception: a 503 for a failing dependency, else a logged 500 with a calm page."""
    dependency = errors.failing_dependency(error)
    if dependency is not None:
        return dependency_unavailable(dependency, error)
    db.session.rollback()
    log.exception("unexpected error on %s %s", request.method, logged_path())
    refusal = errors.ToolError(repr(error), reason="internal_error")
    refusal.status = 500
    refusal.message = _("Something went wrong on our side. Nothing you did was lost.")
    refusal.hint = _("Try again in a moment. The operator has been notified in the log.")
    return render_error(refusal)


def install_error_handlers(app: Flask) -> None:
    """Register the handlers above; Flask picks the most specific one for each error."""
    app.register_error_handler(errors.ToolError, tool_error)
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(RequestEntityTooLarge, too_large)
    app.register_error_handler(429, too_many)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected)
