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

LTI = "https://purl.imsglobal.org/spec/lti/claim/"


class ExternalPlatform:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "ext-" + uuid.uuid4().hex[:8]
        self.extra_keys: list[tuple[str, rsa.RSAPrivateKey]] = []
        self.jwks_hits = 0
        self.slow_seconds = 0.0
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path.startswith("/jwks"):
                    platform.jwks_hits += 1
                    if self.path.startswith("/jwks-slow"):
                        time.sleep(platform.slow_seconds)
                    body = json.dumps(platform.jwks()).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(404)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.issuer = self.base_url + "/platform"
        self.client_id = "ext-client-" + uuid.uuid4().hex[:6]
        self.deployment_id = "ext-deploy-1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

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
               link: str = "ext-link-1", locale: str = "da-DK") -> dict[str, Any]:
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
        }

    def sign(self, claims: dict[str, Any], *, key: rsa.RSAPrivateKey | None = None,
             kid: str | None = None, headers: dict[str, Any] | None = None) -> str:
        return jwt.encode(claims, key or self.key, algorithm="RS256",
                          headers={"kid": kid or self.kid, **(headers or {})})
