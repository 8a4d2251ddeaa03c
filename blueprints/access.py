"""Access decorators: a view of a launch gets the launch record; role checks on top.

Forms inside a launch carry a token derived from the launch id (HMAC with SECRET_KEY) instead of
Flask-WTF's session token: framed pages often cannot keep the session cookie.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request, url_for

from lti_tool.errors import AccessDenied, ToolError
from lti_tool.extensions import db
from lti_tool.launches import find_launch, form_token
from lti_tool.lti.roles import Role, effective_role
from lti_tool.models import LaunchRecord
from lti_tool.tokens import same_token
from lti_tool.web import set_locale

F = TypeVar("F", bound=Callable[..., Any])


class BadFormToken(ToolError):
    reason = "csrf"


def launch_csrf_token(launch_id: str | None = None) -> str:
    return form_token(str(current_app.config["SECRET_KEY"]), launch_id or g.launch.id)


def launch_required(view: F) -> F:
    """Resolve `launch_id` from the URL into `g.launch`; POSTs must carry the launch's token."""

    @functools.wraps(view)
    def wrapper(*args: Any, launch_id: str, **kwargs: Any) -> Any:
        record = _enter_launch(launch_id)
        if request.method == "POST":
            sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token", "")
            if not same_token(sent, launch_csrf_token(record.id)):
                raise BadFormToken("launch form token missing or wrong")
        return view(*args, **kwargs)

    wrapper.launch_view = view  # type: ignore[attr-defined]  # for answer_with_page
    return wrapper  # type: ignore[return-value]


def _enter_launch(launch_id: str) -> LaunchRecord:
    record = find_launch(db.session(), launch_id, current_app.config["LAUNCH_LIFETIME"])
    g.launch = record
    set_locale(record.locale)
    return record


def answer_with_page(endpoint: str, launch_id: str) -> Any:
    """The page `endpoint` (a GET-only launch view) of a launch, as the answer to this request.

    The launch POST answers with the learner's first page instead of a 303 to it: one round trip
    less for every learner of a class launching at once. The page carries its own address, and
    static/js/frame.js puts it in the browser's history, so a reload asks for the page, not for
    the spent launch again."""
    view: Callable[[], Any] = getattr(current_app.view_functions[endpoint], "launch_view")  # noqa: B009
    _enter_launch(launch_id)
    g.canonical_url = url_for(endpoint, launch_id=launch_id)
    return view()


def role_required(role: Role) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if effective_role(g.launch.roles) != role:
                raise AccessDenied(f"role {role} required")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator
