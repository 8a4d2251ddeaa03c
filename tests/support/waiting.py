"""Waiting on a condition instead of sleeping for a guessed time.

The limit is a safety net, not an assertion: it is generous (ten times or more what the wait
takes on an idle machine), so a busy machine makes a test slower, never red."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], *, what: str, limit: float = 60.0, every: float = 0.05) -> T:
    """Call `condition` until it returns something truthy, and return that; fail after `limit` s."""
    deadline = time.monotonic() + limit
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {limit} s waiting for {what}")
        time.sleep(every)
