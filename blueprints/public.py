"""Pages for anyone, without a launch or sign-in: checking a certificate by its code, verifying an
Open Badges 3.0 credential, and the documents credentials point to (issuer, keys, status list)."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, make_response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from lti_tool.credentials import public as credentials
from lti_tool.credentials.certificates import MalformedCode, check_code
from lti_tool.extensions import csrf, db
from lti_tool.launch.locale import LANGUAGES
from lti_tool.web import set_locale
from lti_tool.web.limits import limiter

bp = Blueprint("public", __name__)
log = logging.getLogger(__name__)


@bp.before_request
def _language() -> None:
    """`?lang=` picks the language (the page's own switch); otherwise the browser's languages."""
    chosen = request.args.get("lang")
    set_locale(chosen if chosen in LANGUAGES else None)


@bp.get("/verify/")
@limiter.limit("LIMIT_VERIFY")
def verify_form() -> str | Response:
    """The form to type a code into; a typed code goes to its own address."""
    code = request.args.get("code", "").strip()
    if code:
        return redirect(url_for("public.verify_code", code=code[:64], lang=request.args.get("lang")))
    return render_template("public/verify.html", code="")


@bp.get("/verify/<code>")
@limiter.limit("LIMIT_VERIFY")
def verify_code(code: str) -> Response:
    """The certificate with `code`: name, programme and date (404 when none, 400 for no code)."""
    try:
        found = check_code(db.session(), code)
    except MalformedCode:
        log.info("verification: malformed code refused")
        return _page("public/verify.html", status=400, code=code[:64], error="malformed")
    if found is None:
        log.info("verification: no certificate with the code given")
        return _page("public/verify.html", status=404, code=code, error="not_found")
    return _page("public/verify.html", status=200, code=code, result=found)


# Verifying changes nothing, and HR systems may post to it from their own pages: no CSRF token.
@bp.route("/verify/credential", methods=["GET", "POST"])
@csrf.exempt
@limiter.limit("LIMIT_VERIFY")
def verify_credential() -> Response:
    """Verify a pasted or uploaded credential: signature, issuer, validity and status."""
    if request.method == "GET":
        return _page("public/verify_credential.html", status=200)
    # The request hooks have read the form by now (NUL check), within MAX_CONTENT_LENGTH (2 MiB);
    # check_submitted reads no more than CREDENTIAL_UPLOAD_MAX_BYTES of the file and refuses a larger one.
    upload = request.files.get("file")
    outcome = credentials.check_submitted(db.session(), current_app.config, text=request.form.get("credential"),
                                          upload=upload.stream if upload else None)
    if outcome.rejected:
        log.info("credential verification refused: %s", outcome.rejected)
    return _page("public/verify_credential.html", status=outcome.status, outcome=outcome)


def _page(template: str, *, status: int, **values: object) -> Response:
    """A verification page, kept out of caches and search engines (it may name a person)."""
    response = make_response(render_template(template, **values), status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/credentials/issuer")
def credential_issuer() -> Response:
    """The issuer Profile every credential names by this address."""
    return jsonify(credentials.issuer(current_app.config))


@bp.get("/credentials/jwks.json")
def credential_keys() -> Response:
    """Every key that ever signed a credential (retired ones too: credentials do not expire)."""
    response = jsonify(credentials.jwks(db.session()))
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/credentials/status/<int:list_id>")
def status_list(list_id: int) -> Response:
    """The Bitstring Status List credential (a VC-JWT), signed afresh: it changes with each revocation."""
    response = make_response(credentials.status_list(db.session(), current_app.config, list_id))
    response.mimetype = "application/vc+jwt"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
