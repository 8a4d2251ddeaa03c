"""The platforms' public keys (JWKS): cached in the shared store, refetched only on an unknown kid.

pylti1p3 fetches the JWKS on every launch, or caches it for a fixed time with no refetch when a
platform rotates its keys (D2L rotates hourly). Here every launch reads the JWKS from the shared
store, so every process trusts the same keys; an unknown kid triggers one fetch, shared by every
process through a store lock, and at most one per `min_refetch` seconds so forged kids cannot
make us hammer the platform.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import RSAAlgorithm
from jwt.exceptions import InvalidKeyError

from lti_tool.errors import BadSignature, PlatformUnavailable
from lti_tool.lti.http import TimeoutSession, budget_text, person_waiting
from lti_tool.store import KeyValueStore

log = logging.getLogger(__name__)

ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512")

_fetch_locks: dict[str, threading.Lock] = {}
stats = {"fetches": 0, "hits": 0}


def _parse_jwk(jwk: dict[str, Any]) -> RSAPublicKey:
    try:
        parsed = RSAAlgorithm.from_jwk(jwk)
    except (InvalidKeyError, TypeError, ValueError, KeyError, RecursionError) as exc:
        # A platform's broken key (missing or mistyped members, wrong private parts) is its fault,
        # told as such, not a 500.
        raise BadSignature(f"JWK {jwk.get('kid')!r} cannot be read: {exc}", reason="bad_key") from exc
    if not isinstance(parsed, RSAPublicKey):
        raise BadSignature("JWK is not an RSA public key", reason="bad_key")
    return parsed


class PlatformKeys:
    """The platforms' JWKS, shared through the store and refetched only for a kid not seen yet."""

    def __init__(
        self,
        store: KeyValueStore,
        http: TimeoutSession,
        ttl: int,
        min_refetch: int,
    ) -> None:
        self._store = store
        self._http = http
        # A launch waits for this fetch: the person-waiting budget, not the general timeout.
        self.timeout = person_waiting(http.default_timeout)
        self._ttl = ttl
        self._min_refetch = min_refetch

    @staticmethod
    def _cache_key(url: str) -> str:
        return "jwks:" + hashlib.sha256(url.encode()).hexdigest()

    def _fetch(self, url: str) -> dict[str, Any]:
        stats["fetches"] += 1
        try:
            response = self._http.get(url, timeout=self.timeout)
            response.raise_for_status()
            jwks = response.json()
        except requests.Timeout as exc:
            raise PlatformUnavailable(f"JWKS {url} timed out ({budget_text(self.timeout)})") from exc
        except (requests.RequestException, ValueError, RecursionError) as exc:
            raise BadSignature(f"JWKS {url} could not be read: {exc}", reason="jwks_unavailable") from exc
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise BadSignature(f"JWKS {url} has no key list", reason="jwks_invalid")
        record = {"fetched_at": time.time(), "keys": jwks["keys"]}
        self._store.set(self._cache_key(url), record, self._ttl)
        log.info("fetched platform JWKS %s (%d keys)", url, len(jwks["keys"]))
        return record

    def _refetch(self, url: str, seen_at: float) -> dict[str, Any] | None:
        """Fetch once across threads and processes; others wait for that fetch's result."""
        lock = _fetch_locks.setdefault(url, threading.Lock())
        with lock:
            cached = self._store.get(self._cache_key(url))
            if cached and cached["fetched_at"] > seen_at:
                return dict(cached)  # another thread fetched while we waited
            if self._min_refetch <= 0:
                return self._fetch(url)
            if self._store.add("jwks-lock:" + url, time.time(), self._min_refetch):
                return self._fetch(url)
            locked_at = self._store.get("jwks-lock:" + url)
            if cached and isinstance(locked_at, int | float) and cached["fetched_at"] >= locked_at:
                # The recent fetch is done and the kid is not in it (a forged or stale kid):
                # answer now instead of holding a worker thread for the wait below.
                return dict(cached)
        # Another process is fetching: wait briefly for its result.
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            cached = self._store.get(self._cache_key(url))
            if cached and cached["fetched_at"] > seen_at:
                return dict(cached)
            time.sleep(0.05)
        return None

    def key_for(self, url: str, kid: str | None, alg: str | None) -> RSAPublicKey:
        """The public key `kid` from the JWKS at `url`, for an RS256/384/512 signature.

        An unknown kid triggers a refetch (at most one per `min_refetch` seconds across processes);
        BadSignature when the key is missing, unreadable or for another algorithm, PlatformUnavailable
        when the fetch times out."""
        if not kid or not isinstance(kid, str):
            raise BadSignature("token header has no kid, or not a string", reason="missing_kid")
        if alg not in ALLOWED_ALGORITHMS:
            raise BadSignature(f"algorithm {alg!r} refused", reason="bad_algorithm")
        cached = self._store.get(self._cache_key(url))
        jwk = _find(cached, kid)
        if jwk is None:
            cached = self._refetch(url, cached["fetched_at"] if cached else 0.0)
            jwk = _find(cached, kid)
            if jwk is None:
                raise BadSignature(f"no key {kid!r} in JWKS {url}", reason="unknown_kid")
        else:
            stats["hits"] += 1
        if jwk.get("alg", alg) != alg:
            raise BadSignature(f"key {kid!r} is not for {alg}", reason="bad_algorithm")
        return _parse_jwk(jwk)


def _find(record: dict[str, Any] | None, kid: str) -> dict[str, Any] | None:
    if not record:
        return None
    for jwk in record["keys"]:
        if isinstance(jwk, dict) and jwk.get("kid") == kid:
            return jwk
    return None
