"""An operator's change to a platform applies on every instance at once.

No instance keeps a platform's registration or the origins that may frame the tool in its own
memory: each login, launch and page reads them from the shared store, where platforms.py, the one
writer, publishes every change right after its commit (else from the database the instances
share). So a platform disabled through one instance stops logging in, launching and framing the
tool on every other one at the next request, not when some per-process cache runs out.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from lti_tool.demo_lms import platform as demo
from lti_tool.extensions import db
from lti_tool.models import Platform
from lti_tool.operating.platforms import change_status
from lti_tool.text import origin
from tests.support.agent import Agent
from tests.support.crafting import demo_claims, demo_login, demo_sign

ROOT = Path(__file__).resolve().parents[2]

# What a second instance needs to share this one's database and store.
_SHARED = ("SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_ENGINE_OPTIONS", "REDIS_URL", "REDIS_PREFIX",
           "INSTANCE_PATH", "SECRET_KEY", "TOOL_BASE_URL", "CONTENT_DIR")

_OTHER_INSTANCE = """
import json, sys
from lti_tool import create_app
from lti_tool.extensions import db
from lti_tool.operating.platforms import change_status
app = create_app(json.loads(sys.argv[1]))
with app.app_context():
    change_status(db.session, int(sys.argv[2]), sys.argv[3])
"""


def on_other_instance(app: Flask, platform_id: int, action: str) -> None:
    """`action` on the platform, by the operator of another instance: an app of its own, in a
    process of its own, on the same database and store."""
    settings = {name: app.config[name] for name in _SHARED if name in app.config}
    subprocess.run([sys.executable, "-c", _OTHER_INSTANCE, json.dumps(settings), str(platform_id), action],
                   cwd=ROOT, check=True, capture_output=True, timeout=120)


def _demo_platform_id(agent: Agent) -> int:
    db.session.rollback()
    return db.session.scalars(select(Platform.id).where(Platform.issuer == agent.lms_url + "/demo-lms",
                                                        Platform.client_id == demo.CLIENT_ID)).one()


def _frame_ancestors(agent: Agent) -> list[str]:
    # A page of the tool that no launch owns (a 404): framed by the registered platforms only.
    response = agent.get("/c/no-such-launch/nothing")
    policy = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    return policy["frame-ancestors"].split()


def _login_refusal(agent: Agent) -> tuple[int, str]:
    response = agent.get("/lti/login", allow_redirects=False, params={
        "iss": agent.lms_url + "/demo-lms", "login_hint": "jonas", "client_id": demo.CLIENT_ID,
        "target_link_uri": agent.base_url + "/lti/launch", "lti_deployment_id": demo.DEPLOYMENT_ID})
    return response.status_code, response.text


def test_a_platform_disabled_on_another_instance_stops_at_once_here(app, agent):
    platform_id = _demo_platform_id(agent)
    lms_origin = origin(agent.lms_url)
    # This instance has just logged the learner in and served a page: whatever it could keep, it has.
    step = demo_login(agent)
    assert lms_origin in _frame_ancestors(agent)
    token = demo_sign(app, demo_claims(app, step.nonce))

    on_other_instance(app, platform_id, "disable")
    try:
        launch = agent.post_launch(token, step.state)
        assert launch.status_code == 403 and "inactive_platform" in launch.text
        status, page = _login_refusal(agent)
        assert status == 403 and "inactive_platform" in page
        assert lms_origin not in _frame_ancestors(agent)
    finally:
        change_status(db.session, platform_id, "enable")

    assert lms_origin in _frame_ancestors(agent)
    assert demo_login(agent).state


def test_a_platform_disabled_here_is_refused_at_once(app, agent):
    platform_id = _demo_platform_id(agent)
    assert demo_login(agent).state
    try:
        change_status(db.session, platform_id, "disable")
        assert _login_refusal(agent)[0] == 403
    finally:
        change_status(db.session, platform_id, "enable")
    assert demo_login(agent).state

