"""A small key-value store shared by every worker process: Redis when configured, else files.

Used for OIDC state and nonces (one-time, so `pop` and `add` are atomic), the platform JWKS
cache and access tokens. Values are JSON. Flask-Caching's FileSystemCache is not used because it
rescans its folder on every write past its threshold and has no atomic pop.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import time
import uuid
from pathlib import Path
from typing import Any, Protocol, cast

import redis


class KeyValueStore(Protocol):
    """What the tool needs of a shared store; values are JSON, every entry expires."""

    def get(self, key: str) -> Any | None:
        """The value under `key`, or None when absent or expired."""
        ...

    def set(self, key: str, value: Any, ttl: int) -> None:
        """Store `value` under `key` for `ttl` seconds, replacing what was there."""
        ...

    def add(self, key: str, value: Any, ttl: int) -> bool:
        """Store `value` only if `key` is absent; True when this call stored it."""
        ...

    def pop(self, key: str) -> Any | None:
        """Remove and return the value: of two callers, exactly one gets it."""
        ...

    def delete(self, key: str) -> None:
        """Remove `key` if present."""
        ...

    def ping(self) -> bool:
        """True when the store answers (the readiness check)."""
        ...

    def spend(self, key: str, marker: str, once: str, ttl: int) -> tuple[Any | None, bool]:
        """Set `marker`, pop `key` and claim `once` (a launch's state and nonce). Returns the popped
        value (None if another caller had it) and whether `once` was new for it."""
        ...


class RedisStore:
    """The store in Redis, for any number of processes and instances (keys carry a prefix)."""

    def __init__(self, url: str, prefix: str = "il:") -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix

    def _k(self, key: str) -> str:
        return self._prefix + key

    def get(self, key: str) -> Any | None:
        """KeyValueStore.get: GET, decoded from JSON."""
        raw = cast(bytes | None, self._redis.get(self._k(key)))
        return None if raw is None else json.loads(raw)

    def set(self, key: str, value: Any, ttl: int) -> None:
        """KeyValueStore.set: SET with an expiry of at least one second."""
        self._redis.set(self._k(key), json.dumps(value), ex=max(1, ttl))

    def add(self, key: str, value: Any, ttl: int) -> bool:
        """KeyValueStore.add: SET NX, so Redis decides which caller stored it."""
        return bool(self._redis.set(self._k(key), json.dumps(value), ex=max(1, ttl), nx=True))

    def pop(self, key: str) -> Any | None:
        """KeyValueStore.pop: GETDEL, atomic in Redis."""
        raw = cast(bytes | None, self._redis.getdel(self._k(key)))
        return None if raw is None else json.loads(raw)

    def delete(self, key: str) -> None:
        """KeyValueStore.delete: DEL."""
        self._redis.delete(self._k(key))

    def spend(self, key: str, marker: str, once: str, ttl: int) -> tuple[Any | None, bool]:
        """KeyValueStore.spend: the three steps in one MULTI/EXEC transaction."""
        # One round trip, one transaction.
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(self._k(marker), b"1", ex=max(1, ttl))
        pipe.getdel(self._k(key))
        pipe.set(self._k(once), b"1", ex=max(1, ttl), nx=True)
        _, raw, added = pipe.execute()
        return (None, False) if raw is None else (json.loads(raw), bool(added))

    def ping(self) -> bool:
        """KeyValueStore.ping: Redis PING."""
        return bool(self._redis.ping())


class FileStore:
    """One file per key. Writes go through a temp file and rename; `pop` renames the file away
    first, so of two processes popping the same key exactly one gets the value."""

    SWEEP_CHANCE = 0.002

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self._dir = Path(folder)
        self._dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, key: str) -> Path:
        return self._dir / hashlib.sha256(key.encode()).hexdigest()

    @staticmethod
    def _read(path: Path) -> Any | None:
        try:
            record = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return None
        if record["exp"] < time.time():
            return None
        return record["v"]

    def _encode(self, value: Any, ttl: int) -> bytes:
        return json.dumps({"exp": time.time() + max(1, ttl), "v": value}).encode()

    def get(self, key: str) -> Any | None:
        """KeyValueStore.get: reads the key's file, None if missing, unreadable or expired."""
        return self._read(self._path(key))

    def set(self, key: str, value: Any, ttl: int) -> None:
        """KeyValueStore.set: temp file then rename; now and then sweeps expired files."""
        path = self._path(key)
        os.replace(self._write_temp(path, value, ttl), path)
        if random.random() < self.SWEEP_CHANCE:  # noqa: S311 - not security
            self.sweep()

    def _write_temp(self, path: Path, value: Any, ttl: int) -> Path:
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(self._encode(value, ttl))
        return tmp

    def add(self, key: str, value: Any, ttl: int) -> bool:
        """KeyValueStore.add: hard-links a temp file into place, replacing only an expired entry."""
        # Hard-linking a complete temp file is an atomic "create if absent" that never
        # exposes a half-written file to a concurrent reader.
        path = self._path(key)
        tmp = self._write_temp(path, value, ttl)
        try:
            for _ in range(2):
                try:
                    os.link(tmp, path)
                    return True
                except FileExistsError:
                    if self._read(path) is not None:
                        return False
                    self._remove_if_expired(path)
            return False
        finally:
            tmp.unlink(missing_ok=True)

    def _remove_if_expired(self, path: Path) -> None:
        grave = path.with_name(f".{path.name}.{uuid.uuid4().hex}.dead")
        try:
            os.rename(path, grave)
        except FileNotFoundError:
            return
        if self._read(grave) is not None:  # replaced by a live entry meanwhile: put it back
            with contextlib.suppress(FileExistsError):
                os.link(grave, path)
        grave.unlink(missing_ok=True)

    def pop(self, key: str) -> Any | None:
        """KeyValueStore.pop: renames the file away first, so only one caller can read it."""
        path = self._path(key)
        claimed = path.with_name(f".{path.name}.{uuid.uuid4().hex}.pop")
        try:
            os.rename(path, claimed)
        except FileNotFoundError:
            return None
        try:
            return self._read(claimed)
        finally:
            claimed.unlink(missing_ok=True)

    def delete(self, key: str) -> None:
        """KeyValueStore.delete: removes the key's file."""
        self._path(key).unlink(missing_ok=True)

    def spend(self, key: str, marker: str, once: str, ttl: int) -> tuple[Any | None, bool]:
        """KeyValueStore.spend: set, pop, then add, in that order (not atomic as a whole)."""
        # In steps, not one transaction: only the caller that popped the value claims `once`, or a
        # racer that found `key` gone could claim it first and refuse the one real launch too.
        self.set(marker, 1, ttl)
        value = self.pop(key)
        return value, value is not None and self.add(once, 1, ttl)

    def ping(self) -> bool:
        """KeyValueStore.ping: True when the folder exists and is writable."""
        return self._dir.is_dir() and os.access(self._dir, os.W_OK)

    def sweep(self) -> int:
        """Remove expired entries; returns how many."""
        removed = 0
        now = time.time()
        for path in self._dir.iterdir():
            try:
                if path.name.startswith("."):
                    if path.stat().st_mtime < now - 3600:
                        path.unlink(missing_ok=True)
                    continue
                if json.loads(path.read_bytes())["exp"] < now:
                    path.unlink(missing_ok=True)
                    removed += 1
            except (OSError, ValueError, KeyError):
                continue
        return removed


def make_store(redis_url: str, folder: str | os.PathLike[str], prefix: str = "il:") -> KeyValueStore:
    """Redis when a URL is configured, else files in `folder` (one machine only)."""
    if redis_url:
        return RedisStore(redis_url, prefix=prefix)
    return FileStore(folder)
