"""LTI Dynamic Registration: Moodle- and Canvas-shaped platforms, the demo LMS end to end, failures."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.lti import registration
from lti_tool.lti.registration import RegistrationFailed, parse_configuration
from lti_tool.models import Platform, PlatformStatus
from lti_tool.operating.platforms import add_platform, change_status, unused_name
from lti_tool.runtime import runtime
from tests.support.agent import text_of
from tests.support.lms import activate_in_lms, registration_start
from tests.support.ports import unused_port

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
ENGLISH = {"Accept-Language": "en"}
AFTER_ACCEPTANCE = "Your platform may already have registered the tool"


class FakePlatform:
    """Serves a fixture configuration and a registration endpoint, recording what the tool posts.

    `edit` changes the configuration before it is served (returning a replacement, if any);
    `answer` turns the posted metadata into the platform's answer (an object, or raw text).
    `redirect_configuration` / `redirect_registration` answer with a redirect to a second
    address that would serve or accept normally, so following it would be visible.
    """

    def __init__(self, fixture: str, *, answer_status: int = 200, deployment_id: str | None = "17",
                 client_id: str | None = None, edit: Callable[[dict], object] | None = None,
                 answer: Callable[[dict], object] | None = None, redirect_configuration: bool = False,
                 redirect_registration: bool = False) -> None:
        self.posted: list[dict] = []
        self.authorization: list[str | None] = []
        self.requested: list[str] = []
        self.client_id = client_id or f"client-{fixture.split('-')[0]}-{uuid.uuid4().hex[:8]}"
        platform = self

        def configuration() -> object:
            data = json.loads((FIXTURES / fixture).read_text().replace("{base}", platform.base_url))
            if edit is not None:
                replaced = edit(data)
                data = data if replaced is None else replaced
            return data

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
                data = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                platform.requested.append("GET " + self.path)
                if redirect_configuration and "openid-configuration" in self.path:
                    self._send(302, {}, {"Location": platform.base_url + "/moved-configuration"})
                elif "openid-configuration" in self.path or self.path == "/moved-configuration":
                    self._send(200, configuration())
                else:
                    self._send(404, {})

            def do_POST(self) -> None:  # noqa: N802
                platform.requested.append("POST " + self.path)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if redirect_registration and self.path != "/moved-registration":
                    self._send(307, {}, {"Location": platform.base_url + "/moved-registration"})
                    return
                platform.posted.append(body)
                platform.authorization.append(self.headers.get("Authorization"))
                if answer_status != 200:
                    self._send(answer_status, {"error": "invalid_client_metadata", "error_description": "nope"})
                    return
                if answer is not None:
                    self._send(200, answer(body))
                    return
                tool_config = dict(body[TOOL_CONFIGURATION])
                if deployment_id:
                    tool_config["deployment_id"] = deployment_id
                self._send(200, {**body, "client_id": platform.client_id, TOOL_CONFIGURATION: tool_config})

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", unused_port()), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.host = urlparse(self.base_url).netloc
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def stored(self) -> list[Platform]:
        """What the tool stored with this platform's client ID."""
        db.session.rollback()  # see what the live server committed
        return list(db.session.scalars(select(Platform).where(Platform.client_id == self.client_id)))


@pytest.fixture
def fake_platforms() -> Iterator[Callable[..., FakePlatform]]:
    """Start fake platforms (arguments as FakePlatform's); all are stopped after the test."""
    started: list[FakePlatform] = []

    def start(fixture: str = "moodle-openid-configuration.json", **options: object) -> FakePlatform:
        started.append(FakePlatform(fixture, **options))
        return started[-1]

    yield start
    for platform in started:
        platform.close()


@pytest.fixture
def canvas_served_locally(app, monkeypatch):
    """The Canvas fixture is served from 127.0.0.1, not instructure.com: the operator's allow-list
    of extra Canvas cloud hosts (empty by default) names it, as it would a customer's own domain."""
    monkeypatch.setitem(app.config, "CANVAS_CLOUD_EXTRA_HOSTS", ("127.0.0.1",))


def register(agent, config_url: str, token: str = "reg-token-123"):
    page = agent.get("/lti/register", params={"openid_configuration": config_url, "registration_token": token},
                     headers=ENGLISH)
    match = re.search(r'name="pending_id" value="([^"]+)"', page.text)
    return page, match.group(1) if match else None


