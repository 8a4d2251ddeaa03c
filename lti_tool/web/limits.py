"""Rate limits on the endpoints strangers can reach: login, launch, registration, console login.

Counted per client address and endpoint in Redis (shared by every instance), or in process memory
in the embedded set-up, with the `limits` library's fixed windows. The defaults are generous: a
whole class behind one municipal NAT may launch at nine o'clock.

Performance: this was Flask-Limiter, which is `limits` plus request hooks. Its hooks ran on every
request, limited or not, and a limited request went through its machinery twice: about 1.3 ms of
CPU per launch, a tenth of it, for one counter increment per limited request. Here a limited
request costs one Redis round trip, and other requests nothing.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

# Named as before the move into lti_tool/web/: operators filter on it, and as a child of
# "lti_tool.web" its warnings would reach that logger's handlers as well.
log = logging.getLogger("lti_tool.limits")
F = TypeVar("F", bound=Callable[..., Any])


class RateLimits:
    """Per-address fixed-window limits on chosen views, counted in Redis or in memory."""

    def init_app(self, app: Flask) -> None:
        """Set up the app's counters (Redis when configured, else memory), or none when disabled."""
        if not app.config.get("RATELIMIT_ENABLED", True):
            app.extensions["rate_limits"] = None
            return
        uri = app.config.get("RATELIMIT_STORAGE_URI") or app.config.get("REDIS_URL") or "memory://"
        options = {"key_prefix": app.config.get("REDIS_PREFIX", "il:") + "limits"} if uri.startswith("redis") else {}
        app.extensions["rate_limits"] = FixedWindowRateLimiter(storage_from_string(uri, **options))

    def limit(self, setting: str, methods: tuple[str, ...] | None = None) -> Callable[[F], F]:
        """Limit a view per client address to the app's `setting` ("600 per minute", …)."""

        def decorator(view: F) -> F:
            scope = f"{view.__module__}.{view.__qualname__}"

            @functools.wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                if methods is None or request.method in methods:
                    self._hit(scope, setting)
                return view(*args, **kwargs)

            return wrapper  # type: ignore[return-value]

        return decorator

    def _hit(self, scope: str, setting: str) -> None:
        strategy: FixedWindowRateLimiter | None = current_app.extensions.get("rate_limits")
        if strategy is None:
            return
        address = request.remote_addr or "-"
        for item in _parsed(str(current_app.config[setting])):
            try:
                allowed = strategy.hit(item, scope, address)
            except Exception:  # noqa: BLE001 - an unreachable counter must not refuse everyone
                log.warning("rate limit storage unreachable; %s not counted", scope, exc_info=True)
                return
            if not allowed:
                raise TooManyRequests(f"{item} on {scope} from {address}")


@functools.cache
def _parsed(text: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(text))


limiter = RateLimits()


def install(app: Flask) -> None:
    """Set up the rate limits for `app`."""
    limiter.init_app(app)
