"""A guard for URLs that come from outside (dynamic registration): no SSRF into our network."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlparse


class UnsafeURL(ValueError):
    """The URL is not an https URL on the public internet; the message says why."""


def check_url(url: str, *, allow_private: bool) -> str:
    """Refuse non-http(s) URLs and, unless allowed, hosts that resolve to private or local addresses."""
    try:
        parsed = urlparse(url)
        port = parsed.port
    except ValueError as exc:  # a broken IPv6 literal or a port that is not a number
        raise UnsafeURL(f"{url!r} is not a valid URL") from exc
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise UnsafeURL(f"{url!r} is not an http(s) URL")
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
