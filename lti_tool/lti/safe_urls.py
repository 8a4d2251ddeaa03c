"""A guard for URLs that come from outside (dynamic registration): no SSRF into our network."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlparse

import urllib3


class UnsafeURL(ValueError):
    """The URL is not an https URL on the public internet; the message says why."""


def unambiguous_host(url: str) -> str | None:
    """The URL's host, if every parser agrees on it; None for a URL that reads two ways.

    A backslash or user-info ("https://evil.example\\@lms.example/") makes urllib's parser see
    one host and requests/urllib3 connect to another: a guard that checks the first would let a
    request through to the second (SSRF, or a forged Canvas host)."""
    try:
        parsed = urlparse(url)
        parsed.port  # noqa: B018 - raises ValueError for a port that is not a number
        connected = urllib3.util.parse_url(url).host
    except ValueError:  # urllib3's LocationParseError is a ValueError too
        return None
    if "\\" in url or parsed.username is not None or parsed.password is not None or not parsed.hostname:
        return None
    if (connected or "").lower().strip("[]") != parsed.hostname.lower():
        return None
    return parsed.hostname


def check_url(url: str, *, allow_private: bool) -> str:
    """Refuse non-http(s) URLs and, unless allowed, hosts that resolve to private or local addresses."""
    try:
        parsed = urlparse(url)
        port = parsed.port
    except ValueError as exc:  # a broken IPv6 literal or a port that is not a number
        raise UnsafeURL(f"{url!r} is not a valid URL") from exc
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise UnsafeURL(f"{url!r} is not an http(s) URL")
    if unambiguous_host(url) is None:
        raise UnsafeURL(f"{url!r} names its host ambiguously (user-info or a backslash)")
    if allow_private:
        return url
    if parsed.scheme != "https":
        raise UnsafeURL(f"{url!r} must use https")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parsed.hostname, port or 443)}
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURL(f"{parsed.hostname} cannot be resolved") from exc
    for address in addresses:
        ip = ipaddress.ip_address(str(address).split("%", 1)[0])
        if not ip.is_global:
            raise UnsafeURL(f"{parsed.hostname} resolves to a non-public address")
    return url
