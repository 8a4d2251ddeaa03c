"""Request-level glue: locale, request ids, security headers and the one error handler."""

from __future__ import annotations

import contextlib
import gc
import logging
import secrets
import threading
import time
from typing import Any

from flask import Flask, Response, g, jsonify, render_template, request
from flask_babel import get_locale, get_translations
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from lti_tool import errors
from lti_tool.extensions import db
from lti_tool.launch.locale import LANGUAGES, interface_language
from lti_tool.lti.toolconf import framing_origins
from lti_tool.runtime import runtime
from lti_tool.text import origin, parsed_url
from lti_tool.web.metrics import DEPENDENCY_UNAVAILABLE, LAUNCHES, REQUEST_SECONDS

log = logging.getLogger("lti_tool.web")
access_log = logging.getLogger("lti_tool.access")


def select_locale() -> str:
    """The launch's locale; else the browser's languages; else Danish."""
    locale = g.get("locale")
    if locale:
        return str(locale)
    return request.accept_languages.best_match(LANGUAGES) or "da"


def request_translations() -> Any:
    """The catalogue of this request's locale, looked up once per request and locale.

    Performance: flask-babel's template gettext finds the domain, the locale (formatting its name)
    and the catalogue again for every string, about 15 µs each; a learner's page has some thirty.
    The catalogue is kept in `g` beside the locale it is for, so a locale changed during the
    request (flask_babel.refresh) gets its own."""
    if not g:  # outside a request, as flask-babel does
        return get_translations()
    locale = get_locale()
    cached = g.get("translations")
    if cached is not None and cached[0] is locale:
        return cached[1]
    translations = get_translations()
    g.translations = (locale, translations)
    return translations


def set_locale(locale: str | None) -> None:
    g.locale = interface_language(locale) if locale else None


def launch_id_in_path(path: str) -> str | None:
    """The launch id of a /c/<launch_id>/… address, whether or not a route matched the rest."""
    parts = path.split("/", 3)
    return parts[2] if len(parts) > 2 and parts[1] == "c" and parts[2] else None


def logged_path() -> str:
    """The request's path for the logs, its launch id masked: the id stands in for a session."""
    path = str(request.path)
    launch_id = (request.view_args or {}).get("launch_id") or launch_id_in_path(path)
    prefix = f"/c/{launch_id}"
    if isinstance(launch_id, str) and launch_id and (path == prefix or path.startswith(prefix + "/")):
        return "/c/…" + path[len(prefix):]  # the segment only: a short id may occur elsewhere in the path
    return path


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def render_error(error: errors.ToolError) -> tuple[Any, int]:
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


_HTTP_ERRORS: dict[int, type[errors.ToolError]] = {404: errors.NotFound, 403: errors.AccessDenied}


def _frame_ancestors() -> str:
    """Who may frame this page: the registered platforms, plus the page the launch came from.

    Canvas cloud's issuer and OIDC host are not the customer's domain, so the origin of the
    launch's return_url (the LMS page) is allowed too. The launch handshake pages, which hold
    no actions, may be framed anywhere."""
    if g.get("frame_anywhere"):
        return "*"
    try:
        ancestors = ["'self'", *framing_origins(db.session(), runtime().store)]
    except Exception:  # noqa: BLE001 - a header must never turn a page into a 500
        ancestors = ["'self'"]
    launch = g.get("launch")
    extra = origin(launch.return_url) if launch is not None else None
    if extra and extra not in ancestors:
        ancestors.append(extra)
    return " ".join(ancestors)


def secure_context() -> bool:
    """Whether this request comes over a secure context: https, or a loopback address, which
    browsers treat as secure (Chromium keeps `Secure` cookies on http://localhost and
    http://127.0.0.1). Cookies then get production's `Secure; SameSite=None; Partitioned`, so the
    demo and the tests frame the tool across sites with the attributes a real installation uses."""
    if request.is_secure:
        return True
    parsed = parsed_url("//" + request.host)
    host = (parsed.hostname if parsed is not None else None) or ""
    return host in {"localhost", "127.0.0.1", "::1"} or host.endswith(".localhost")


