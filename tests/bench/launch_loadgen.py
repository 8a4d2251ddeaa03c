"""The platform side of the launch benchmark, as a process of its own.

It is an LTI 1.3 platform the tool knows only through `flask platforms add`: it serves its JWKS
(counting every fetch), signs id_tokens locally with a key built once at start-up, and drives
complete launches the way a browser does: OIDC login -> redirect with state and nonce -> signed
id_token posted to the tool -> the learner's first page (the answer to that POST, or the page a 303
leads to). Each thread keeps one keep-alive connection (http.client: requests costs about three
times its CPU per request, and this process shares the machine with the tool) and forgets its
cookies after every launch, as if each launch came from another browser.

Protocol (JSON lines): it prints {"ready": ...} with its registration values, then answers each
{"cmd": "run", "concurrency": n, "seconds": s} on stdin with one result line ({"cmd": "prime", ...}
launches every learner once instead); {"cmd": "quit"} ends it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


class Platform:
    def __init__(self, tool_url: str, users: int) -> None:
        self.tool_url = tool_url.rstrip("/")
        self.users = users
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "bench-" + uuid.uuid4().hex[:8]
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        self.jwks_body = json.dumps({"keys": [jwk]}).encode()
        self.jwks_hits = 0
        platform = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                if self.path.startswith("/jwks"):
                    platform.jwks_hits += 1
                    body = platform.jwks_body
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                else:
                    body = b"{}"
                    self.send_response(404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.issuer = self.base_url + "/platform"
        self.client_id = "bench-client-" + uuid.uuid4().hex[:6]
        self.deployment_id = "bench-deploy-1"

    def registration(self) -> dict[str, str]:
        return {"issuer": self.issuer, "client_id": self.client_id, "deployment_id": self.deployment_id,
                "auth_login_url": self.base_url + "/auth", "auth_token_url": self.base_url + "/token",
                "key_set_url": self.base_url + "/jwks"}

    def claims(self, nonce: str, sub: str) -> dict[str, Any]:
        now = int(time.time())
        course = self.base_url + "/api/courses/bench-course"
        return {
            "iss": self.issuer, "aud": self.client_id, "sub": sub, "iat": now, "exp": now + 300, "nonce": nonce,
            "name": f"Bench Learner {sub[-4:]}", "given_name": "Bench", "family_name": f"Learner {sub[-4:]}",
            "email": f"{sub}@bench.example",
            LTI + "message_type": "LtiResourceLinkRequest",
            LTI + "version": "1.3.0",
            LTI + "deployment_id": self.deployment_id,
            LTI + "target_link_uri": self.tool_url + "/lti/launch",
            LTI + "resource_link": {"id": "bench-link-1", "title": "Modtagelse af nyankomne"},
            LTI + "roles": [LEARNER],
            LTI + "context": {"id": "bench-course", "label": "BENCH", "title": "Benchmark-kursus",
                              "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"]},
            LTI + "launch_presentation": {"locale": "da-DK", "document_target": "iframe",
                                          "return_url": self.base_url + "/return"},
            LTI + "custom": {"module": "nyankomne"},
            LTI + "tool_platform": {"guid": "bench-platform", "name": "Bench LMS", "product_family_code": "moodle"},
            AGS: {"scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                            "https://purl.imsglobal.org/spec/lti-ags/scope/score"],
                  "lineitems": course + "/lineitems", "lineitem": course + "/lineitems/1"},
            NRPS: {"context_memberships_url": course + "/memberships", "service_versions": ["2.0"]},
        }

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


class Answer:
    def __init__(self, status: int, headers: http.client.HTTPMessage, text: str) -> None:
        self.status_code, self.headers, self.text = status, headers, text


class Browser:
    """One keep-alive connection to the tool and a cookie jar, for the load generator's threads."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._conn: http.client.HTTPConnection | None = None
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Answer:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):  # the server may have closed an idle keep-alive connection
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=30)
            try:
                self._conn.request(method, path, body=body, headers=headers)
                response = self._conn.getresponse()
                text = response.read().decode()
                break
            except (http.client.HTTPException, ConnectionError):
                self.close()
                if attempt == 2:
                    raise
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        return Answer(response.status, response.headers, text)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class Launcher(threading.Thread):
    def __init__(self, platform: Platform, deadline: float, seed: int, subs: list[str] | None = None) -> None:
        super().__init__(daemon=True)
        self.platform = platform
        self.deadline = deadline
        self.rng = random.Random(seed)
        self.subs = subs  # launch exactly these learners once each (priming), else random ones
        self.http = Browser(platform.tool_url)
        self.latencies: list[float] = []
        self.steps: list[tuple[float, float, float]] = []
        self.errors: dict[str, int] = {}

    def _error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    def one(self, sub: str | None = None) -> None:
        p = self.platform
        sub = sub or f"bench-u-{self.rng.randrange(p.users):04d}"
        params = {"iss": p.issuer, "login_hint": sub, "target_link_uri": p.tool_url + "/lti/launch",
                  "client_id": p.client_id, "lti_deployment_id": p.deployment_id}
        t0 = time.perf_counter()
        login = self.http.request("GET", "/lti/login?" + urlencode(params))
        if login.status_code != 302:
            return self._error(f"login {login.status_code}")
        query = parse_qs(urlsplit(login.headers["Location"]).query)
        state, nonce = query["state"][0], query["nonce"][0]
        token = p.sign(p.claims(nonce, sub))
        t1 = time.perf_counter()
        launch = self.http.request("POST", "/lti/launch", {"id_token": token, "state": state})
        t2 = time.perf_counter()
        if launch.status_code == 200:
            page, t3 = launch, t2  # a learner's launch answers with the first page itself
        elif launch.status_code == 303:
            page = self.http.request("GET", launch.headers["Location"])
            t3 = time.perf_counter()
        else:
            return self._error(f"launch {launch.status_code}")
        if page.status_code != 200 or 'class="cards"' not in page.text:
            return self._error(f"page {page.status_code}")
        self.latencies.append(t3 - t0)
        self.steps.append((t1 - t0, t2 - t1, t3 - t2))

    def run(self) -> None:
        todo = iter(self.subs) if self.subs is not None else None
        while time.monotonic() < self.deadline:
            sub = next(todo, None) if todo is not None else None
            if todo is not None and sub is None:
                break
            try:
                self.one(sub)
            except (OSError, http.client.HTTPException) as exc:
                self._error(type(exc).__name__)
            finally:
                self.http.cookies.clear()  # the next launch is another browser
        self.http.close()


