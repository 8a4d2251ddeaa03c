"""The operator console at /admin, with its own sign-in, separate from LTI launches.

Every page requires a signed-in operator unless it is listed in PUBLIC: the check runs before
each request of the blueprint, so a view added later cannot forget it. The console is a
top-level page, so the ordinary session cookie and Flask-WTF's CSRF tokens work here.
"""

from __future__ import annotations

import time

from flask import Blueprint, current_app, g, redirect, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from lti_tool.extensions import db
from lti_tool.models import Operator
from lti_tool.operating.operators import active_operator
from lti_tool.web import content_security_policy

bp = Blueprint("admin", __name__, url_prefix="/admin")

PUBLIC = {"admin.login"}
OPERATOR_KEY = "operator_id"
SEEN_KEY = "operator_seen"


def sign_in(operator: Operator) -> None:
    """Start a fresh console session for `operator`, dropping whatever the session held before."""
    # A fresh session on sign-in, so nothing set before it (fixation) carries over.
    session.clear()
    session[OPERATOR_KEY] = operator.id
    session[SEEN_KEY] = time.time()


def sign_out() -> None:
    """End the console session: forget the operator and the last-seen time."""
    session.pop(OPERATOR_KEY, None)
    session.pop(SEEN_KEY, None)


def safe_next(target: str | None) -> str:
    """Only back into the console: a `next` elsewhere would be an open redirect."""
    if (target and (target == "/admin/" or target.startswith("/admin/")) and "//" not in target
            and "\\" not in target and target.isprintable()):  # no header-splitting control characters
        return target
    return url_for("admin.home")


@bp.before_request
def _require_operator() -> BaseResponse | None:
    if request.endpoint in PUBLIC:
        return None
    idle_limit = 60 * int(current_app.config["ADMIN_SESSION_MINUTES"])
    seen = session.get(SEEN_KEY)
    operator = active_operator(db.session(), session.get(OPERATOR_KEY))
    if operator is None or not isinstance(seen, int | float):
        sign_out()
        back = request.path if request.method == "GET" else None
        return redirect(url_for("admin.login", next=back))
    if time.time() - seen > idle_limit:
        sign_out()
        return redirect(url_for("admin.login", expired=1))
    g.operator = operator
    session[SEEN_KEY] = time.time()
    return None


@bp.after_request
def _private(response: BaseResponse) -> BaseResponse:
    # Never framed (clickjacking), never cached: these pages show personal data.
    policy = content_security_policy("'none'", form_action="'self'")
    response.headers["Content-Security-Policy"] = policy
    response.headers["Cache-Control"] = "no-store"
    return response


# The views register themselves on `bp` when imported.
from blueprints.admin import auth, learners, operations, platforms, reach  # noqa: E402, F401
