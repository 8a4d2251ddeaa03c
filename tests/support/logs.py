"""Log records of one logger, listened to directly (the migrations' logging configuration
replaces the root's handlers, so caplog does not see them)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def records_of(name: str) -> Iterator[list[logging.LogRecord]]:
    """Every record the logger `name` (and its children) emits inside the block."""
    records: list[logging.LogRecord] = []
    listener = logging.Handler(logging.DEBUG)
    listener.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger(name)
    logger.addHandler(listener)
    try:
        yield records
    finally:
        logger.removeHandler(listener)
