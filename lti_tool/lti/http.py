"""One pooled HTTP session per process, with a timeout on every call (pylti1p3 sets none)."""

from __future__ import annotations

import threading
from typing import Any

import requests
from requests.adapters import HTTPAdapter

USER_AGENT = "Integrationsloeft/0.1 (+LTI 1.3 tool)"


class TimeoutSession(requests.Session):
    """A requests session that never waits forever."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.default_timeout = timeout
        self.headers["User-Agent"] = USER_AGENT
        adapter = HTTPAdapter(pool_connections=16, pool_maxsize=32, max_retries=0)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, url, *args, **kwargs)


_local = threading.local()


def http_session(timeout: tuple[float, float]) -> TimeoutSession:
    """The calling thread's session; requests sessions are not safe to share across threads."""
    session: TimeoutSession | None = getattr(_local, "session", None)
    if session is None or session.default_timeout != timeout:
        session = TimeoutSession(timeout)
        _local.session = session
    return session