def finish(agent, pending_id: str | None):
    return agent.post("/lti/register", {"pending_id": pending_id or ""}, headers=ENGLISH)


def register_and_finish(agent, platform: FakePlatform, config_path: str = "/mod/lti/openid-configuration.php"):
    page, pending_id = register(agent, platform.base_url + config_path)
    assert page.status_code == 200, text_of(page.text)
    return finish(agent, pending_id)


@pytest.mark.parametrize(("fixture", "config_path", "expected_issuer", "family"), [
    ("moodle-openid-configuration.json", "/mod/lti/openid-configuration.php", None, "moodle"),
    ("canvas-openid-configuration.json", "/api/lti/security/openid-configuration", "https://canvas.instructure.com",
     "canvas"),
], ids=["moodle", "canvas"])
def test_registration_with_platform_shapes(app, live, agent, fake_platforms, request, fixture, config_path,
                                           expected_issuer, family):
    if family == "canvas":
        request.getfixturevalue("canvas_served_locally")
    platform = fake_platforms(fixture)
    page, pending_id = register(agent, platform.base_url + config_path)
    assert page.status_code == 200, text_of(page.text)
    assert family in text_of(page.text)
    done = finish(agent, pending_id)
    assert done.status_code == 200
    assert "registration_close.js" in done.text  # posts org.imsglobal.lti.close

    metadata = platform.posted[0]
    assert platform.authorization == ["Bearer reg-token-123"]
    assert metadata["application_type"] == "web"
    assert metadata["response_types"] == ["id_token"]
    assert set(metadata["grant_types"]) == {"implicit", "client_credentials"}
    assert metadata["token_endpoint_auth_method"] == "private_key_jwt"
    assert metadata["initiate_login_uri"] == live.base_url + "/lti/login"
    assert metadata["redirect_uris"] == [live.base_url + "/lti/launch"]
    assert metadata["jwks_uri"] == live.base_url + "/.well-known/jwks.json"
    scopes = metadata["scope"].split()
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in scopes
    assert NRPS in scopes  # both platforms offer the roster service
    # The name in each of the tool's languages (OpenID Connect Registration §2.1 language tags).
    assert metadata["client_name"] == "Integrationsløft"
    assert metadata["client_name#da"] == metadata["client_name#sv"] == "Integrationsløft"
    assert metadata["logo_uri"] == live.base_url + "/static/img/logo.svg"
    assert agent.get(metadata["logo_uri"]).status_code == 200
    tool_config = metadata[TOOL_CONFIGURATION]
    assert tool_config["domain"] == urlparse(live.base_url).netloc
    assert tool_config["target_link_uri"] == live.base_url + "/lti/launch"
    assert {m["type"] for m in tool_config["messages"]} == {"LtiResourceLinkRequest", "LtiDeepLinkingRequest"}

    [stored] = platform.stored()
    assert stored.issuer == (expected_issuer or platform.base_url)
    assert stored.status == PlatformStatus.PENDING
    assert [d.deployment_id for d in stored.deployments] == ["17"]
    if family == "canvas":
        assert stored.auth_audience == platform.base_url  # Canvas's authorization_server
        assert stored.name == f"Aarhus Kommune ({platform.host})"  # the Canvas account's name
    else:
        assert stored.name == f"Moodle ({platform.host})"


def test_canvas_cloud_customers_are_told_apart(app, agent, fake_platforms, canvas_served_locally):
    def account(name: str) -> Callable[[dict], None]:
        return lambda config: config[PLATFORM_CONFIGURATION].update(
            {"https://canvas.instructure.com/lti/account_name": name})

    aarhus = fake_platforms("canvas-openid-configuration.json", edit=account("Aarhus Kommune"))
    vejle = fake_platforms("canvas-openid-configuration.json", edit=account("Vejle Kommune"))
    for platform in (aarhus, vejle):
        assert register_and_finish(agent, platform, "/api/lti/security/openid-configuration").status_code == 200
    [first], [second] = aarhus.stored(), vejle.stored()
    assert first.issuer == second.issuer == "https://canvas.instructure.com"
    assert first.name == f"Aarhus Kommune ({aarhus.host})"
    assert second.name == f"Vejle Kommune ({vejle.host})"


