"""HTTP endpoints of the demo LMS (its own app, on another site than the tool; see app.py)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from lti_tool.demo_lms import directory, gradebook
from lti_tool.demo_lms import platform as demo
from lti_tool.demo_lms.database import lms_db as db
from lti_tool.demo_lms.models import DemoResourceLink, DemoToolRegistration
from lti_tool.demo_lms.services import services
from lti_tool.lti import claims

bp = Blueprint("demo_lms", __name__, url_prefix="/demo-lms")

USER_COOKIE = "demo_lms_user"


def _json_body() -> Any:
    """The request's JSON, or {} when it is none (silent=True does not cover JSON nested too deep)."""
    try:
        return request.get_json(silent=True) or {}
    except RecursionError:
        return {}


def _urls() -> demo.DemoUrls:
    return services().urls


def _secret() -> str:
    return services().secret


def record_id(raw: str | None) -> int | None:
    """A small non-negative whole number from a query argument, or None."""
    return int(raw) if raw and raw.isdigit() and len(raw) < 10 else None


def _cookie_signer() -> URLSafeSerializer:
    return URLSafeSerializer(_secret(), salt="demo-lms-user")


def _current_user() -> directory.DemoUser | None:
    raw = request.cookies.get(USER_COOKIE)
    if not raw:
        return None
    try:
        return directory.find_user(str(_cookie_signer().loads(raw)))
    except BadSignature:
        return None


@bp.after_request
def _lms_csp(response: Response) -> Response:
    """The demo LMS frames the tool, from wherever the tool runs."""
    if response.mimetype == "text/html":
        tool = services().tool_url
        # The storage frame and the OIDC answer run inside frames of LMS pages on any host name.
        ancestors = "*" if request.endpoint in ("demo_lms.platform_storage", "demo_lms.auth") else "'self'"
        response.headers["Content-Security-Policy"] = (
            f"default-src 'self'; frame-src 'self' {tool}; img-src 'self' data:; style-src 'self'; "
            f"script-src 'self'; form-action *; base-uri 'none'; object-src 'none'; frame-ancestors {ancestors}")
    return response


@bp.errorhandler(demo.DemoError)
def _demo_error(error: demo.DemoError) -> tuple[Response, int]:
    current_app.logger.info("demo LMS refused: %s %s", error.error, error.description)
    return jsonify(error=error.error, error_description=error.description), error.status


# --- people's pages ------------------------------------------------------------------------

@bp.get("/")
def index() -> str:
    """The sign-in page: choose one of the demo users."""
    return render_template("demo_lms/index.html", users=directory.USERS.values(), user=_current_user())


@bp.post("/sign-in")
def sign_in() -> BaseResponse:
    """Sign in as the chosen demo user with a signed cookie, then show their courses."""
    user = directory.find_user(request.form.get("user_id", ""))
    if user is None:
        return redirect(url_for("demo_lms.index"))
    response = redirect(url_for("demo_lms.courses"))
    # Moodle's session cookie: Lax since 4.5, so only the LMS's own pages and top-level GETs carry it.
    response.set_cookie(USER_COOKIE, _cookie_signer().dumps(user.id), httponly=True, samesite="Lax")
    return response


@bp.get("/courses")
def courses() -> BaseResponse | str:
    """The courses the signed-in user is enrolled in."""
    user = _current_user()
    if user is None:
        return redirect(url_for("demo_lms.index"))
    mine = [c for c in directory.COURSES.values() if directory.role_in(c, user.id)]
    return render_template("demo_lms/courses.html", user=user, courses=mine)


@bp.get("/courses/<course_id>")
def course(course_id: str) -> BaseResponse | str:
    """A course page with its activities, and the learner's own grades as the tool sent them."""
    user = _current_user()
    course = directory.COURSES.get(course_id)
    if user is None or course is None or not directory.role_in(course, user.id):
        return redirect(url_for("demo_lms.index"))
    links = db.session.scalars(
        select(DemoResourceLink).where(DemoResourceLink.course_id == course_id).order_by(DemoResourceLink.id)
    ).all()
    is_instructor = directory.role_in(course, user.id) == directory.INSTRUCTOR
    # A learner sees their own grades with the comment exactly as the tool sent it (as Moodle shows
    # feedback under "Grades").
    mine = {} if is_instructor else gradebook.scores_of(db.session(), course_id, user.id)
    return render_template("demo_lms/course.html", user=user, course=course, links=links, my_scores=mine,
                           is_instructor=is_instructor, message=request.args.get("msg"))


