"""Ports for the test servers: never the same one twice in a run. A platform's address names it
(its issuer holds the port), so a port that comes back would make a new platform look like an
old one to the tool."""

from __future__ import annotations

import socket

_handed_out: set[int] = set()


def unused_port() -> int:
    """A free loopback port that no server of this test run has had."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port
