"""Access decorators: a view of a launch gets the launch record; role checks on top."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g

from lti_tool.errors import AccessDenied
from lti_tool.extensions import db
from lti_tool.launches import find_launch
from lti_tool.lti.roles import Role, effective_role
from lti_tool.web import set_locale

F = TypeVar("F", bound=Callable[..., Any])


def launch_required(view: F) -> F:
    """Resolve `launch_id` from the URL into `g.launch` (404-free: unknown means expired)."""

    @functools.wraps(view)
    def wrapper(*args: Any, launch_id: str, **kwargs: Any) -> Any:
        record = find_launch(db.session, launch_id, current_app.config["LAUNCH_LIFETIME"])
        g.launch = record
        set_locale(record.locale)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def role_required(role: Role) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if effective_role(g.launch.roles) != role:
                raise AccessDenied(f"role {role} required")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator
