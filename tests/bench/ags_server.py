"""A minimal, fast LMS gradebook for the grade benchmark, in a process of its own.

HTTP/1.1 with keep-alive (so connection reuse by the tool is visible: `connections` counts TCP
connections). POST /token answers a client-credentials request with a bearer token (the
assertion is not checked: the benchmark measures the tool, not the LMS). POST .../scores
accepts a score and notes when it arrived. GET /report returns the counts and every acceptance
as [time, lineitem path, userId]; POST /reset clears them.

    .venv/bin/python -m tests.bench.ags_server   # prints {"port": ...} and serves until killed
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Gradebook:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.connections = 0
        self.token_requests = 0
        self.accepted: list[tuple[float, str, str]] = []

    def reset(self) -> None:
        with self.lock:
            self.connections = 0
            self.token_requests = 0
            self.accepted = []


def make_server(book: Gradebook, port: int = 0) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body leave in one segment, and without Nagle: a real LMS's server does
            # not add 40 ms delayed-ACK stalls, and neither should the benchmark's.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with book.lock:
                book.connections += 1

        def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self._headers_buffer.append(b"\r\n" + body)  # end_headers() without its own write
            self.flush_headers()

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self.path.endswith("/token"):
                with book.lock:
                    book.token_requests += 1
                return self._reply(200, json.dumps({"access_token": "bench-" + str(time.time()),
                                                    "token_type": "Bearer", "expires_in": 3600}).encode())
            if self.path.endswith("/scores"):
                if not self.headers.get("Authorization", "").startswith("Bearer "):
                    return self._reply(401, b"{}")
                score = json.loads(raw)
                with book.lock:
                    book.accepted.append((time.time(), self.path[: -len("/scores")], str(score["userId"])))
                return self._reply(200, b"{}")
            if self.path == "/reset":
                book.reset()
                return self._reply(200, b"{}")
            return self._reply(404, b"{}")

        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/report":
                with book.lock:
                    body = {"connections": book.connections, "token_requests": book.token_requests,
                            "accepted": book.accepted}
                return self._reply(200, json.dumps(body).encode())
            if self.path == "/count":
                return self._reply(200, json.dumps({"accepted": len(book.accepted)}).encode())
            return self._reply(404, b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


def main() -> None:
    server = make_server(Gradebook())
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
