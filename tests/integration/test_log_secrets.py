"""No log line holds a secret from a URL: not Werkzeug's request line, not the app's own lines."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
import requests

from lti_tool.web.logs import URL_SECRETS, mask_url_secrets

SECRETS = {"registration_token": "REGTOKEN-1f2e", "id_token": "IDTOKEN-9a8b", "state": "STATE-77c1",
           "code": "CODE-5d4e", "access_token": "ACCESS-3b2a", "login_hint": "person-4711"}


@pytest.fixture
def server_log() -> Iterator[list[str]]:
    """Every message the "werkzeug" logger hands its handlers, as they would write it."""
    messages: list[str] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("werkzeug")
    logger.addHandler(handler)
    yield messages
    logger.removeHandler(handler)


@pytest.fixture
def base(make_app, serve) -> str:
    """An app writing its access lines, served by Werkzeug's development server in a thread."""
    return serve(make_app(LOG_REQUESTS=True))


@pytest.fixture
def tool_log(base) -> Iterator[io.StringIO]:
    """What the tool's own handler (the one configure_logging installs) writes."""
    [handler] = [h for h in logging.getLogger("lti_tool").handlers if getattr(h, "_integrationsloeft", False)]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_the_dev_server_and_the_app_log_no_url_secrets(base, server_log, tool_log):
    # A configuration address that itself carries a token, where nothing answers: the refusal's
    # warning quotes the address.
    configuration = "http://127.0.0.1:9/openid-configuration?token=CONFTOKEN-0c0d"
    requests.get(base + "/lti/register", params={"openid_configuration": configuration,
                                                 "registration_token": SECRETS["registration_token"]}, timeout=30)
    requests.get(base + "/lti/launch", params={"id_token": SECRETS["id_token"], "state": SECRETS["state"]},
                 timeout=30)
    requests.get(base + "/lti/login", params={"iss": "https://unknown.example",
                                              "login_hint": SECRETS["login_hint"]}, timeout=30)
    requests.get(base + "/healthz", params={"code": SECRETS["code"], "access_token": SECRETS["access_token"]},
                 timeout=30)

    served = "\n".join(server_log)
    # Werkzeug logs each request line, query string included (coloured by status), before the response.
    assert served.count("GET /") == 4
    assert "/lti/register?openid_configuration=" in served and "registration_token=…" in served
    assert "id_token=…&state=…" in served and "code=…&access_token=…" in served
    written = tool_log.getvalue()
    assert written.count(" GET /") >= 4  # the app's access lines
    assert "registration_unreachable" in written and "token=…" in written  # the refusal quoted the address
    for secret in [*SECRETS.values(), "CONFTOKEN-0c0d"]:
        assert secret not in served, secret
        assert secret not in written, secret


@pytest.mark.parametrize(("line", "expected"), [
    ("GET /x?state=a&code=b HTTP/1.1", "GET /x?state=…&code=… HTTP/1.1"),
    ("GET /x?STATE=a;Id_Token=b#access_token=c", "GET /x?STATE=…;Id_Token=…#access_token=…"),
    # Inside another URL's parameter, percent-encoded: only the token, the rest is kept.
    ("?u=https%3A%2F%2Fh%2Fc%3Ftoken%3Dsecret%26x%3D1", "?u=https%3A%2F%2Fh%2Fc%3Ftoken%3D…%26x%3D1"),
    # Names that only end or begin like a secret's are not secrets.
    ("GET /x?encode=1&statement=2&codes=3&barcode=4", "GET /x?encode=1&statement=2&codes=3&barcode=4"),
    ("'http://lms/jwks?token=abc' timed out", "'http://lms/jwks?token=…' timed out"),
])
def test_mask_url_secrets(line, expected):
    assert mask_url_secrets(line) == expected


def test_every_secret_name_is_masked():
    for name in URL_SECRETS:
        assert mask_url_secrets(f"/x?{name}=v&a=1") == f"/x?{name}=…&a=1"


def test_gunicorns_access_line_is_masked_too(app):
    """gunicorn (ACCESS_LOG set) logs its format with a dict of atoms; "r" is the whole request line."""
    messages: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("gunicorn.access")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        logger.info('%(h)s "%(r)s" %(s)s', {"h": "10.0.0.1", "r": "GET /lti/launch?id_token=IDTOKEN-9a8b HTTP/1.1",
                                             "s": "405"})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert messages == ['10.0.0.1 "GET /lti/launch?id_token=… HTTP/1.1" 405']
