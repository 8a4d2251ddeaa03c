"""What keeps a launch cheap must not make it wrong.

- Platform registrations are kept per process for PLATFORM_CACHE_SECONDS: a change made through
  this process applies at once, one made by another instance within that time.
- The strict base64url check is PyJWT's, only faster: the same tokens are refused.
"""

from __future__ import annotations

import jwt
import pytest
from jwt.api_jws import PyJWS
from sqlalchemy import select, text

from lti_tool.demo_lms import platform as demo
from lti_tool.extensions import db
from lti_tool.lti.launch import JWT_DECODER
from lti_tool.lti.toolconf import REGISTRATIONS
from lti_tool.models import Platform
from lti_tool.operating.platforms import change_status
from tests.support.crafting import demo_login
from tests.support.waiting import wait_for


def _demo_platform_id(app) -> int:
    issuer = app.config["DEMO_LMS_URL"] + "/demo-lms"
    return db.session.scalars(select(Platform.id).where(Platform.issuer == issuer,
                                                        Platform.client_id == demo.CLIENT_ID)).one()


def _login_status(agent) -> int:
    try:
        demo_login(agent)
    except AssertionError:
        return 400
    return 302


def test_a_platform_disabled_here_is_refused_at_once(app, agent):
    platform_id = _demo_platform_id(app)
    assert _login_status(agent) == 302  # the registration is now in this process's cache
    try:
        change_status(db.session, platform_id, "disable")
        assert _login_status(agent) == 400
    finally:
        change_status(db.session, platform_id, "enable")
    assert _login_status(agent) == 302


def test_a_platform_disabled_by_another_instance_is_refused_within_the_cache_time(app, agent, monkeypatch):
    # Long enough that the check right after the change is within it even on a busy machine.
    monkeypatch.setitem(app.config, "PLATFORM_CACHE_SECONDS", 3.0)
    platform_id = _demo_platform_id(app)
    REGISTRATIONS.clear()
    assert _login_status(agent) == 302

    def set_status(status: str) -> None:
        # Straight through a connection, as another instance's commit looks from here.
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE platforms SET status = :s WHERE id = :id"),
                               {"s": status, "id": platform_id})

    try:
        set_status("disabled")
        assert _login_status(agent) == 302  # still the cached registration
        wait_for(lambda: _login_status(agent) == 400, what="the 3 s platform cache to run out", limit=60)
    finally:
        set_status("active")
        REGISTRATIONS.clear()
    assert _login_status(agent) == 302


@pytest.mark.parametrize(("segment", "expected"), [
    ("eyJzdWIiOiIxIn0", "accepted"),
    ("YQ", "accepted"),
    ("YQ==", "accepted"),    # the padding some issuers send
    ("c2ln!", "refused"),    # a character outside the alphabet
    ("c2l+", "refused"),     # base64, not base64url
    ("YQ===", "refused"),    # three '='
    ("YWJj=", "refused"),    # '=' the length does not need
    ("YR", "refused"),       # not the canonical encoding of its byte
    ("c", "refused"),        # a length no base64 has
])
def test_the_fast_base64url_check_decides_as_pyjwt_does(segment, expected):
    def outcome(decode):
        try:
            decode(segment.encode(), "payload")
            return "accepted"
        except jwt.DecodeError:
            return "refused"

    assert outcome(JWT_DECODER._jws._decode_base64url_segment) == expected
    assert outcome(PyJWS._decode_base64url_segment) == expected