def test_two_registrations_from_one_moodle_are_told_apart(app, agent, fake_platforms, console):
    # Moodle registers the tool once per tool type: same issuer, a new client ID and deployment each time.
    answers = iter([("client-a", "4"), ("client-b", "5"), ("client-c", "6")])

    def answer(body: dict) -> dict:
        client_id, deployment_id = next(answers)
        return {**body, "client_id": client_id, TOOL_CONFIGURATION: {**body[TOOL_CONFIGURATION],
                                                                      "deployment_id": deployment_id}}

    moodle = fake_platforms(answer=answer)
    for _ in range(3):
        assert register_and_finish(agent, moodle).status_code == 200
    db.session.rollback()
    stored = db.session.scalars(select(Platform).where(Platform.issuer == moodle.base_url)
                                .order_by(Platform.id)).all()
    assert [p.name for p in stored] == [f"Moodle ({moodle.host})", f"Moodle ({moodle.host}) 2",
                                        f"Moodle ({moodle.host}) 3"]
    assert [p.deployments[0].deployment_id for p in stored] == ["4", "5", "6"]

    # The operator sees the three names, each with its client ID and deployment, in the console's list.
    listing = text_of(console.get("/admin/platforms").text)
    for platform in stored:
        assert f"{platform.name} waiting for approval {moodle.base_url} {platform.client_id} " \
               f"{platform.deployments[0].deployment_id}" in listing


def test_a_freed_name_is_used_again_and_a_long_one_keeps_its_number(db_session):
    host = f"lms-{uuid.uuid4().hex[:8]}.example.dk"
    names = [add_platform(db_session, issuer=f"https://{host}", client_id=f"c{n}",
                          auth_login_url=f"https://{host}/auth", auth_token_url=f"https://{host}/token",
                          key_set_url=f"https://{host}/jwks", deployment_ids=[],
                          name=unused_name(db_session, f"Moodle ({host})")).name for n in range(2)]
    assert names == [f"Moodle ({host})", f"Moodle ({host}) 2"]
    assert unused_name(db_session, f"Moodle ({host})") == f"Moodle ({host}) 3"
    long = "x" * 250 + host
    add_platform(db_session, issuer=f"https://{host}", client_id="long", auth_login_url=f"https://{host}/auth",
                 auth_token_url=f"https://{host}/token", key_set_url=f"https://{host}/jwks", deployment_ids=[],
                 name=long)
    assert unused_name(db_session, long) == long[:253] + " 2"  # fits the column, number kept


@pytest.mark.parametrize(("family", "expected"), [
    ("moodle", "Moodle (lms.example.dk)"), ("desire2learn", "Brightspace (lms.example.dk)"),
    ("itslearning", "itslearning (lms.example.dk)"), ("SomeLMS", "SomeLMS (lms.example.dk)"),
    (None, "lms.example.dk"),
])
def test_platform_names_say_the_product_and_host(family, expected):
    config = json.loads((FIXTURES / "moodle-openid-configuration.json").read_text()
                        .replace("{base}", "https://lms.example.dk"))
    if family is None:
        del config[PLATFORM_CONFIGURATION]["product_family_code"]
    else:
        config[PLATFORM_CONFIGURATION]["product_family_code"] = family
    url = "https://lms.example.dk/mod/lti/openid-configuration.php"
    assert registration.platform_name(parse_configuration(url, config), url) == expected


def test_deep_linking_and_roster_are_left_out_when_the_platform_lacks_them(app, agent, fake_platforms):
    def without(config: dict) -> None:
        config[PLATFORM_CONFIGURATION]["messages_supported"] = [{"type": "LtiResourceLinkRequest"}]
        config["scopes_supported"] = [s for s in config["scopes_supported"] if s != NRPS]

    platform = fake_platforms(edit=without)
    page, pending_id = register(agent, platform.base_url + "/mod/lti/openid-configuration.php")
    assert "deep linking" not in text_of(page.text) and "Names and Role" not in text_of(page.text)
    assert finish(agent, pending_id).status_code == 200
    metadata = platform.posted[0]
    assert [m["type"] for m in metadata[TOOL_CONFIGURATION]["messages"]] == ["LtiResourceLinkRequest"]
    scopes = metadata["scope"].split()
    assert NRPS not in scopes
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in scopes


@pytest.fixture
def auto_approve(app, monkeypatch):
    monkeypatch.setitem(app.config, "AUTO_APPROVE_REGISTRATIONS", True)


def test_auto_approved_registration_is_active_at_once(app, agent, fake_platforms, auto_approve):
    platform = fake_platforms()
    assert register_and_finish(agent, platform).status_code == 200
    [stored] = platform.stored()
    assert stored.status == PlatformStatus.ACTIVE


def test_an_unknown_locale_falls_back_to_danish_names(db_session, fake_platforms):
    # Through HTTP the locale is always one of the tool's languages; the service must not rely on it.
    platform = fake_platforms()
    rt = runtime()
    pending_id, _ = registration.begin(rt.store, rt.http(), platform.base_url + "/mod/lti/openid-configuration.php",
                                       "token", allow_private=True)
    stored = registration.complete(db_session, rt.store, rt.http(), pending_id, base_url=rt.base_url,
                                   auto_approve=False, locale="de")
    assert stored.client_id == platform.client_id
    metadata = platform.posted[0]
    assert metadata["client_name"] == registration.CLIENT_NAMES["da"]
    assert metadata[TOOL_CONFIGURATION]["description"] == registration.DESCRIPTIONS["da"]
    deep_linking = next(m for m in metadata[TOOL_CONFIGURATION]["messages"] if m["type"] == "LtiDeepLinkingRequest")
    assert deep_linking["label"] == registration.CLIENT_NAMES["da"]


# --- refusals -----------------------------------------------------------------------------------

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


CANVAS_ISSUER = "https://canvas.instructure.com"


def canvas_configuration(family: str = "canvas") -> dict:
    text = (FIXTURES / "canvas-openid-configuration.json").read_text().replace("{base}", "https://sso.example")
    data = json.loads(text)
    data[PLATFORM_CONFIGURATION]["product_family_code"] = family
    return data


@pytest.mark.parametrize("config_url", [
    "https://aarhus.instructure.com/api/lti/security/openid-configuration",
    "https://canvas.instructure.com/api/lti/security/openid-configuration",
    "https://AARHUS.Instructure.COM./api/lti/security/openid-configuration",
])
def test_canvas_cloud_issuer_is_accepted_from_instructure_hosts(config_url):
    assert parse_configuration(config_url, canvas_configuration()).issuer == CANVAS_ISSUER


@pytest.mark.parametrize(("config_url", "family", "extra_hosts"), [
    ("https://evil.example/api/lti/security/openid-configuration", "canvas", ()),
    ("https://instructure.com.evil.example/config", "canvas", ()),
    ("https://evilinstructure.com/config", "canvas", ()),
    ("https://canvas.aarhus.dk/config", "canvas", ()),  # a vanity domain the operator has not listed
    ("https://canvas.aarhus.dk/config", "canvas", ("canvas.vejle.dk",)),
    ("https://aarhus.instructure.com/config", "moodle", ()),  # Canvas's issuer, but not Canvas
    # urllib sees sso.instructure.com, requests connects to attacker.example:
    ("https://attacker.example\\@sso.instructure.com/config", "canvas", ()),
    ("https://attacker.example@sso.instructure.com/config", "canvas", ()),
], ids=["foreign", "lookalike-prefix", "lookalike-suffix", "unlisted-vanity", "other-vanity", "not-canvas",
        "backslash-user-info", "user-info"])
def test_canvas_cloud_issuer_is_refused_from_other_hosts(config_url, family, extra_hosts):
    with pytest.raises(RegistrationFailed) as refused:
        parse_configuration(config_url, canvas_configuration(family), canvas_hosts=extra_hosts)
    assert refused.value.reason == "registration_issuer_mismatch"


def test_canvas_cloud_issuer_is_accepted_from_a_listed_vanity_domain():
    configuration = parse_configuration("https://canvas.aarhus.dk/config", canvas_configuration(),
                                        canvas_hosts=("Canvas.Aarhus.dk",))
    assert configuration.issuer == CANVAS_ISSUER