def content_security_policy(ancestors: str, form_action: str = "*") -> str:
    """No inline script or style anywhere; who may frame the page and where forms may post."""
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; "
        f"script-src 'self'; form-action {form_action}; base-uri 'none'; object-src 'none'; "
        f"frame-ancestors {ancestors}"
    )


# The largest row id: primary keys are INTEGER, 4 bytes on PostgreSQL, which refuses a larger
# number in a query with an error (a 500) instead of finding nothing.
ROW_ID_MAX = 2**31 - 1


class RowIdConverter(IntegerConverter):
    """`<int:…>` in every route is a row id: nothing past ROW_ID_MAX matches (a 404). It replaces
    Werkzeug's own `int` on purpose, so that no route, present or future, can forget the limit."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = ROW_ID_MAX, signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def install(app: Flask) -> None:
    app.url_map.converters["int"] = RowIdConverter  # before any blueprint adds its routes

    from lti_tool.launch.live import form_token

    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or "da")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        pgettext=lambda c, s: request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.globals["launch_csrf_token"] = lambda: form_token(str(app.config["SECRET_KEY"]), g.launch.id)
    if app.config.get("PROXY_FIX"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)  # type: ignore[method-assign]

    app.extensions["templates_compiled"] = threading.Event()

    @app.before_request
    def _compile_templates_once() -> None:
        # Any server (flask run, gunicorn): the first request compiles every template while the
        # others wait, so no two threads compile at once (see compile_templates).
        compile_templates(app)

    @app.before_request
    def _request_id() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming[:64] if incoming.isalnum() else secrets.token_hex(8)
        g.locale = None
        g.started = time.perf_counter()
        if holds_nul(request):
            # PostgreSQL refuses a NUL character in text (a 500 where SQLite stored it): no
            # address, query or form of this tool has a use for one.
            raise errors.ToolError("NUL character in the request", reason="nul_in_request")

    log_requests = bool(app.config["LOG_REQUESTS"])

    @app.teardown_request
    def _observe(_: BaseException | None) -> None:
        if "started" not in g:
            return
        seconds = time.perf_counter() - g.started
        status = g.get("status", 0)
        if request.endpoint:
            REQUEST_SECONDS.labels(request.endpoint, request.method, str(status)).observe(seconds)
        if log_requests:
            # The access line, with the request id like every other line. The path only, and
            # without a launch id: query strings carry login hints, a launch id opens the launch.
            path = logged_path()
            access_log.info("%s %s %s %.1f ms", request.method, path, status, seconds * 1000,
                            extra={"status": status, "path": path, "method": request.method,
                                   "duration_ms": round(seconds * 1000, 1)})

    hsts_seconds = int(app.config.get("HSTS_SECONDS") or 0)

    @app.after_request
    def _headers(response: Response) -> Response:
        g.status = response.status_code
        response.headers["X-Request-Id"] = g.get("request_id", "-")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if hsts_seconds and request.is_secure:  # over https only (behind the proxy: PROXY_FIX)
            response.headers.setdefault("Strict-Transport-Security", f"max-age={hsts_seconds}")
        if response.mimetype == "text/html" and "Content-Security-Policy" not in response.headers:
            response.headers["Content-Security-Policy"] = content_security_policy(_frame_ancestors())
        return response

    @app.errorhandler(errors.ToolError)
    def _tool_error(error: errors.ToolError) -> tuple[Any, int]:
        db.session.rollback()
        return render_error(error)

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> tuple[Any, int]:
        tool_error = errors.ToolError(str(error.description), reason="csrf")
        tool_error.message = _("The form has expired. Reload the page and try again.")
        return render_error(tool_error)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(error: RequestEntityTooLarge) -> tuple[Any, int]:
        if request.path.startswith("/lti/"):
            tool_error: errors.ToolError = errors.WrongMessage("request body too large", reason="oversized_request")
        else:  # a form of the tool's own pages, not a message from the platform
            tool_error = errors.ToolError("request body too large", reason="oversized_request")
            tool_error.message = _("What you sent is too large to be received.")
            tool_error.hint = _("Shorten the text and send it again.")
        tool_error.status = 413
        return render_error(tool_error)

    @app.errorhandler(429)
    def _too_many(error: HTTPException) -> tuple[Any, int]:
        tool_error = errors.ToolError(str(error.description), reason="rate_limited")
        tool_error.status = 429
        tool_error.message = _("Too many requests from your network right now.")
        tool_error.hint = _("Wait a minute and try again.")
        return render_error(tool_error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> tuple[Any, ...]:
        original = getattr(error, "original_exception", None)
        if isinstance(original, BaseException):  # raised after the view: Flask wrapped it in a 500
            dependency = errors.failing_dependency(original)
            if dependency is not None:
                return dependency_unavailable(dependency, original)
        launch_id = launch_id_in_path(request.path)
        if g.get("locale") is None and launch_id:
            # An address under a launch that no route matched: the page speaks the launch's language.
            from lti_tool.launch.live import launch_locale

            set_locale(launch_locale(db.session(), launch_id))
        kind = _HTTP_ERRORS.get(error.code or 400, errors.ToolError)
        tool_error = kind(str(error.description), reason=f"http_{error.code}")
        tool_error.status = error.code or 400
        return render_error(tool_error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[Any, ...]:
        dependency = errors.failing_dependency(error)
        if dependency is not None:
            return dependency_unavailable(dependency, error)
        db.session.rollback()
        log.exception("unexpected error on %s %s", request.method, logged_path())
        tool_error = errors.ToolError(repr(error), reason="internal_error")
        tool_error.status = 500
        tool_error.message = _("Something went wrong on our side. Nothing you did was lost.")
        tool_error.hint = _("Try again in a moment. The operator has been notified in the log.")
        return render_error(tool_error)


_compiling = threading.Lock()


def ready_to_serve(app: Flask) -> None:
    """What a web process does once, before its first request.

    - Validate and load the content packs: problems are logged at start-up, not on a first launch.
    - Compile every template (see compile_templates).
    - Freeze what start-up built (content, templates, mappers) out of the garbage collector's
      reach. Performance: a full collection otherwise walks those objects again and again, and a
      page that allocates a lot (the dashboard of 1,000 learners) triggers several: about a
      quarter of its time. Nothing frozen is ever freed, and start-up's objects never are anyway.
    """
    app.extensions["integrationsloeft"].catalog()
    compile_templates(app)
    gc.collect()
    gc.freeze()


def compile_templates(app: Flask) -> None:
    """Compile every template, once per app, before its threads serve a page.

    CPython 3.11 before 3.11.8 can fail `compile()` running in two threads at once
    ("SystemError: AST constructor recursion depth mismatch", CPython gh-106905), and Jinja
    compiles a template on its first use: a class launching at nine into fresh gthread workers
    would meet it. wsgi.py calls this at start-up (ready_to_serve) so no learner waits; the first
    request of any other server does.
    """
    done: threading.Event = app.extensions["templates_compiled"]
    if done.is_set():
        return
    with _compiling:
        if not done.is_set():
            for name in app.jinja_env.list_templates(extensions=["html"]):
                app.jinja_env.get_template(name)
            done.set()


def holds_nul(req: Any) -> bool:
    """Whether the request's path, query or form carries a NUL character (%00)."""
    if "\x00" in req.path or b"%00" in req.query_string or b"\x00" in req.query_string:
        return True
    if req.method == "POST" and req.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return any("\x00" in key or any("\x00" in value for value in values) for key, values in req.form.lists())
    return False


def record_id(value: str | None) -> int | None:
    """A database id from a URL or form: ASCII digits up to ROW_ID_MAX, else None.

    `str.isdigit` alone lets through "²" (int() refuses it) and numbers no id column holds."""
    if value and value.isascii() and value.isdigit() and len(value) <= 10 and int(value) <= ROW_ID_MAX:
        return int(value)
    return None
