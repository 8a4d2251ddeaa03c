"""Checks on text that comes from outside (claims, platforms' answers, forms, content files)."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

# The service URLs the tool stores (grade_targets.lineitem_url and lineitems_url) fit in this.
MAX_SERVICE_URL = 1024


def storable_text(value: str) -> bool:
    """Text PostgreSQL can store and a page can carry: no NUL character (text columns refuse it)
    and no lone surrogate such as "\\ud800", which JSON can escape but UTF-8 cannot encode."""
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parsed_url(url: str) -> SplitResult | None:
    """The parts of an address, or None for one urllib cannot parse (a broken IPv6 literal such
    as "http://[x" raises ValueError): each caller decides what an unreadable address means."""
    try:
        return urlsplit(url)
    except ValueError:
        return None


def origin(url: str | None) -> str | None:
    """The scheme, host and port of an http(s) address (`https://moodle.example:8443`), or None
    for anything else, including an address urllib cannot parse: it names no origin."""
    parsed = parsed_url(url or "")
    if parsed is None or parsed.scheme not in {"http", "https"} or not parsed.netloc:
        return None
    return f"{parsed.scheme}://{parsed.netloc}"
