"""Access decorators: a view of a launch gets the launch record; role checks on top.

Forms inside a launch carry a token derived from the launch id (HMAC with SECRET_KEY) instead of
Flask-WTF's session token: framed pages often cannot keep the session cookie.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request

from lti_tool.errors import AccessDenied, ToolError
from lti_tool.extensions import db
from lti_tool.launch.live import LiveLaunch, find_launch, form_token
from lti_tool.lti.roles import Role, effective_role
from lti_tool.tokens import same_token
from lti_tool.web import set_locale

F = TypeVar("F", bound=Callable[..., Any])


class BadFormToken(ToolError):
    """A launch page's form came without the launch's form token (or with a wrong one)."""

    reason = "csrf"


def launch_csrf_token(launch_id: str | None = None) -> str:
    """The form token of `launch_id` (default: this request's launch) for its pages' forms."""
    return form_token(str(current_app.config["SECRET_KEY"]), launch_id or g.launch.id)


def launch_required(view: F) -> F:
    """Resolve `launch_id` from the URL into `g.launch`; POSTs must carry the launch's token."""

    @functools.wraps(view)
    def wrapper(*args: Any, launch_id: str, **kwargs: Any) -> Any:
        record = enter_launch(launch_id)
        if request.method == "POST":
            sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token", "")
            if not same_token(sent, launch_csrf_token(record.id)):
                raise BadFormToken("launch form token missing or wrong")
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def enter_launch(launch_id: str, live: LiveLaunch | None = None) -> LiveLaunch:
    """Make the live launch `launch_id` this request's (`g.launch`, and its language); `live` is
    that launch as the request that recorded it already knows it."""
    record = (live if live is not None and live.id == launch_id
              else find_launch(db.session(), launch_id, current_app.config["LAUNCH_LIFETIME"]))
    g.launch = record
    set_locale(record.locale)
    return record


def role_required(role: Role) -> Callable[[F], F]:
    """Decorate a launch view so that only launches with `role` may use it (else AccessDenied)."""
    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if effective_role(g.launch.roles) != role:
                raise AccessDenied(f"role {role} required")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator
