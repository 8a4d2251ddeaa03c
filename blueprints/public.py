"""Pages for anyone, without a launch or sign-in: checking a certificate by its verification code."""

from __future__ import annotations

import logging

from flask import Blueprint, make_response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from lti_tool.credentials.certificates import MalformedCode, check_code
from lti_tool.extensions import db
from lti_tool.launch.locale import LANGUAGES
from lti_tool.web import set_locale
from lti_tool.web.limits import limiter

bp = Blueprint("public", __name__, url_prefix="/verify")
log = logging.getLogger(__name__)


@bp.before_request
def _language() -> None:
    """`?lang=` picks the language (the page's own switch); otherwise the browser's languages."""
    chosen = request.args.get("lang")
    set_locale(chosen if chosen in LANGUAGES else None)


@bp.get("/")
@limiter.limit("LIMIT_VERIFY")
def verify_form() -> str | Response:
    """The form to type a code into; a typed code goes to its own address."""
    code = request.args.get("code", "").strip()
    if code:
        return redirect(url_for("public.verify_code", code=code[:64], lang=request.args.get("lang")))
    return render_template("public/verify.html", code="")


@bp.get("/<code>")
@limiter.limit("LIMIT_VERIFY")
def verify_code(code: str) -> Response:
    """The certificate with `code`: name, programme and date (404 when none, 400 for no code)."""
    try:
        found = check_code(db.session(), code)
    except MalformedCode:
        log.info("verification: malformed code refused")
        return _page(code[:64], status=400, error="malformed")
    if found is None:
        log.info("verification: no certificate with the code given")
        return _page(code, status=404, error="not_found")
    return _page(code, status=200, result=found)


def _page(code: str, *, status: int, **values: object) -> Response:
    """The verification page, kept out of caches and search engines (it names a person)."""
    response = make_response(render_template("public/verify.html", code=code, **values), status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
