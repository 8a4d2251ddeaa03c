"""An LTI 1.3 platform that is not part of the project: its own keys, its own JWKS server.

It signs id_tokens the way any platform would; the tool knows it only through
`flask platforms add`. It also serves a slow JWKS for timeout tests and counts JWKS fetches.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.support.ports import unused_port

LTI = "https://purl.imsglobal.org/spec/lti/claim/"


class ExternalPlatform:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "ext-" + uuid.uuid4().hex[:8]
        self.extra_keys: list[tuple[str, rsa.RSAPrivateKey]] = []
        self.jwks_hits = 0
        self.raw_jwks: bytes | None = None  # served instead of jwks(), for broken answers
        # /jwks-slow holds its answer until `answer_slow` is set, at most `slow_seconds`;
        # `held` counts the requests it is holding now.
        self.slow_seconds = 0.0
        self.answer_slow = threading.Event()
        self.held = 0
        self.tool_jwks_url: str | None = None
        self.tokens: set[str] = set()
        self.scores: list[dict[str, Any]] = []
        # The course roster its NRPS service answers with, two members a page.
        self.members: list[dict[str, Any]] = []
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path.startswith("/jwks"):
                    platform.jwks_hits += 1
                    if self.path.startswith("/jwks-slow"):
                        platform.held += 1
                        try:
                            platform.answer_slow.wait(platform.slow_seconds)
                        finally:
                            platform.held -= 1
                    body = platform.raw_jwks or json.dumps(platform.jwks()).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if self.path.startswith("/memberships"):
                    status, body, link = platform.memberships(self.headers.get("Authorization", ""), self.path)
                    data = json.dumps(body).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/vnd.ims.lti-nrps.v2.membershipcontainer+json")
                    if link:
                        self.send_header("Link", f'<{link}>; rel="next"')
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.send_response(404)
                self.end_headers()

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                if self.path == "/token":
                    status, body = platform.token(raw.decode())
                elif self.path.startswith("/lineitems/") and self.path.endswith("/scores"):
                    status, body = platform.score(self.headers.get("Authorization", ""), raw)
                else:
                    status, body = 404, {}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", unused_port()), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.issuer = self.base_url + "/platform"
        self.client_id = "ext-client-" + uuid.uuid4().hex[:6]
        self.deployment_id = "ext-deploy-1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def token(self, form_body: str) -> tuple[int, dict[str, Any]]:
        """OAuth2 client credentials with the tool's signed assertion, checked against its JWKS."""
        from urllib.parse import parse_qs

        import requests

        form = {k: v[0] for k, v in parse_qs(form_body).items()}
        assertion = form.get("client_assertion", "")
        try:
            header = jwt.get_unverified_header(assertion)
            keys = requests.get(self.tool_jwks_url or "", timeout=5).json()["keys"]
            jwk = next(k for k in keys if k["kid"] == header["kid"])
            claims = jwt.decode(assertion, RSAAlgorithm.from_jwk(jwk), algorithms=["RS256"],
                                audience=self.base_url + "/token")
        except Exception as exc:  # noqa: BLE001
            return 401, {"error": "invalid_client", "error_description": str(exc)}
        if claims["sub"] != self.client_id:
            return 401, {"error": "invalid_client"}
        token = uuid.uuid4().hex
        self.tokens.add(token)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": form.get("scope")}

    def score(self, authorization: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        if authorization.removeprefix("Bearer ") not in self.tokens:
            return 401, {"error": "invalid_token"}
        self.scores.append(json.loads(raw))
        return 200, {}

    def memberships(self, authorization: str, path: str) -> tuple[int, dict[str, Any], str | None]:
        """NRPS 2.0: the roster, two members a page, linked by `Link: rel="next"`."""
        from urllib.parse import parse_qs, urlsplit

        if authorization.removeprefix("Bearer ") not in self.tokens:
            return 401, {"error": "invalid_token"}, None
        page = int(parse_qs(urlsplit(path).query).get("page", ["0"])[0])
        chunk = self.members[page * 2:page * 2 + 2]
        more = (page + 1) * 2 < len(self.members)
        body = {"id": self.base_url + "/memberships", "context": {"id": "ext-course"}, "members": chunk}
        return 200, body, f"{self.base_url}/memberships?page={page + 1}" if more else None

    def verify_tool_message(self, token: str) -> dict[str, Any]:
        """A message the tool signed for this platform (a deep-linking response), checked as a
        platform checks it: the tool's JWKS, this platform as audience, the tool as issuer."""
        import requests

        header = jwt.get_unverified_header(token)
        keys = requests.get(self.tool_jwks_url or "", timeout=5).json()["keys"]
        jwk = next(k for k in keys if k["kid"] == header["kid"])
        body: dict[str, Any] = jwt.decode(token, RSAAlgorithm.from_jwk(jwk), algorithms=["RS256"],
                                          audience=self.issuer, issuer=self.client_id)
        return body

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in [(self.kid, self.key), *self.extra_keys]:
            jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
            keys.append(jwk)
        return {"keys": keys}

    def rotate(self) -> None:
        """Publish a new key and sign with it (as D2L does hourly)."""
        self.extra_keys.append((self.kid, self.key))
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "ext-" + uuid.uuid4().hex[:8]

    def cli_args(self, jwks_path: str = "/jwks") -> list[str]:
        return [
            "platforms", "add",
            "--issuer", self.issuer,
            "--client-id", self.client_id,
            "--auth-login-url", self.base_url + "/auth",
            "--auth-token-url", self.base_url + "/token",
            "--key-set-url", self.base_url + jwks_path,
            "--deployment-id", self.deployment_id,
            "--name", "Ekstern Kommune",
        ]

    def login_params(self, tool_base_url: str, user: str = "u-1") -> dict[str, str]:
        return {
            "iss": self.issuer,
            "login_hint": user,
            "target_link_uri": tool_base_url + "/lti/launch",
            "client_id": self.client_id,
            "lti_deployment_id": self.deployment_id,
        }

    def claims(self, nonce: str, tool_base_url: str, *, role: str = "Learner", sub: str = "u-1",
               link: str = "ext-link-1", locale: str = "da-DK", deep_linking: bool = False) -> dict[str, Any]:
        body = self._resource_link_claims(nonce, tool_base_url, role=role, sub=sub, link=link, locale=locale)
        body["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"] = {
            "context_memberships_url": self.base_url + "/memberships", "service_versions": ["2.0"]}
        if deep_linking:
            body[LTI + "message_type"] = "LtiDeepLinkingRequest"
            del body[LTI + "resource_link"], body[LTI + "custom"]
            del body["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"]["lineitem"]
            body["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = {
                "deep_link_return_url": self.base_url + "/deep-link-return",
                "accept_types": ["ltiResourceLink"], "accept_presentation_document_targets": ["iframe", "window"],
                "accept_multiple": True, "data": "ext-opaque-" + nonce[:8]}
        return body

    def _resource_link_claims(self, nonce: str, tool_base_url: str, *, role: str, sub: str, link: str,
                              locale: str) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": sub,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "name": "Ext Bruger",
            LTI + "message_type": "LtiResourceLinkRequest",
            LTI + "version": "1.3.0",
            LTI + "deployment_id": self.deployment_id,
            LTI + "target_link_uri": tool_base_url + "/lti/launch",
            LTI + "resource_link": {"id": link, "title": "Ekstern aktivitet"},
            LTI + "roles": [f"http://purl.imsglobal.org/vocab/lis/v2/membership#{role}"],
            LTI + "context": {"id": "ext-course", "label": "EXT", "title": "Eksternt kursus"},
            LTI + "launch_presentation": {"locale": locale, "document_target": "iframe"},
            LTI + "custom": {"module": "nyankomne"},
            "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
                "scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/score",
                          "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"],
                "lineitems": self.base_url + "/lineitems",
                "lineitem": self.base_url + "/lineitems/1",
            },
        }

    def sign(self, claims: dict[str, Any], *, key: rsa.RSAPrivateKey | None = None,
             kid: str | None = None, headers: dict[str, Any] | None = None) -> str:
        return jwt.encode(claims, key or self.key, algorithm="RS256",
                          headers={"kid": kid or self.kid, **(headers or {})})