@bp.get("/courses/<course_id>/open/<link_id>")
def open_link(course_id: str, link_id: str) -> BaseResponse | str:
    """The course page with the tool framed in it, as Moodle shows an activity. The frame starts
    at the tool's login URL built here, as a real LMS does: a cross-site frame gets no cookies."""
    user = _current_user()
    reg = demo.registration(db.session(), request.args.get("client_id"))
    if user is None or reg is None:
        return redirect(url_for("demo_lms.index"))
    start = _login_initiation_url(reg, user, course_id, link_id, claims.MSG_RESOURCE_LINK, "iframe",
                                  storage=request.args.get("storage", "1") == "1")
    return render_template("demo_lms/frame.html", user=user, course=directory.COURSES.get(course_id),
                           start_url=start, storage_url=_urls().base_url + url_for("demo_lms.platform_storage"),
                           frame_resize=bool(current_app.config["LMS_FRAME_RESIZE"]))


@bp.get("/platform-storage")
def platform_storage() -> str:
    """The frame that keeps tools' data when their cookies are blocked (like Canvas's
    post_message_forwarding frame, served from the platform's OIDC origin)."""
    return render_template("demo_lms/platform_storage.html")


def _login_initiation_url(reg: DemoToolRegistration, user: directory.DemoUser, course_id: str,
                          link_id: str | None, message_type: str, target: str, *, storage: bool) -> str:
    """Third-party initiated login (Core §5.1.1): the tool's login URL with the launch's hints."""
    hint = demo.message_hint(_secret(), user_id=user.id, course_id=course_id, link_id=link_id,
                             message_type=message_type, target=target, page_origin=request.host_url.rstrip("/"))
    link = db.session.scalars(select(DemoResourceLink).where(DemoResourceLink.link_id == link_id)).first()
    target_link = (link.url if link and link.url else None) or (
        reg.deep_link_url if message_type == claims.MSG_DEEP_LINKING else reg.target_link_uri)
    params = {
        "iss": _urls().issuer,
        "login_hint": user.id,
        "target_link_uri": target_link,
        "lti_message_hint": hint,
        "client_id": reg.client_id,
        "lti_deployment_id": reg.deployment_id,
    }
    if storage:
        params["lti_storage_target"] = "post_message_forwarding"
    return reg.login_url + "?" + urlencode(params)


@bp.get("/courses/<course_id>/initiate")
def initiate(course_id: str) -> BaseResponse:
    """Start a launch (resource link or deep linking) by redirecting to the tool's login URL."""
    user = _current_user()
    reg = demo.registration(db.session(), request.args.get("client_id"))
    if user is None or reg is None:
        return redirect(url_for("demo_lms.index"))
    message_type = claims.MSG_DEEP_LINKING if request.args.get("deep_link") else claims.MSG_RESOURCE_LINK
    return redirect(_login_initiation_url(reg, user, course_id, request.args.get("link_id"), message_type,
                                          request.args.get("target", "iframe"), storage=False))


@bp.get("/courses/<course_id>/gradebook")
def gradebook_page(course_id: str) -> BaseResponse | str:
    """The course gradebook, for the course's instructors only."""
    user = _current_user()
    course = directory.COURSES.get(course_id)
    if user is None or course is None or directory.role_in(course, user.id) != directory.INSTRUCTOR:
        return redirect(url_for("demo_lms.index"))
    items, learners, cells = gradebook.gradebook(db.session(), course_id)
    return render_template("demo_lms/gradebook.html", user=user, course=course, items=items,
                           learners=learners, cells=cells)


# --- the platform's LTI endpoints ------------------------------------------------------------

@bp.get("/jwks")
def jwks() -> Response:
    """The demo LMS's public keys."""
    return jsonify(demo.jwks(db.session()))


@bp.route("/auth", methods=["GET", "POST"])
def auth() -> str | tuple[Response, int]:
    """The OIDC authorization endpoint: answer with an id_token posted to the tool by an auto-submitting form."""
    params = {k: v for k, v in (request.form if request.method == "POST" else request.args).items()}
    redirect_uri, fields = demo.authorize(db.session(), params, urls=_urls(), secret_key=_secret())
    return render_template("demo_lms/form_post.html", action=redirect_uri, fields=fields)


