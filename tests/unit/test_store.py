"""The shared store: atomic pop and add, expiry, on files and (when available) Redis."""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import get_context

import pytest

from lti_tool.store import FileStore, RedisStore
from tests.support.waiting import wait_for


def _stores(tmp_path):
    stores = [FileStore(tmp_path / "store")]
    if os.environ.get("TEST_REDIS_URL"):
        stores.append(RedisStore(os.environ["TEST_REDIS_URL"], prefix=f"il-unit-{uuid.uuid4().hex[:6]}:"))
    return stores


@pytest.fixture(params=["file", "redis"])
def store(request, tmp_path):
    if request.param == "redis":
        if not os.environ.get("TEST_REDIS_URL"):
            pytest.skip("TEST_REDIS_URL not set")
        return RedisStore(os.environ["TEST_REDIS_URL"], prefix=f"il-unit-{uuid.uuid4().hex[:6]}:")
    return FileStore(tmp_path / "store")


def test_set_get_and_expiry(store):
    store.set("a", {"x": 1}, ttl=1)
    assert store.get("a") == {"x": 1}
    wait_for(lambda: store.get("a") is None, what="the 1 s entry to expire", limit=30)


def test_pop_returns_once(store):
    store.set("k", "v", ttl=60)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: store.pop("k"), range(16)))
    assert results.count("v") == 1
    assert results.count(None) == 15


def test_add_only_when_absent(store):
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: store.add("once", i, ttl=60), range(16)))
    assert results.count(True) == 1
    store.delete("once")
    assert store.add("once", 1, ttl=60)


def test_add_after_expiry(store):
    assert store.add("short", 1, ttl=1)
    assert not store.add("short", 3, ttl=60)  # not while it lives
    wait_for(lambda: store.get("short") is None, what="the 1 s entry to expire", limit=30)
    assert store.add("short", 2, ttl=60)
    assert store.get("short") == 2


def _pop_in_process(folder: str) -> object:
    return FileStore(folder).pop("shared")


def test_spend_marks_takes_and_claims_once(store):
    """A launch's state and nonce: the marker is set, the state taken, the nonce claimed."""
    store.set("state:s1", {"nonce": "n1"}, ttl=60)

    assert store.spend("state:s1", "used:s1", "nonce:n1", 60) == ({"nonce": "n1"}, True)
    assert store.get("used:s1") == 1 and store.get("state:s1") is None
    # The same state again: nothing to take.
    assert store.spend("state:s1", "used:s1", "nonce:n1", 60) == (None, False)
    # Another state, but a nonce already claimed: taken, and the nonce is not new.
    store.set("state:s2", {"nonce": "n1"}, ttl=60)
    assert store.spend("state:s2", "used:s2", "nonce:n1", 60) == ({"nonce": "n1"}, False)


def test_spend_hands_a_state_to_exactly_one_of_many(store):
    store.set("state:race", {"nonce": "nr"}, ttl=60)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: store.spend("state:race", "used:race", "nonce:nr", 60), range(8)))
    assert [r for r in results if r[0] is not None] == [({"nonce": "nr"}, True)]


def test_file_pop_is_atomic_across_processes(tmp_path):
    folder = str(tmp_path / "store")
    FileStore(folder).set("shared", "only-once", ttl=60)
    with get_context("fork").Pool(4) as pool:
        results = pool.map(_pop_in_process, [folder] * 8)
    assert results.count("only-once") == 1


def test_file_sweep_removes_expired(tmp_path):
    store = FileStore(tmp_path / "s")
    store.set("old", 1, ttl=1)
    store.set("new", 1, ttl=60)
    wait_for(lambda: store.get("old") is None, what="the 1 s entry to expire", limit=30)
    assert store.sweep() == 1
    assert store.get("new") == 1
