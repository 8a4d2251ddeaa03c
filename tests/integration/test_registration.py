"""LTI Dynamic Registration: Moodle- and Canvas-shaped platforms, the demo LMS end to end, failures."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.models import Platform, PlatformStatus
from tests.support.agent import text_of

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


class FakePlatform:
    """Serves a fixture configuration and a registration endpoint, recording what the tool posts."""

    def __init__(self, fixture: str, *, answer_status: int = 200, deployment_id: str | None = "17") -> None:
        self.posted: list[dict] = []
        self.authorization: list[str | None] = []
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, body: dict | str) -> None:
                data = (json.dumps(body) if isinstance(body, dict) else body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                if "openid-configuration" in self.path:
                    text = (FIXTURES / fixture).read_text().replace("{base}", platform.base_url)
                    self._send(200, text)
                else:
                    self._send(404, {})

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                platform.posted.append(body)
                platform.authorization.append(self.headers.get("Authorization"))
                if answer_status != 200:
                    self._send(answer_status, {"error": "invalid_client_metadata", "error_description": "nope"})
                    return
                tool_config = dict(body["https://purl.imsglobal.org/spec/lti-tool-configuration"])
                if deployment_id:
                    tool_config["deployment_id"] = deployment_id
                self._send(200, {**body, "client_id": "client-" + fixture.split("-")[0],
                                 "https://purl.imsglobal.org/spec/lti-tool-configuration": tool_config})

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def register(agent, config_url: str, token: str = "reg-token-123"):
    page = agent.get("/lti/register", params={"openid_configuration": config_url, "registration_token": token})
    match = re.search(r'name="pending_id" value="([^"]+)"', page.text)
    return page, match.group(1) if match else None


@pytest.mark.parametrize(("fixture", "config_path", "expected_issuer", "family"), [
    ("moodle-openid-configuration.json", "/mod/lti/openid-configuration.php", None, "moodle"),
    ("canvas-openid-configuration.json", "/api/lti/security/openid-configuration", "https://canvas.instructure.com",
     "canvas"),
], ids=["moodle", "canvas"])
def test_registration_with_platform_shapes(app, agent, fixture, config_path, expected_issuer, family):
    platform = FakePlatform(fixture)
    try:
        page, pending_id = register(agent, platform.base_url + config_path)
        assert page.status_code == 200, text_of(page.text)
        assert family in text_of(page.text)
        done = agent.post("/lti/register", {"pending_id": pending_id})
        assert done.status_code == 200
        assert "registration_close.js" in done.text  # posts org.imsglobal.lti.close

        metadata = platform.posted[0]
        assert platform.authorization == ["Bearer reg-token-123"]
        assert metadata["application_type"] == "web"
        assert metadata["response_types"] == ["id_token"]
        assert set(metadata["grant_types"]) == {"implicit", "client_credentials"}
        assert metadata["token_endpoint_auth_method"] == "private_key_jwt"
        assert metadata["initiate_login_uri"].endswith("/lti/login")
        assert metadata["jwks_uri"].endswith("/.well-known/jwks.json")
        assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in metadata["scope"]
        tool_config = metadata["https://purl.imsglobal.org/spec/lti-tool-configuration"]
        assert tool_config["domain"] and tool_config["target_link_uri"].endswith("/lti/launch")
        assert {m["type"] for m in tool_config["messages"]} == {"LtiResourceLinkRequest", "LtiDeepLinkingRequest"}

        db.session.rollback()
        stored = db.session.scalars(select(Platform).where(Platform.client_id == "client-" + family)).one()
        assert stored.issuer == (expected_issuer or platform.base_url)
        assert stored.status == PlatformStatus.PENDING
        assert [d.deployment_id for d in stored.deployments] == ["17"]
        if family == "canvas":
            assert stored.auth_audience == platform.base_url  # Canvas's authorization_server
    finally:
        platform.close()


@pytest.mark.parametrize(("setup", "reason"), [
    (lambda base: base + "/nothing-here", "registration_unreachable"),
    (lambda base: "http://127.0.0.1:1/openid-configuration", "registration_unreachable"),
    (lambda base: "ftp://example.org/config", "registration_unsafe_url"),
], ids=["not-found", "no-server", "not-http"])
def test_configuration_that_cannot_be_fetched_is_explained(app, agent, setup, reason):
    platform = FakePlatform("moodle-openid-configuration.json")
    try:
        page, _ = register(agent, setup(platform.base_url))
        assert page.status_code == 400
        assert reason in page.text
        assert "Traceback" not in page.text
    finally:
        platform.close()


def test_issuer_mismatch_is_refused(app, agent, tmp_path):
    platform = FakePlatform("moodle-openid-configuration.json")
    try:
        # The configuration served by 127.0.0.1 claims to be another site's issuer.
        page, _ = register(agent, platform.base_url.replace("127.0.0.1", "localhost") + "/openid-configuration")
        assert page.status_code == 400
        assert "registration_issuer_mismatch" in page.text
    finally:
        platform.close()


def test_rejected_registration_is_explained(app, agent):
    platform = FakePlatform("moodle-openid-configuration.json", answer_status=400)
    try:
        _, pending_id = register(agent, platform.base_url + "/openid-configuration")
        page = agent.post("/lti/register", {"pending_id": pending_id})
        assert page.status_code == 400
        assert "registration_rejected" in page.text and "invalid_client_metadata" in text_of(page.text)
    finally:
        platform.close()


def test_production_refuses_private_addresses(make_app):
    from lti_tool.lti.safe_urls import UnsafeURL, check_url

    with pytest.raises(UnsafeURL):
        check_url("https://127.0.0.1/config", allow_private=False)
    with pytest.raises(UnsafeURL):
        check_url("http://example.org/config", allow_private=False)
    app = make_app(ALLOW_PRIVATE_REGISTRATION_URLS=False)
    page = app.test_client().get("/lti/register", query_string={
        "openid_configuration": "https://10.0.0.5/config", "registration_token": "x"})
    assert page.status_code == 400 and b"registration_unsafe_url" in page.data


def test_demo_lms_dynamic_registration_to_a_working_launch(app, live, runner):
    admin = live.agent()
    admin.sign_in("hanne")
    tools = admin.post("/demo-lms/admin/tools", {"tool_url": live.base_url + "/lti/register"})
    start = re.search(r'id="start-registration" href="([^"]+)"', tools.text).group(1).replace("&amp;", "&")
    query = parse_qs(urlparse(start).query)
    assert query["openid_configuration"][0].endswith("/demo-lms/.well-known/openid-configuration")

    confirm = admin.get(start)
    pending_id = re.search(r'name="pending_id" value="([^"]+)"', confirm.text).group(1)
    done = admin.post("/lti/register", {"pending_id": pending_id})
    assert done.status_code == 200
    # The registration token is single-use.
    again = admin.get(start)
    assert again.status_code == 200
    assert admin.post("/lti/register", {"pending_id": re.search(r'name="pending_id" value="([^"]+)"',
                                                                 again.text).group(1)}).status_code == 400

    db.session.rollback()
    platform = db.session.scalars(select(Platform).where(Platform.client_id.like("dr-%"))
                                  .order_by(Platform.id.desc())).first()
    assert platform.status == PlatformStatus.PENDING
    learner = live.agent()
    learner.sign_in("jonas")
    refused = learner.follow_forms(learner.get("/demo-lms/courses/vejle-int/initiate",
                                               params={"link_id": "rl-nyankomne", "client_id": platform.client_id}))
    assert refused.status_code == 403 and "inactive_platform" in refused.text

    platform.status = PlatformStatus.ACTIVE  # what the operator's approval does
    db.session.commit()
    launched = learner.follow_forms(learner.get("/demo-lms/courses/vejle-int/initiate",
                                                params={"link_id": "rl-nyankomne", "client_id": platform.client_id}))
    assert launched.status_code == 200 and "/c/" in launched.url