def test_fake_canvas_on_a_foreign_host_is_refused(app, agent, fake_platforms):
    # Anyone can serve Canvas cloud's shared issuer; from a host that is not Canvas cloud's it
    # would let them register launches under every Canvas customer's issuer.
    platform = fake_platforms("canvas-openid-configuration.json")
    page, pending_id = register(agent, platform.base_url + "/api/lti/security/openid-configuration")
    assert page.status_code == 400
    assert pending_id is None
    assert "registration_issuer_mismatch" in page.text
    assert "The platform's issuer does not belong to the address the configuration came from" in text_of(page.text)
    assert not platform.posted


def test_re_registration_of_a_known_client_id_changes_nothing(app, agent, fake_platforms, canvas_served_locally):
    # The worst case: a host allowed to serve Canvas cloud's issuer answers with the client ID of
    # another customer's active registration, hoping to swap in its own endpoints and key set.
    victim = add_platform(db.session, issuer=CANVAS_ISSUER, client_id=f"victim-{uuid.uuid4().hex[:8]}",
                          auth_login_url="https://sso.canvaslms.com/api/lti/authorize_redirect",
                          auth_token_url="https://sso.canvaslms.com/login/oauth2/token",
                          key_set_url="https://sso.canvaslms.com/api/lti/security/jwks",
                          deployment_ids=["1"], name="Aarhus Kommune")
    victim_id = victim.id
    attacker = fake_platforms("canvas-openid-configuration.json", client_id=victim.client_id)
    page = register_and_finish(agent, attacker, "/api/lti/security/openid-configuration")

    assert page.status_code == 400
    assert "registration_already_registered" in page.text
    text = text_of(page.text)
    assert "already registered with the tool. The existing registration was left unchanged" in text
    assert AFTER_ACCEPTANCE in text
    [stored] = attacker.stored()
    assert stored.id == victim_id
    assert stored.key_set_url == "https://sso.canvaslms.com/api/lti/security/jwks"
    assert stored.auth_login_url == "https://sso.canvaslms.com/api/lti/authorize_redirect"
    assert stored.name == "Aarhus Kommune"
    assert [d.deployment_id for d in stored.deployments] == ["1"]
    # Nothing the attacker sent is active anywhere.
    assert not db.session.scalars(select(Platform).where(
        Platform.key_set_url == attacker.base_url + "/api/lti/security/jwks")).all()


def test_a_second_registration_answered_with_the_same_client_id_is_refused(app, agent, fake_platforms,
                                                                            auto_approve):
    platform = fake_platforms()
    register_and_finish(agent, platform)
    [first] = platform.stored()  # active at once
    again = register_and_finish(agent, platform)
    assert again.status_code == 400 and "registration_already_registered" in again.text
    [stored] = platform.stored()
    assert (stored.id, stored.status, stored.key_set_url) == (first.id, PlatformStatus.ACTIVE, first.key_set_url)


@pytest.mark.parametrize("step", ["configuration", "registration"])
def test_redirects_are_not_followed(app, agent, fake_platforms, step):
    # The redirect target would serve or accept normally: following it would go unchecked.
    platform = fake_platforms(redirect_configuration=step == "configuration",
                              redirect_registration=step == "registration")
    page, pending_id = register(agent, platform.base_url + "/mod/lti/openid-configuration.php")
    if step == "registration":
        assert page.status_code == 200
        page = finish(agent, pending_id)
    assert page.status_code == 400
    assert "registration_redirected" in page.text
    assert "For safety the tool does not follow redirects" in text_of(page.text)
    assert not any("/moved-" in path for path in platform.requested)
    assert not platform.posted and not platform.stored()


def _drop(*names: str) -> Callable[[dict], None]:
    def edit(config: dict) -> None:
        for name in names:
            del config[name]
    return edit


def _set(name: str, value: object) -> Callable[[dict], None]:
    return lambda config: config.update({name: value})


def _set_platform(name: str, value: object) -> Callable[[dict], None]:
    return lambda config: config[PLATFORM_CONFIGURATION].update({name: value})


MALFORMED = "The platform's configuration is malformed: the field {} does not have the expected form."


