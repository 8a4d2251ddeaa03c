"""Signing in to and out of the console."""

from __future__ import annotations

import logging

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from blueprints.admin import bp, safe_next, sign_in, sign_out
from lti_tool.extensions import db
from lti_tool.operating.operators import LoginRefused, authenticate
from lti_tool.web.limits import limiter

log = logging.getLogger("lti_tool.admin")


@bp.route("/login", methods=["GET", "POST"])
# Only attempts count: every console form fetches the login page for its CSRF token.
@limiter.limit("LIMIT_CONSOLE_LOGIN", methods=("POST",))
def login() -> str | BaseResponse | tuple[str, int]:
    """The console's sign-in page (GET) and its form (POST), rate-limited per attempt."""
    if request.method == "GET":
        return render_template("admin/login.html", expired=request.args.get("expired") == "1",
                               next=request.args.get("next", ""))
    email = request.form.get("email", "")
    try:
        operator = authenticate(db.session(), email, request.form.get("password", ""))
    except LoginRefused as refused:
        log.warning("console sign-in refused: %s", refused.detail, extra={"reason": refused.reason})
        page = render_template("admin/login.html", error=refused, email=email,
                               next=request.form.get("next", ""))
        return page, refused.status
    sign_in(operator)
    log.info("operator %s signed in", operator.id)
    return redirect(safe_next(request.form.get("next")))


@bp.post("/logout")
def logout() -> BaseResponse:
    """Sign the operator out and return to the sign-in page."""
    sign_out()
    flash(_("You are signed out."), "ok")
    return redirect(url_for("admin.login"))
