"""Calls the protocol makes while a person waits get about 2 s, then a clear answer (issue 13 point 4).

Dynamic registration reads the platform's configuration and posts the registration while an
administrator watches; a launch with an unknown key id fetches the platform's JWKS while a learner
waits. Each test stalls that call on a platform it controls and checks the answer, the error named
and the timeout the tool used (from its log line), never how long anything took.
"""

from __future__ import annotations

import logging
import threading

from lti_tool.lti.http import budget_text, person_waiting
from tests.integration.test_external_platform import launch
from tests.integration.test_registration import AFTER_ACCEPTANCE, fake_platforms, register, register_and_finish
from tests.support.agent import text_of
from tests.support.external_platform import ExternalPlatform

__all__ = ["fake_platforms"]  # the fixture, used here as test_registration defines it


def the_budget(app) -> str:
    """The person-waiting timeout as the logs name it: the tests' HTTP_TIMEOUT (2 s, 2 s), capped."""
    budget = budget_text(person_waiting(app.config["HTTP_TIMEOUT"]))
    assert budget == "connect 1 s, answer 2 s"  # below the general timeout: the cap is what is tested
    return budget


def logged(caplog, *parts: str) -> bool:
    return any(all(part in record.getMessage() for part in parts) for record in caplog.records)


def test_a_configuration_that_does_not_come_in_time_is_explained(app, agent, fake_platforms, caplog):
    released = threading.Event()
    platform = fake_platforms(edit=lambda config: None if released.wait(60) else None)
    try:
        with caplog.at_level(logging.WARNING, logger="lti_tool"):
            page, pending_id = register(agent, platform.base_url + "/mod/lti/openid-configuration.php")
    finally:
        released.set()
    assert page.status_code == 503 and page.headers["Retry-After"] == "30"
    assert pending_id is None
    assert "<code>registration_timeout</code>" in page.text
    assert "The platform did not send its configuration within 2 seconds." in text_of(page.text)
    assert logged(caplog, "registration_timeout", f"timed out ({the_budget(app)})")


def test_a_registration_that_is_not_answered_in_time_is_explained(app, agent, fake_platforms, caplog):
    released = threading.Event()
    platform = fake_platforms(answer=lambda body: {"client_id": "late"} if released.wait(60) else {})
    try:
        with caplog.at_level(logging.WARNING, logger="lti_tool"):
            page = register_and_finish(agent, platform)
    finally:
        released.set()
    assert page.status_code == 503
    assert "<code>registration_timeout</code>" in page.text
    text = text_of(page.text)
    assert "The platform did not answer the registration within 2 seconds." in text
    assert AFTER_ACCEPTANCE in text  # it may have stored the registration all the same
    assert logged(caplog, "registration_timeout", "POST ", f"timed out ({the_budget(app)})")
    assert platform.stored() == []


def test_a_platform_jwks_that_does_not_come_in_time_is_explained(app, live, runner, caplog):
    platform = ExternalPlatform()
    platform.slow_seconds = 6  # past the 2 s budget (the platform's thread sleeps, nobody waits for it)
    try:
        result = runner.invoke(args=platform.cli_args(jwks_path="/jwks-slow"))
        assert result.exit_code == 0, result.output
        with caplog.at_level(logging.WARNING, logger="lti_tool"):
            response, _, _ = launch(live.agent(), platform)
    finally:
        platform.close()
    assert response.status_code == 502
    assert "platform_unavailable" in response.text
    assert "Læringsplatformen svarede ikke i tide." in text_of(response.text)
    assert logged(caplog, "platform_unavailable", f"timed out ({the_budget(app)})")
