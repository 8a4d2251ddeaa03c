"""The platform-JWKS cache with its production settings: one fetch for many launches at once.

The live flows run with PLATFORM_JWKS_MIN_REFETCH=0 (each test's own platform); here the cache
runs as in production (refetch at most every 30 s, one fetch shared through the store's lock)
against a real JWKS served over HTTP.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from lti_tool.errors import BadSignature
from lti_tool.lti import platform_keys
from lti_tool.lti.http import TimeoutSession
from lti_tool.lti.platform_keys import PlatformKeys
from lti_tool.store import FileStore
from tests.support.external_platform import ExternalPlatform
from tests.support.waiting import wait_for


@pytest.fixture
def platform():
    platform = ExternalPlatform()
    yield platform
    platform.close()


def keys_for(store, *, min_refetch=30):
    return PlatformKeys(store, TimeoutSession((2, 2)), ttl=3600, min_refetch=min_refetch)


def test_many_simultaneous_launches_with_a_new_kid_fetch_once(tmp_path, platform):
    url = platform.base_url + "/jwks"
    store = FileStore(tmp_path)
    # Eight "processes" (each its own PlatformKeys, one shared store) see the new kid at once.
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: keys_for(store).key_for(url, platform.kid, "RS256"), range(8)))

    assert platform.jwks_hits == 1
    assert len({k.public_numbers().n for k in keys}) == 1
    assert keys[0].public_numbers().n == platform.key.public_key().public_numbers().n


def test_forged_kids_do_not_make_the_tool_hammer_the_platform(tmp_path, platform, monkeypatch):
    url = platform.base_url + "/jwks"
    store = FileStore(tmp_path)
    keys = keys_for(store)
    keys.key_for(url, platform.kid, "RS256")
    hits = platform.jwks_hits

    def no_waiting(seconds: float) -> None:
        raise AssertionError(f"waited {seconds} s for another fetch: the recent fetch had answered")

    with monkeypatch.context() as patched:
        patched.setattr(platform_keys.time, "sleep", no_waiting)
        for n in range(5):
            with pytest.raises(BadSignature) as refused:
                keys.key_for(url, f"forged-{n}", "RS256")
            assert refused.value.reason == "unknown_kid"

    # The fetch a moment ago already answered: no refetch within min_refetch, and no waiting.
    assert platform.jwks_hits == hits
    assert keys.key_for(url, platform.kid, "RS256") is not None  # the real key still serves
    assert platform.jwks_hits == hits


def test_a_rotated_key_is_fetched_once_the_refetch_interval_allows(tmp_path, platform):
    url = platform.base_url + "/jwks"
    keys = keys_for(FileStore(tmp_path), min_refetch=1)
    keys.key_for(url, platform.kid, "RS256")
    platform.rotate()

    def rotated_key() -> object:
        try:
            return keys.key_for(url, platform.kid, "RS256")
        except BadSignature as refused:  # within the interval: refused without a fetch
            return None if refused.reason == "unknown_kid" else refused

    key = wait_for(rotated_key, what="the refetch interval (1 s) to allow a fetch", limit=30)
    assert not isinstance(key, BadSignature), key
    assert key.public_numbers().n == platform.key.public_key().public_numbers().n
    assert platform.jwks_hits == 2  # one fetch once the interval allowed it, none before


@pytest.mark.parametrize("broken", [
    {"kty": "RSA", "e": "AQAB"},  # no modulus
    {"kty": "RSA", "n": 12345, "e": "AQAB"},  # a number where base64 text belongs
    {"kty": "oct", "k": "c2VjcmV0"},  # a shared secret, not a public key
    {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"},  # not an RSA key, and not a point either
    {"kty": "RSA", "n": "AQAB", "e": "AQAB", "d": "AQAB"},  # private parts that do not match
], ids=["no-n", "n-a-number", "oct", "ec", "mismatched-private-parts"])
def test_a_platform_key_that_cannot_be_read_is_refused_as_a_bad_key(tmp_path, platform, broken):
    """Was a 500 (InvalidKeyError, TypeError, ValueError): the platform's broken JWKS is its fault."""
    platform.jwks = lambda: {"keys": [{**broken, "kid": platform.kid, "alg": "RS256"}]}

    with pytest.raises(BadSignature) as refused:
        keys_for(FileStore(tmp_path)).key_for(platform.base_url + "/jwks", platform.kid, "RS256")

    assert refused.value.reason == "bad_key"


def test_a_jwks_nested_too_deep_is_refused(tmp_path, platform):
    platform.raw_jwks = b"[" * 100000

    with pytest.raises(BadSignature) as refused:
        keys_for(FileStore(tmp_path)).key_for(platform.base_url + "/jwks", platform.kid, "RS256")

    assert refused.value.reason == "jwks_unavailable"