@pytest.mark.parametrize(("edit", "reason", "explanation"), [
    (lambda config: [config], "registration_bad_configuration", "The platform's configuration is not valid JSON."),
    (lambda config: "<html>Moodle is upgrading</html>", "registration_unreachable",
     "The tool could not read the platform's configuration at"),
    (lambda config: "[" * 100000, "registration_unreachable",  # nested too deep: was a 500
     "The tool could not read the platform's configuration at"),
    (_set(PLATFORM_CONFIGURATION, [{"product_family_code": "moodle"}]), "registration_bad_configuration",
     MALFORMED.format(PLATFORM_CONFIGURATION)),
    (_set_platform("messages_supported", 5), "registration_bad_configuration",
     MALFORMED.format("messages_supported")),
    (_set_platform("messages_supported", ["LtiResourceLinkRequest"]), "registration_bad_configuration",
     MALFORMED.format("messages_supported")),
    (_set("issuer", ["https://moodle.example"]), "registration_bad_configuration", MALFORMED.format("issuer")),
    # urllib cannot parse it: it used to pass as "no host, like the configuration's", and then
    # every framed page lost its frame-ancestors
    (_set("issuer", "https://[moodle.example"), "registration_bad_configuration", MALFORMED.format("issuer")),
    (_set("issuer", "https://moodle.example/\ud800"), "registration_bad_configuration", MALFORMED.format("issuer")),
    (_set("authorization_endpoint", "mod/lti/auth.php"), "registration_bad_configuration",
     MALFORMED.format("authorization_endpoint")),
    (_set("jwks_uri", {"url": "https://moodle.example/jwks"}), "registration_bad_configuration",
     MALFORMED.format("jwks_uri")),
    (_set("authorization_server", 7), "registration_bad_configuration", MALFORMED.format("authorization_server")),
    (_set("scopes_supported", "openid"), "registration_bad_configuration", MALFORMED.format("scopes_supported")),
    (_set("token_endpoint_auth_methods_supported", "private_key_jwt"), "registration_bad_configuration",
     MALFORMED.format("token_endpoint_auth_methods_supported")),
    (_drop("token_endpoint", "registration_endpoint"), "registration_missing_endpoints",
     "The platform's configuration lacks required endpoints: token_endpoint, registration_endpoint."),
    (_set("id_token_signing_alg_values_supported", ["HS256"]), "registration_unsupported",
     "The platform does not support the signed tokens LTI 1.3 requires (RS256, private_key_jwt)."),
    (_set("token_endpoint_auth_methods_supported", ["client_secret_basic"]), "registration_unsupported",
     "The platform does not support the signed tokens LTI 1.3 requires (RS256, private_key_jwt)."),
], ids=["not-an-object", "not-json", "nested-too-deep", "platform-configuration-list", "messages-number",
        "messages-strings", "issuer-list", "issuer-broken-ipv6", "issuer-lone-surrogate", "endpoint-not-a-url",
        "endpoint-object", "audience-number", "scopes-string",
        "auth-methods-string", "missing-endpoints", "unsupported-algorithm", "unsupported-auth-method"])
def test_bad_configuration_is_explained(app, agent, fake_platforms, edit, reason, explanation):
    platform = fake_platforms(edit=edit)
    page, pending_id = register(agent, platform.base_url + "/mod/lti/openid-configuration.php")
    assert page.status_code == 400, text_of(page.text)
    assert pending_id is None
    assert f"<code>{reason}</code>" in page.text
    assert explanation in text_of(page.text)
    assert "Nothing was registered." in text_of(page.text)
    assert not platform.posted


NO_CLIENT_ID = "The platform's answer to the registration had no client ID."
BAD_ANSWER = "The platform's answer to the registration is malformed: {} does not have the expected form."


@pytest.mark.parametrize(("answer", "explanation"), [
    (lambda body: {**body, "client_id": ""}, NO_CLIENT_ID),
    (lambda body: {key: value for key, value in body.items() if key != "client_id"}, NO_CLIENT_ID),
    (lambda body: {**body, "client_id": {"id": "x"}}, NO_CLIENT_ID),
    (lambda body: {**body, "client_id": "x" * 300}, NO_CLIENT_ID),
    (lambda body: [body], NO_CLIENT_ID),
    (lambda body: "registered, thank you", NO_CLIENT_ID),
    (lambda body: "[" * 100000, NO_CLIENT_ID),  # nested too deep: was a 500, after the platform accepted
    (lambda body: {**body, "client_id": "c-1", TOOL_CONFIGURATION: ["17"]}, BAD_ANSWER.format(TOOL_CONFIGURATION)),
    (lambda body: {**body, "client_id": "c-1", TOOL_CONFIGURATION: {"deployment_id": ["17"]}},
     BAD_ANSWER.format("deployment_id")),
], ids=["empty-client-id", "no-client-id", "client-id-object", "client-id-too-long", "a-list", "not-json",
        "nested-too-deep",
        "tool-configuration-list", "deployment-id-list"])
