"""Rate limits on the endpoints strangers can reach: login, launch, registration, console login.

Counted per client address in Redis (shared by every instance), or in process memory in the
embedded set-up. The defaults are generous: a whole class behind one municipal NAT may launch
at nine o'clock.
"""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[])


def install(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", app.config.get("REDIS_PREFIX", "il:") + "limits")
    # Performance: the X-RateLimit-* headers cost two more Redis commands on every limited request
    # (login and launch: 4 of a launch's 12), and no browser in an LTI flow reads them.
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    limiter.init_app(app)
