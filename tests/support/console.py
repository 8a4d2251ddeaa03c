"""The operator console over HTTP, as a browser uses it: cookies kept, forms carry a CSRF token."""

from __future__ import annotations

import uuid
from typing import Any

import requests
from flask import Flask

from lti_tool.extensions import db
from lti_tool.operating.operators import create_operator
from tests.support.learner import csrf_of

PASSWORD = "a long operator passphrase"


def make_operator(app: Flask, password: str = PASSWORD) -> str:
    """A new operator account with a unique address; returns the address."""
    email = f"op-{uuid.uuid4().hex[:8]}@konsortium.example"
    with app.app_context():
        create_operator(db.session, email, password)
    return email


class Console:
    def __init__(self, base_url: str, language: str = "en") -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.http.headers["Accept-Language"] = language

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url + path

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        return self.http.get(self.url(path), timeout=30, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, *, token: bool = True,
             **kwargs: Any) -> requests.Response:
        """A form post; the token comes from a console page, as the browser would have it."""
        kwargs.setdefault("allow_redirects", False)
        fields = dict(data or {})
        if token:
            fields["csrf_token"] = csrf_of(self.get("/admin/login").text)
        return self.http.post(self.url(path), data=fields, timeout=30, **kwargs)

    def sign_in(self, email: str, password: str = PASSWORD, **extra: str) -> requests.Response:
        return self.post("/admin/login", {"email": email, "password": password, **extra})

    def follow(self, response: requests.Response) -> requests.Response:
        return self.get(response.headers["Location"])

    def session(self, app: Flask) -> dict[str, Any]:
        """The signed session cookie's content, read with the app's own serializer."""
        serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        return dict(serializer.loads(self.http.cookies["session"]))

    def set_session(self, app: Flask, data: dict[str, Any]) -> None:
        """Replace the session cookie, keeping its domain and path (else a second one lingers)."""
        serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        old = next(c for c in self.http.cookies if c.name == "session")
        self.http.cookies.clear(old.domain, old.path, old.name)
        self.http.cookies.set("session", serializer.dumps(data), domain=old.domain, path=old.path)
