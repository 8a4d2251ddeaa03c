"""One pooled HTTP session per process, with a timeout on every call (pylti1p3 sets none)."""

from __future__ import annotations

import os
import threading
from typing import Any
from urllib.request import getproxies

import requests
from requests.adapters import HTTPAdapter

USER_AGENT = "Integrationsloeft/0.1 (+LTI 1.3 tool)"
# (connect, read) seconds for a call someone is waiting on: dynamic registration's reads and
# posts, and a platform's JWKS on an unknown key id. About 2 s, then a clear answer: a platform
# that hangs must not hold a person (and a web thread) for the general timeout.
PERSON_WAITING = (1.0, 2.0)


def person_waiting(timeout: tuple[float, float]) -> tuple[float, float]:
    """The timeout for a call someone waits on: the configured one, but never above PERSON_WAITING."""
    return (min(timeout[0], PERSON_WAITING[0]), min(timeout[1], PERSON_WAITING[1]))


def budget_text(timeout: tuple[float, float]) -> str:
    """A timeout as the logs name it: "connect 1 s, answer 2 s"."""
    return f"connect {timeout[0]:g} s, answer {timeout[1]:g} s"


class TimeoutSession(requests.Session):
    """A requests session that never waits forever, and reads the environment once.

    requests reads the process environment for *_proxy, no_proxy and the CA bundle on every call
    when `trust_env` is on: about half the client's CPU for a score POST. The environment does
    not change under a running process, so the session takes what requests would read from it
    (HTTP(S)_PROXY, REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE) when it is made and turns `trust_env`
    off. With NO_PROXY set, addresses decide whether the proxy applies, so requests keeps
    reading the environment per call as it does by default.
    """

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.default_timeout = timeout
        self.headers["User-Agent"] = USER_AGENT
        adapter = HTTPAdapter(pool_connections=16, pool_maxsize=32, max_retries=0)
        self.mount("http://", adapter)
        self.mount("https://", adapter)
        proxies = getproxies()
        if "no" not in proxies:
            self.trust_env = False
            self.proxies.update(proxies)
            self.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        """As requests does, with the session's default timeout when the caller gives none."""
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
