"""Telling an unreachable dependency (the database, Redis) from a bug in the tool.

The web layer answers 503 with Retry-After for the first and 500 for the second; the grade
worker backs off and reconnects for the first. Both name the dependency in the log line and in
the `integrationsloeft_dependency_unavailable_total` counter.
"""

from __future__ import annotations

import redis.exceptions
from sqlalchemy import exc as sa_exc

DATABASE = "database"
REDIS = "redis"


def failing_dependency(error: BaseException) -> str | None:
    """"database" or "redis" when `error` (or what caused it) says that dependency is unreachable."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
            return REDIS
        # OperationalError: connection refused or lost, server shutting down, SQLite's file gone
        # or locked; InterfaceError: a connection already closed; TimeoutError: the pool is empty.
        if isinstance(current, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)):
            return DATABASE
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return DATABASE
        current = current.__cause__ or current.__context__
    return None


def summary(error: BaseException) -> str:
    """The error's class and first line, short enough for one log line."""
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{error.__class__.__name__}: {first_line}"[:300]