@bp.post("/token")
def token() -> Response:
    """The OAuth2 token endpoint for the tool's client-credentials grant."""
    lms = services()
    answer = demo.issue_access_token(
        db.session(), request.form.to_dict(), urls=_urls(), secret_key=_secret(),
        tool_keys=lms.tool_keys(), store_add=lms.store.add,
        lifetime=int(current_app.config.get("DEMO_TOKEN_LIFETIME", demo.TOKEN_LIFETIME)),
    )
    return jsonify(answer)


def _require(scope: str) -> None:
    demo.check_access_token(request.headers.get("Authorization"), scope, secret_key=_secret())


# How the line item container misbehaves (set by tests): {"ignore_filters": true} answers every
# line item of the course whatever the query asks, as some platforms do; {"page_size": n} splits
# the answer into pages linked by `Link: rel="next"`; {"delay": seconds} answers slowly.
CONTAINER_KEY = "demo-lms:lineitems"


@bp.route("/api/courses/<course_id>/lineitems", methods=["GET", "POST"])
def line_items(course_id: str) -> tuple[Response, int] | Response:
    """The AGS line item container: list (with filters and paging) or create line items."""
    urls = _urls()
    if request.method == "POST":
        _require(claims.SCOPE_LINEITEM)
        item = gradebook.create_line_item(db.session(), course_id, _json_body())
        response = jsonify(gradebook.line_item_json(item, urls))
        response.mimetype = "application/vnd.ims.lis.v2.lineitem+json"
        return response, 201
    _require(claims.SCOPE_LINEITEM)
    quirks = services().store.get(CONTAINER_KEY) or {}
    if quirks.get("delay"):
        time.sleep(float(quirks["delay"]))
    filters = {} if quirks.get("ignore_filters") else request.args.to_dict()
    items = gradebook.list_line_items(db.session(), course_id, filters)
    limit = record_id(request.args.get("limit")) or int(quirks.get("page_size") or 0)
    page = record_id(request.args.get("page")) or 0
    more = False
    if limit > 0:
        more = (page + 1) * limit < len(items)
        items = items[page * limit:(page + 1) * limit]
    response = jsonify([gradebook.line_item_json(i, urls) for i in items])
    response.mimetype = "application/vnd.ims.lis.v2.lineitemcontainer+json"
    if more:
        query = {k: v for k, v in request.args.items() if k not in ("limit", "page")}
        next_url = f"{urls.lineitems_url(course_id)}?{urlencode({**query, 'limit': limit, 'page': page + 1})}"
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response


@bp.get("/api/courses/<course_id>/lineitems/<int:item_id>")
def line_item(course_id: str, item_id: int) -> Response:
    """One AGS line item."""
    _require(claims.SCOPE_LINEITEM)
    return jsonify(gradebook.line_item_json(gradebook.get_line_item(db.session(), course_id, item_id), _urls()))


OUTAGE_KEY = "demo-lms:outage"


def _refusal(outage: dict[str, Any]) -> tuple[str, int, dict[str, str]] | None:
    """How a simulated outage (set by tests or `flask demo outage`) answers a score post before
    storing it: 503, hanging then 504 ("slow"), 429 with a Retry-After, or hanging then storing
    ("delay"). None when the score is stored."""
    mode = outage.get("mode")
    if mode in ("slow", "delay"):
        time.sleep(float(outage.get("seconds", 5)))
        return ("gateway timeout", 504, {}) if mode == "slow" else None
    if mode == "429":
        return "too many requests", 429, {"Retry-After": str(outage.get("retry_after", 30))}
    if mode == "503":
        return "service unavailable", 503, {}
    return None


@bp.post("/api/courses/<course_id>/lineitems/<int:item_id>/scores")
def scores(course_id: str, item_id: int) -> tuple[str, int] | tuple[str, int, dict[str, str]]:
    """Store a score posted by the tool, unless a simulated outage refuses it or answers late."""
    outage = services().store.get(OUTAGE_KEY) or {}
    refused = _refusal(outage)
    if refused:
        return refused
    _require(claims.SCOPE_SCORE)
    item = gradebook.get_line_item(db.session(), course_id, item_id)
    gradebook.post_score(db.session(), item, _json_body())
    if outage.get("mode") == "lost-answer":
        # Stored, but the answer comes too late for the tool: it must not lose or double it.
        time.sleep(float(outage.get("seconds", 5)))
    return "", 204


