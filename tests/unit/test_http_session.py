"""The outbound HTTP session reads the environment (proxy, CA bundle) once, when it is made."""

from __future__ import annotations

import pytest

from lti_tool.lti.http import TimeoutSession

_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in _NAMES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def _settings(session: TimeoutSession, url: str) -> dict[str, object]:
    # What requests will send with: Session.request merges exactly this.
    return dict(session.merge_environment_settings(url, {}, None, None, None))


def test_the_proxy_and_ca_bundle_of_the_environment_apply(clean_environment: pytest.MonkeyPatch) -> None:
    clean_environment.setenv("HTTPS_PROXY", "http://proxy.kommune.example:3128")
    clean_environment.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/kommune-ca.pem")

    settings = _settings(TimeoutSession((1, 1)), "https://moodle.kommune.example/mod/lti/token.php")

    assert settings["proxies"] == {"https": "http://proxy.kommune.example:3128"}
    assert settings["verify"] == "/etc/ssl/kommune-ca.pem"


def test_the_environment_is_read_when_the_session_is_made(clean_environment: pytest.MonkeyPatch) -> None:
    session = TimeoutSession((1, 1))
    clean_environment.setenv("HTTPS_PROXY", "http://later.example:3128")

    settings = _settings(session, "https://moodle.kommune.example/")

    assert settings["proxies"] == {}
    assert settings["verify"] is True


def test_no_proxy_keeps_requests_reading_the_environment(clean_environment: pytest.MonkeyPatch) -> None:
    clean_environment.setenv("HTTPS_PROXY", "http://proxy.kommune.example:3128")
    clean_environment.setenv("NO_PROXY", "intranet.kommune.example")
    session = TimeoutSession((1, 1))

    assert "https" not in _settings(session, "https://moodle.intranet.kommune.example/")["proxies"]  # type: ignore[operator]
    assert _settings(session, "https://canvas.example/")["proxies"]["https"] == (  # type: ignore[index]
        "http://proxy.kommune.example:3128")
