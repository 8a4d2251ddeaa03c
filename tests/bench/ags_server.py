"""A minimal, fast LMS gradebook for the grade benchmark, in a process of its own.

A bare asyncio HTTP/1.1 server (keep-alive, one write per response, no Nagle delay), so the LMS
side costs little CPU next to the tool it measures. `connections` counts the TCP connections
that carried token or score requests, which shows whether the tool reuses its connections.
POST .../token answers a client-credentials request with a bearer token (the assertion is not
checked: the benchmark measures the tool, not the LMS). POST .../scores accepts a score and
notes when it arrived. GET /report returns the counts and every acceptance as
[time, lineitem path, userId]; GET /count the number accepted; POST /reset clears them.

    .venv/bin/python -m tests.bench.ags_server   # prints {"port": ...} and serves until killed
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any


class Gradebook:
    def __init__(self) -> None:
        self.connections = 0
        self.token_requests = 0
        self.accepted: list[tuple[float, str, str]] = []

    def reset(self) -> None:
        self.connections = 0
        self.token_requests = 0
        self.accepted = []


def _response(status: int, body: bytes) -> bytes:
    reason = {200: "OK", 401: "Unauthorized", 404: "Not Found"}.get(status, "OK")
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


class Connection(asyncio.Protocol):
    def __init__(self, book: Gradebook) -> None:
        self.book = book
        self.buffer = b""
        self.counted = False
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4: end + 4 + length]
            self.buffer = self.buffer[end + 4 + length:]
            method, path = head[0].split(" ")[:2]
            self.transport.write(self.handle(method, path, headers, body))

    def _count(self) -> None:
        if not self.counted:  # only the tool's connections, not the benchmark's own queries
            self.counted = True
            self.book.connections += 1

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        book = self.book
        if method == "POST" and path.endswith("/token"):
            self._count()
            book.token_requests += 1
            token = {"access_token": f"bench-{time.time()}", "token_type": "Bearer", "expires_in": 3600}
            return _response(200, json.dumps(token).encode())
        if method == "POST" and path.endswith("/scores"):
            self._count()
            if not headers.get("authorization", "").startswith("Bearer "):
                return _response(401, b"{}")
            score = json.loads(body)
            book.accepted.append((time.time(), path[: -len("/scores")], str(score["userId"])))
            return _response(200, b"{}")
        if path == "/reset":
            book.reset()
            return _response(200, b"{}")
        if path == "/report":
            report = {"connections": book.connections, "token_requests": book.token_requests,
                      "accepted": book.accepted}
            return _response(200, json.dumps(report).encode())
        if path == "/count":
            return _response(200, json.dumps({"accepted": len(book.accepted)}).encode())
        return _response(404, b"{}")


async def serve() -> None:
    book = Gradebook()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(book), "127.0.0.1", 0)
    print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
    await server.serve_forever()


def main() -> None:
    asyncio.run(serve())


if __name__ == "__main__":
    main()
