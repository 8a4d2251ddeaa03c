"""Operations endpoints: liveness, readiness, Prometheus metrics, and the icon browsers ask for by name."""

from __future__ import annotations

import ipaddress

from flask import Blueprint, Response, current_app, jsonify, request, send_from_directory

from lti_tool.extensions import db
from lti_tool.grading.delivery import outbox_status
from lti_tool.models import utcnow
from lti_tool.runtime import runtime
from lti_tool.tokens import same_token
from lti_tool.web.health import readiness
from lti_tool.web.metrics import render

bp = Blueprint("ops", __name__)
# /favicon.ico is asked for by that name, so its address cannot change with its content: a month
# spares every page view a request without keeping an old icon for long.
FAVICON_MAX_AGE = 30 * 24 * 3600


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: the process answers (no dependency is checked)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Ready or not, to anyone; which dependency fails and why only to internal callers (the error
    text names internal hosts and ports)."""
    state = readiness(current_app, db.session(), runtime().store)
    status = 200 if state.ready else 503
    if not _internal_caller():
        return jsonify(ready=state.ready), status
    body = jsonify(ready=state.ready, database=state.database, store=state.store,
                   migrations_current=state.migrations_current, signing_key=state.signing_key,
                   detail=state.detail)
    return body, status


def _internal_caller() -> bool:
    """With METRICS_TOKEN set, a bearer token is required; without, only internal addresses."""
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return same_token(sent, token)
    try:
        return not ipaddress.ip_address(request.remote_addr or "").is_global
    except ValueError:
        return False


def _outbox() -> tuple[float, float]:
    status = outbox_status(db.session(), parked_limit=0)
    age = (utcnow() - status.oldest_waiting).total_seconds() if status.oldest_waiting else 0.0
    return float(status.waiting), age


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics, only for internal callers or with METRICS_TOKEN."""
    if not _internal_caller():
        return Response("forbidden\n", status=403, mimetype="text/plain")
    return Response(render(_outbox), mimetype="text/plain; version=0.0.4")


@bp.get("/favicon.ico")
def favicon() -> Response:
    """The tool's icon where browsers look for it without a <link rel=icon> (the JSON pages, old browsers)."""
    return send_from_directory(str(current_app.static_folder), "favicon.ico", mimetype="image/vnd.microsoft.icon",
                               max_age=FAVICON_MAX_AGE)