def run(platform: Platform, concurrency: int, seconds: float, prime: bool = False) -> dict[str, Any]:
    """Launch for `seconds` from `concurrency` threads; with `prime`, each learner exactly once
    (disjoint learners per thread, so no learner's first launch races another)."""
    hits_before = platform.jwks_hits
    cpu_before = time.process_time()
    started = time.monotonic()
    subs = [f"bench-u-{i:04d}" for i in range(platform.users)]
    threads = [Launcher(platform, started + seconds, seed, subs[seed::concurrency] if prime else None)
               for seed in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    errors: dict[str, int] = {}
    for t in threads:
        for k, v in t.errors.items():
            errors[k] = errors.get(k, 0) + v
    return {
        "concurrency": concurrency, "wall": wall,
        "latencies": [x for t in threads for x in t.latencies],
        "steps": [x for t in threads for x in t.steps],
        "errors": errors, "jwks_fetches": platform.jwks_hits - hits_before,
        "loadgen_cpu": time.process_time() - cpu_before,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tool", required=True)
    parser.add_argument("--users", type=int, default=500)
    args = parser.parse_args()
    platform = Platform(args.tool, args.users)
    print(json.dumps({"ready": True, **platform.registration()}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        if command["cmd"] == "quit":
            break
        print(json.dumps(run(platform, int(command["concurrency"]), float(command["seconds"]),
                             prime=command["cmd"] == "prime")), flush=True)
    platform.server.shutdown()


if __name__ == "__main__":
    main()
