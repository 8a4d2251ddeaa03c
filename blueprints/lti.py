"""LTI endpoints: OIDC login, launch, and the tool's public keys."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from lti_tool.extensions import csrf, db
from lti_tool.launch.dispatch import Landing, landing
from lti_tool.launch.locale import unverified_locale
from lti_tool.launch.record import RecordedLaunch
from lti_tool.launch.validate import PendingStorageCheck, accept_launch, complete_storage_check, start_login
from lti_tool.lti.keys import published_jwks
from lti_tool.lti.launch import LaunchInput
from lti_tool.runtime import runtime
from lti_tool.web import secure_context, set_locale
from lti_tool.web.limits import limiter
from lti_tool.web.metrics import LAUNCHES

bp = Blueprint("lti", __name__)


@bp.route("/lti/login", methods=["GET", "POST"])
@csrf.exempt
@limiter.limit("LIMIT_LTI")
def login() -> BaseResponse:
    """OIDC third-party initiated login (Core §5.1.1): send the browser on to the platform's authorization.

    With platform storage it first keeps the state in the platform's frame; framed without it, it
    first checks that the browser keeps cookies."""
    # The handshake and its error pages (an unknown or pending platform included) hold no action:
    # any page may frame them, or a platform not yet active shows "refused to connect" instead.
    g.frame_anywhere = True
    params = {k: v for k, v in (request.form if request.method == "POST" else request.args).items()}
    rt = runtime()
    login_redirect = start_login(
        db.session(),
        params,
        store=rt.store,
        base_url=rt.base_url,
        state_lifetime=current_app.config["LOGIN_STATE_LIFETIME"],
    )
    response: BaseResponse
    if login_redirect.storage_target and not params.get("lti_new_window"):
        # Platform storage: keep state and nonce in the platform's frame, then go on.
        response = make_response(render_template("lti/storage_login.html", login=login_redirect))
    elif request.headers.get("Sec-Fetch-Dest") == "iframe" and not params.get("lti_new_window"):
        # Framed without platform storage: check that the browser keeps our cookies here,
        # and offer a new window when it does not.
        new_window = url_for("lti.login") + "?" + urlencode({**params, "lti_new_window": "1"})
        response = make_response(render_template("lti/cookie_check.html", login=login_redirect,
                                                  new_window_url=new_window))
    else:
        # A GET redirect, not a POSTed form: Moodle 4.5's Lax session cookie needs top-level GET.
        response = redirect(login_redirect.url, code=302)
    secure = secure_context()
    if request.headers.get("Sec-Fetch-Dest") == "iframe" and not login_redirect.storage_target \
            and not params.get("lti_new_window"):
        response.set_cookie("lti_cookies", "1", max_age=60, secure=secure,  # read by cookie_check.js
                            samesite="None" if secure else "Lax", partitioned=secure, path="/lti/")
    response.set_cookie(
        login_redirect.cookie_name,
        login_redirect.state,
        max_age=login_redirect.cookie_max_age,
        secure=secure,
        httponly=True,
        samesite="None" if secure else "Lax",
        partitioned=secure,
        path="/lti/",
    )
    return response


@bp.route("/lti/launch", methods=["POST"])
@csrf.exempt
@limiter.limit("LIMIT_LTI")
def launch() -> BaseResponse:
    """The platform posts the id_token here: validate it, then land on the page the launch opens.

    With platform storage, a page first reads the state back from the platform's frame."""
    id_token = request.form.get("id_token")
    g.frame_anywhere = True  # until the launch is valid: its error pages hold no action
    rt = runtime()
    try:
        record = accept_launch(
            db.session(),
            LaunchInput(id_token=id_token, state=request.form.get("state"), cookies=dict(request.cookies)),
            store=rt.store,
            platform_keys=rt.platform_keys(),
            settings=current_app.config,
            catalog=rt.catalog(),
        )
    except Exception:
        # The error page speaks the launch's language. Read from the token only then: an accepted
        # launch's pages speak the language it was recorded with.
        set_locale(unverified_locale(id_token))
        raise
    if isinstance(record, PendingStorageCheck):
        set_locale(unverified_locale(id_token))  # validated by now
        return make_response(render_template("lti/storage_check.html", pending=record))
    g.frame_anywhere = False  # the tool's own pages: the registered platforms only
    LAUNCHES.labels("accepted", "").inc()
    return _landing(record)


@bp.post("/lti/launch/verify")
@csrf.exempt
@limiter.limit("LIMIT_LTI")
def verify_storage() -> BaseResponse:
    """The page read the state back from platform storage: finish the parked launch."""
    g.frame_anywhere = True  # until the launch is valid, as in launch()
    rt = runtime()
    record = complete_storage_check(db.session(), rt.store, request.form.get("pending", ""),
                                    request.form.get("state", ""), lifetime=current_app.config["LAUNCH_LIFETIME"],
                                    catalog=rt.catalog())
    g.frame_anywhere = False
    LAUNCHES.labels("accepted", "").inc()
    return _landing(record)


# The instructor's landings: a 303 to their page. A learner's launch instead answers with the
# first page itself, rendered by the learner blueprint (endpoint "learner.landing").
_REDIRECTS = {Landing.DEEP_LINKING: "instructor.deep_link", Landing.INSTRUCTOR: "instructor.home"}


def _landing(record: RecordedLaunch) -> BaseResponse:
    """Where an accepted (and already committed) launch goes, by lti_tool.launch.dispatch."""
    kind = landing(record)
    if kind in _REDIRECTS:
        return redirect(url_for(_REDIRECTS[kind], launch_id=record.id), code=303)
    first_page = current_app.view_functions["learner.landing"]
    return make_response(first_page(launch_id=record.id, live=record.live, records=record.records))


@bp.route("/.well-known/jwks.json")
def jwks() -> Response:
    """The tool's public keys: the current one and those retired less than the grace period ago."""
    keys = published_jwks(db.session(), timedelta(seconds=current_app.config["TOOL_KEY_GRACE"]))
    response = jsonify(keys)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
