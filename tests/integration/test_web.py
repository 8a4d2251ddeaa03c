"""Cookies behind a proxy, security headers, and bad requests that must not become 500s."""

from __future__ import annotations

from flask import render_template_string
from flask_babel import gettext
from sqlalchemy import event

from lti_tool.demo_lms.tool_side import register_demo_lms
from lti_tool.extensions import db
from lti_tool.text import origin
from lti_tool.web import current_language, set_locale
from tests.support.records import seed_platform


def _login_behind_proxy(make_app, *, proxy_fix: bool):
    app = make_app(PROXY_FIX=proxy_fix, TOOL_BASE_URL="https://tool.example")
    with app.app_context():
        register_demo_lms("https://lms.example")
    return app.test_client().get("/lti/login", query_string={
        "iss": "https://lms.example/demo-lms", "login_hint": "jonas",
        "target_link_uri": "https://tool.example/lti/launch", "client_id": "integrationsloeft-demo"},
        base_url="http://tool.example", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "tool.example"})


def test_state_cookie_is_secure_and_cross_site_behind_tls_proxy(make_app):
    response = _login_behind_proxy(make_app, proxy_fix=True)

    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "SameSite=None" in cookie and "HttpOnly" in cookie and "Partitioned" in cookie


def test_forwarded_headers_are_ignored_without_proxy_fix(make_app):
    """Without PROXY_FIX a client cannot claim TLS it does not have by sending X-Forwarded-Proto."""
    response = _login_behind_proxy(make_app, proxy_fix=False)

    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie and "Secure" not in cookie and "SameSite=None" not in cookie


def test_state_cookie_on_loopback_has_production_attributes(agent):
    """Browsers treat http://127.0.0.1 and http://localhost as secure contexts: the demo and the
    tests get the cookie a real installation sends over https, so framed flows cross sites alike."""
    response = agent.get("/lti/login", params={"iss": agent.lms_url + "/demo-lms", "login_hint": "jonas",
                                                "target_link_uri": agent.base_url + "/lti/launch",
                                                "client_id": "integrationsloeft-demo"}, allow_redirects=False)
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lti1p3-") and "HttpOnly" in cookie
    assert "Secure" in cookie and "SameSite=None" in cookie and "Partitioned" in cookie


def test_state_cookie_over_plain_http_elsewhere_is_lax(make_app):
    """Plain http on any other host is no secure context: a browser refuses SameSite=None without
    Secure, so the cookie is Lax there."""
    response = _login_behind_proxy(make_app, proxy_fix=False)
    cookie = response.headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie and "Secure" not in cookie and "Partitioned" not in cookie


def test_security_headers(agent):
    response = agent.get("/lti/register")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    home = agent.get("/c/unknown/")  # a page of the tool's own: only registered platforms frame it
    assert "frame-ancestors 'self' " in home.headers["Content-Security-Policy"]
    assert agent.lms_url in home.headers["Content-Security-Policy"]


def test_get_on_launch_endpoint_is_a_clean_405(agent):
    response = agent.get("/lti/launch")
    assert response.status_code == 405
    assert "Traceback" not in response.text


def test_unknown_page_is_a_localised_404(agent):
    response = agent.get("/no/such/page", headers={"Accept-Language": "sv-SE,sv;q=0.9"})
    assert response.status_code == 404
    assert '<html lang="sv">' in response.text


def test_every_template_is_compiled_by_the_first_request(make_app):
    """Compiled once, before concurrent requests could compile two at a time (CPython gh-106905)."""
    app = make_app()
    names = set(app.jinja_env.list_templates(extensions=["html"]))
    assert len(names) > 30
    assert app.test_client().get("/healthz").status_code == 200
    cached = {template.name for template in app.jinja_env.cache.values()}
    assert names <= cached


def frame_ancestors(response) -> str:
    return response.headers["Content-Security-Policy"].split("frame-ancestors", 1)[1].split(";")[0].strip()


def test_pages_a_platform_opens_before_it_is_known_or_active_may_be_framed(agent):
    """Moodle frames dynamic registration in its admin page before the tool knows it, and an LMS
    shows a launch's error page in its frame: refusing the frame would show "refused to connect"
    instead of the page that says what is wrong."""
    opened_early = {
        "registration instructions": agent.get("/lti/register"),
        "registration, configuration unreachable": agent.get("/lti/register", params={
            "openid_configuration": "http://127.0.0.1:9/openid-configuration", "registration_token": "t"}),
        "registration confirmed with a spent id": agent.post("/lti/register", {"pending_id": "spent"}),
        "login from an unknown platform": agent.get("/lti/login", params={
            "iss": "https://unknown.example", "login_hint": "x", "client_id": "x",
            "target_link_uri": agent.base_url + "/lti/launch"}),
        "launch that is not valid": agent.post("/lti/launch", {"id_token": "not-a-jwt", "state": "x"}),
    }
    for what, response in opened_early.items():
        assert response.headers["Content-Type"].startswith("text/html"), what
        assert frame_ancestors(response) == "*", (what, response.status_code)
    own_page = agent.get("/c/unknown/")  # the tool's own pages: registered platforms only
    assert frame_ancestors(own_page).startswith("'self'")


def test_a_launch_page_is_framed_by_its_own_platform_and_no_other(app, agent):
    """A launch's pages name the platform that launched it; a page no launch owns names every
    registered platform (Moodle frames registration and error pages before any launch)."""
    other = seed_platform(db.session)
    home = agent.launch("jonas", "vejle-int", "rl-nyankomne")
    assert home.ok, home.status_code

    for page in (home, agent.get(home.url)):  # the launch's answer, and a later page
        ancestors = frame_ancestors(page).split()
        assert ancestors[0] == "'self'" and origin(agent.lms_url) in ancestors
        assert origin(other.issuer) not in ancestors
    assert origin(other.issuer) in frame_ancestors(agent.get("/c/unknown/")).split()


def test_a_successful_request_ends_its_read_with_commit_a_failed_one_with_rollback(db_app):
    # psycopg forgets its prepared statements at a ROLLBACK, and PostgreSQL would plan every
    # query of the next request again; a request that failed may hold half a change.
    ends: list[str] = []
    listeners = {"commit": lambda _conn: ends.append("commit"), "rollback": lambda _conn: ends.append("rollback")}
    with db_app.app_context():
        engine = db.engine
    for name, listener in listeners.items():
        event.listen(engine, name, listener)
    try:
        client = db_app.test_client()
        assert client.get("/verify/ABCD-EFGH-JKLM").status_code == 404  # looked up, not found
        assert ends == ["rollback"]
        ends.clear()
        page = client.get("/.well-known/jwks.json")  # the tool's keys, read from their table
        assert page.status_code == 200
        assert ends == ["commit"]
    finally:
        for name, listener in listeners.items():
            event.remove(engine, name, listener)


def test_a_locale_set_late_in_a_request_is_the_one_its_page_speaks(db_app):
    """set_locale after something of the request was already written (flask-babel keeps the locale it
    chose first): the launch view sets a failed launch's language only when its error page is due."""
    page = "{{ _('Continue where you left off') }}"
    with db_app.test_request_context("/", headers={"Accept-Language": "da"}):
        assert current_language() == "da" and render_template_string(page) == "Fortsæt, hvor du slap"
        set_locale("sv-SE")
        assert current_language() == "sv"
        assert render_template_string(page) == "Fortsätt där du slutade"
        assert str(gettext("Continue where you left off")) == "Fortsätt där du slutade"
