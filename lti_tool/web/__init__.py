"""Request-level glue: request ids, security headers, row-id routes; locale and errors in their modules."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import Any

from flask import Flask, Response, current_app, g, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from lti_tool.errors import ToolError
from lti_tool.extensions import db
from lti_tool.launch.live import form_token
from lti_tool.lti.toolconf import framing_origins
from lti_tool.text import parsed_url
from lti_tool.web.errors import install_error_handlers
from lti_tool.web.i18n import current_language, install_locale, select_locale, set_locale
from lti_tool.web.logs import launch_id_in_path, logged_path
from lti_tool.web.metrics import REQUEST_SECONDS

# Re-exported: blueprints, the app factory and tests import these from lti_tool.web.
__all__ = [
    "ROW_ID_MAX", "RowIdConverter", "compile_templates", "content_security_policy", "current_language", "holds_nul",
    "install",
    "launch_id_in_path", "logged_path", "ready_to_serve", "record_id", "secure_context", "select_locale",
    "set_locale",
]

access_log = logging.getLogger("lti_tool.access")
log = logging.getLogger("lti_tool.web")


def _frame_ancestors() -> str:
    """Who may frame this page: a launch's pages by the platform that launched them, other pages
    of the tool by every registered platform.

    A launch's own origins (LiveLaunch.framing_origins) need no read of the store, and keep its
    pages out of other platforms' frames. The launch handshake pages, which hold no actions, may
    be framed anywhere."""
    if g.get("frame_anywhere"):
        return "*"
    launch = g.get("launch")
    if launch is not None:
        return " ".join(["'self'", *launch.framing_origins])
    try:
        # The store from the app itself, not lti_tool.runtime: that module imports the grade worker,
        # which imports this package's metrics, so importing it here would make a cycle.
        store = current_app.extensions["integrationsloeft"].store
        return " ".join(["'self'", *framing_origins(db.session(), store)])
    except Exception:  # noqa: BLE001 - a header must never turn a page into a 500
        return "'self'"


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
    """Install the request-level glue, one named step per concern, in the order Flask runs them."""
    install_row_ids(app)  # before any blueprint adds its routes
    install_locale(app)
    install_template_globals(app)
    install_proxy_fix(app)
    install_template_compilation(app)
    install_request_hooks(app)
    install_read_commit(app)  # runs after the headers, which may read the platforms
    install_security_headers(app)
    install_error_handlers(app)


def install_row_ids(app: Flask) -> None:
    """Make `<int:…>` in every route a RowIdConverter."""
    app.url_map.converters["int"] = RowIdConverter


def install_template_globals(app: Flask) -> None:
    """Give templates the launch forms' CSRF token (see launches.form_token)."""
    app.jinja_env.globals["launch_csrf_token"] = lambda: form_token(str(app.config["SECRET_KEY"]), g.launch.id)


def install_proxy_fix(app: Flask) -> None:
    """Trust one proxy's X-Forwarded-* headers when PROXY_FIX is set."""
    if app.config.get("PROXY_FIX"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)  # type: ignore[method-assign]


def install_template_compilation(app: Flask) -> None:
    """Compile every template on the first request of any server (see compile_templates)."""
    app.extensions["templates_compiled"] = threading.Event()

    @app.before_request
    def _compile_templates_once() -> None:
        # Any server (flask run, gunicorn): the first request compiles every template while the
        # others wait, so no two threads compile at once (see compile_templates).
        compile_templates(app)


def install_request_hooks(app: Flask) -> None:
    """Give each request an id and a start time, refuse NUL characters, and time and log it."""
    log_requests = bool(app.config["LOG_REQUESTS"])

    @app.before_request
    def _request_id() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming[:64] if incoming.isalnum() else secrets.token_hex(8)
        g.locale = None
        g.started = time.perf_counter()
        if holds_nul(request):
            # PostgreSQL refuses a NUL character in text (a 500 where SQLite stored it): no
            # address, query or form of this tool has a use for one.
            raise ToolError("NUL character in the request", reason="nul_in_request")

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


def install_read_commit(app: Flask) -> None:
    """End a successful request's transaction with COMMIT; a failed one is rolled back as before.

    Services commit their own writes, so what a successful request leaves open is a read, and
    COMMIT and ROLLBACK end it alike. But psycopg forgets its prepared statements at every
    ROLLBACK, and PostgreSQL then plans every query of the next request again: about half a
    millisecond of its CPU for a launch's read alone, on each launch."""

    @app.after_request
    def _commit_read(response: Response) -> Response:
        # registry.has(): a request that never used the database gets no session made to ask.
        if response.status_code < 400 and db.session.registry.has() and db.session().in_transaction():
            try:
                db.session.commit()
            except SQLAlchemyError as exc:  # the page was read: serve it, and let teardown roll back
                log.warning("ending a read transaction failed: %s", type(exc).__name__)
        return response


def install_security_headers(app: Flask) -> None:
    """Add the request id, nosniff, referrer policy, HSTS (over https) and the CSP to every response."""
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


_compiling = threading.Lock()


def ready_to_serve(app: Flask) -> None:
    """What a web process does once, before its first request.

    - Validate and load the content packs: problems are logged at start-up, not on a first launch.
    - Compile every template (see compile_templates).
    """
    app.extensions["integrationsloeft"].catalog()
    compile_templates(app)


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