@bp.get("/api/courses/<course_id>/lineitems/<int:item_id>/results")
def results(course_id: str, item_id: int) -> Response:
    """The results of a line item, for one user when `user_id` is given."""
    _require(claims.SCOPE_RESULT_READONLY)
    item = gradebook.get_line_item(db.session(), course_id, item_id)
    response = jsonify(gradebook.results(db.session(), item, _urls(), request.args.get("user_id")))
    response.mimetype = "application/vnd.ims.lis.v2.resultcontainer+json"
    return response


# How the roster service fails (set by `flask lms outage --roster` or tests): 503 at once, or
# hanging ("slow") past any client's patience, as a frozen LMS does.
ROSTER_OUTAGE_KEY = "demo-lms:roster-outage"


@bp.get("/api/courses/<course_id>/memberships")
def memberships(course_id: str) -> Response | tuple[str, int]:
    """The course roster (NRPS), paged, or a simulated outage."""
    outage = services().store.get(ROSTER_OUTAGE_KEY) or {}
    if outage.get("mode") == "slow":
        time.sleep(float(outage.get("seconds", 15)))
        return "gateway timeout", 504
    if outage.get("mode") == "503":
        return "service unavailable", 503
    _require(claims.SCOPE_NRPS)
    limit = max(1, min(record_id(request.args.get("limit")) or 100, 500))
    page = record_id(request.args.get("page")) or 0
    body, next_url = gradebook.memberships(course_id, _urls(), page=page, limit=limit)
    response = jsonify(body)
    response.mimetype = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
    if next_url:
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response


@bp.post("/courses/<course_id>/deep-link-return")
def deep_link_return(course_id: str) -> BaseResponse:
    """Add the activities the tool returned in a deep-linking response, back on the course page."""
    reg = demo.registration(db.session())
    if reg is None:
        raise demo.DemoError("invalid_request", "no tool registered")
    created, message = gradebook.accept_deep_link_response(
        db.session(), course_id, request.form.get("JWT", ""), reg=reg, urls=_urls(),
        tool_keys=services().tool_keys())
    text = message or f"{len(created)} aktivitet(er) tilføjet"
    return redirect(url_for("demo_lms.course", course_id=course_id, msg=text))




# --- dynamic registration ----------------------------------------------------------------------

@bp.get("/.well-known/openid-configuration")
def openid_configuration() -> Response:
    """The platform's OpenID configuration for dynamic registration."""
    return jsonify(demo.openid_configuration(_urls()))


def _admin() -> directory.DemoUser | None:
    """The signed-in user when they administer the site (the demo's instructors do)."""
    user = _current_user()
    admins = {i for course in directory.COURSES.values() for i in course.instructors}
    return user if user is not None and user.id in admins else None


@bp.route("/admin/tools", methods=["GET", "POST"])
def admin_tools() -> BaseResponse | str:
    """"Manage tools": paste a tool's registration URL and the registration opens in an iframe of
    this page, as Moodle 4.5 does (mod/lti/startltiadvregistration.php in a frame of the admin page)."""
    user = _admin()
    if user is None:
        return redirect(url_for("demo_lms.index"))
    start_url = None
    if request.method == "POST":
        tool_url = request.form.get("tool_url", "").strip()
        token = demo.new_registration_token(services().store.set)
        query = urlencode({"openid_configuration": _urls().issuer + "/.well-known/openid-configuration",
                           "registration_token": token})
        start_url = f"{tool_url}{'&' if '?' in tool_url else '?'}{query}"
    tools = db.session.scalars(select(DemoToolRegistration).order_by(DemoToolRegistration.id)).all()
    return render_template("demo_lms/tools.html", user=user, tools=tools, start_url=start_url,
                           default_url=services().tool_url + "/lti/register")


@bp.post("/admin/tools/<int:tool_id>/activate")
def activate_tool(tool_id: int) -> BaseResponse:
    """A pending tool becomes usable once an administrator activates it (Moodle: "Activate")."""
    if _admin() is None:
        return redirect(url_for("demo_lms.index"))
    tool = db.session.get(DemoToolRegistration, tool_id)
    if tool is not None:
        tool.active = True
        db.session.commit()
    return redirect(url_for("demo_lms.admin_tools"))


@bp.post("/register")
def register() -> tuple[Response, int]:
    """The dynamic registration endpoint: register a tool, pending activation."""
    answer = demo.register_dynamically(db.session(), _json_body(),
                                       request.headers.get("Authorization"), store_pop=services().store.pop)
    return jsonify(answer), 200