def test_bad_registration_answer_is_explained(app, agent, fake_platforms, answer, explanation):
    platform = fake_platforms(answer=answer)
    page = register_and_finish(agent, platform)
    assert page.status_code == 400, text_of(page.text)
    assert "<code>registration_bad_answer</code>" in page.text
    assert explanation in text_of(page.text)
    # The platform accepted the registration, so the page must not claim nothing was registered.
    assert AFTER_ACCEPTANCE in text_of(page.text)
    assert "Nothing was registered." not in text_of(page.text)
    db.session.rollback()
    assert not db.session.scalars(select(Platform).where(Platform.issuer == platform.base_url)).all()


def test_registration_endpoint_that_does_not_answer_is_explained(app, agent, fake_platforms):
    platform = fake_platforms(edit=_set("registration_endpoint", "http://127.0.0.1:1/register"))
    page = register_and_finish(agent, platform)
    assert page.status_code == 400
    assert "<code>registration_unreachable</code>" in page.text
    text = text_of(page.text)
    assert "The platform did not answer the registration in time." in text
    assert AFTER_ACCEPTANCE in text  # a slow platform may have stored it all the same


@pytest.mark.parametrize("how", ["unknown", "already-finished"])
def test_expired_registration_is_explained(app, agent, fake_platforms, how):
    if how == "unknown":
        pending_id = "no-such-registration"
    else:
        platform = fake_platforms()
        page, pending_id = register(agent, platform.base_url + "/mod/lti/openid-configuration.php")
        assert finish(agent, pending_id).status_code == 200
    page = finish(agent, pending_id)
    assert page.status_code == 400
    assert "<code>registration_expired</code>" in page.text
    assert "The registration took too long or was already finished." in text_of(page.text)


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
    start = registration_start(tools.text)
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
    activate_in_lms(admin, platform.client_id)
    learner = live.agent()
    learner.sign_in("jonas")
    refused = learner.follow_forms(learner.get("/demo-lms/courses/vejle-int/initiate",
                                               params={"link_id": "rl-nyankomne", "client_id": platform.client_id}))
    assert refused.status_code == 403 and "inactive_platform" in refused.text

    change_status(db.session, platform.id, "approve")  # the operator's approval
    launched = learner.follow_forms(learner.get("/demo-lms/courses/vejle-int/initiate",
                                                params={"link_id": "rl-nyankomne", "client_id": platform.client_id}))
    assert launched.status_code == 200 and "/c/" in launched.url


def test_a_double_click_on_confirm_registers_the_tool_once(app, agent, fake_platforms, monkeypatch):
    """The second submit, while the first is still with the platform, is told so and posts nothing."""
    from concurrent.futures import ThreadPoolExecutor

    # The platform holds its answer until the second click has been answered: however long a busy
    # machine takes for that, the tool must still be waiting for the platform.
    monkeypatch.setitem(app.config, "HTTP_TIMEOUT", (2.0, 60.0))

    with_platform, answer = threading.Event(), threading.Event()

    def slowly(body: dict) -> dict:
        # The platform is slow to answer (until the test lets it, at most a minute): the admin clicks again.
        with_platform.set()
        answer.wait(60)
        return {**body, "client_id": platform.client_id, TOOL_CONFIGURATION: dict(body[TOOL_CONFIGURATION])}

    platform = fake_platforms("moodle-openid-configuration.json", answer=slowly)
    _, pending_id = register(agent, platform.base_url + "/openid-configuration")

    def confirm():
        return agent.post("/lti/register", {"pending_id": pending_id})

    with ThreadPoolExecutor(1) as pool:
        first_click = pool.submit(confirm)
        assert with_platform.wait(60), "the first confirmation never reached the platform"
        second = confirm()  # while the first is still with the platform
        answer.set()
        first = first_click.result(timeout=120)

    assert first.status_code == 200, first.text
    assert second.status_code == 400 and "registration_in_progress" in second.text
    assert len(platform.posted) == 1
    assert len(platform.stored()) == 1
