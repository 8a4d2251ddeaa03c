"""Cookies behind a proxy, security headers, and bad requests that must not become 500s."""

from __future__ import annotations

from tests.support.crafting import demo_login


def test_state_cookie_is_secure_and_cross_site_behind_tls_proxy(make_app):
    app = make_app(PROXY_FIX=True, TOOL_BASE_URL="https://tool.example")
    from lti_tool.demo_lms.cli import setup_demo
    from lti_tool.extensions import db  # noqa: F401

    with app.app_context():
        setup_demo("https://tool.example", app.config["SECRET_KEY"])
    client = app.test_client()
    response = client.get("/lti/login", query_string={
        "iss": "https://tool.example/demo-lms", "login_hint": "jonas",
        "target_link_uri": "https://tool.example/lti/launch", "client_id": "integrationsloeft-demo"},
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "tool.example"})

    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "SameSite=None" in cookie and "HttpOnly" in cookie and "Partitioned" in cookie


def test_state_cookie_over_plain_http_is_lax(agent):
    demo_login(agent)
    assert any(c.name.startswith("lti1p3-") for c in agent.http.cookies)


def test_security_headers(agent):
    response = agent.get("/demo-lms/")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_get_on_launch_endpoint_is_a_clean_405(agent):
    response = agent.get("/lti/launch")
    assert response.status_code == 405
    assert "Traceback" not in response.text


def test_unknown_page_is_a_localised_404(agent):
    response = agent.get("/no/such/page", headers={"Accept-Language": "sv-SE,sv;q=0.9"})
    assert response.status_code == 404
    assert '<html lang="sv">' in response.text
