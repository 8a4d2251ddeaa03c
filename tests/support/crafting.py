"""Crafting id_tokens as the demo LMS would, then altering them, for the refusal tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from flask import Flask
from flask_babel import force_locale

from lti_tool.demo_lms import platform as demo
from lti_tool.demo_lms.database import lms_db
from lti_tool.demo_lms.services import services
from lti_tool.lti import claims
from tests.support.agent import Agent, LoginStep
from tests.support.lms import LMS_APP


def demo_login(agent: Agent, *, user: str = "jonas", client_id: str | None = demo.CLIENT_ID,
               iss: str | None = None) -> LoginStep:
    params = {
        "iss": iss or agent.lms_url + "/demo-lms",
        "login_hint": user,
        "target_link_uri": agent.base_url + "/lti/launch",
        "lti_deployment_id": demo.DEPLOYMENT_ID,
    }
    if client_id:
        params["client_id"] = client_id
    return agent.start_login(params)


def demo_claims(app: Flask, nonce: str, *, user: str = "jonas", course: str = "vejle-int",
                link: str | None = "rl-nyankomne", message_type: str = claims.MSG_RESOURCE_LINK) -> dict[str, Any]:
    with app.extensions[LMS_APP].app_context():
        reg = demo.registration(lms_db.session())
        assert reg is not None
        hint = {"u": user, "c": course, "l": link, "m": message_type, "t": "iframe"}
        return demo.launch_claims(lms_db.session(), reg, hint, nonce=nonce, urls=services().urls)


def demo_sign(app: Flask, body: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
    with app.extensions[LMS_APP].app_context():
        return demo.signing_key(lms_db.session(), services().secret).sign(body, headers)


def crafted_launch(app: Flask, agent: Agent, mutate: Callable[[dict[str, Any]], None] | None = None,
                   **claim_options: Any) -> requests.Response:
    """Log in at the tool, build the demo LMS's id_token for that login, alter it, post it."""
    step = demo_login(agent)
    body = demo_claims(app, step.nonce, **claim_options)
    if mutate:
        mutate(body)
    return agent.post_launch(demo_sign(app, body), step.state)


def message_in(app: Flask, error_cls: type, locale: str = "da") -> str:
    """The user-facing message of an error class in a locale, as the page shows it."""
    with app.test_request_context(), force_locale(locale):
        return str(error_cls.message)
