"""A platform that is not part of this project, registered with `flask platforms add`."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from lti_tool.lti import claims
from tests.support.agent import autosubmit_form, landing_url, text_of
from tests.support.learner import csrf_of
from tests.support.roster import refresh_rosters


def launch(agent, external, *, role="Learner", mutate=None, sign=None, sub="u-1", deep_linking=False):
    step = agent.start_login(external.login_params(agent.base_url, user=sub))
    assert step.auth_url == external.base_url + "/auth"
    body = external.claims(step.nonce, agent.base_url, role=role, sub=sub, deep_linking=deep_linking)
    if mutate:
        mutate(body)
    token = (sign or external.sign)(body)
    return agent.post_launch(token, step.state), token, step


@pytest.mark.parametrize(("role", "home"), [("Learner", "/"), ("Instructor", "/instructor/")])
def test_external_platform_launches(agent, external, role, home):
    response, _, _ = launch(agent, external, role=role)

    assert landing_url(response).endswith(home)
    page = agent.get(landing_url(response))
    assert page.status_code == 200
    assert "Ext Bruger" in text_of(page.text)


def test_external_platform_forged_expired_replayed_misaddressed(agent, external):
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged, _, _ = launch(agent, external, sign=lambda b: external.sign(b, key=forger))
    expired, _, _ = launch(agent, external,
                           mutate=lambda b: b.update(exp=int(time.time()) - 120, iat=int(time.time()) - 600))
    misaddressed, _, _ = launch(agent, external, mutate=lambda b: b.update(aud="another-tool"))
    accepted, token, step = launch(agent, external)
    replayed = agent.post_launch(token, step.state)

    assert landing_url(accepted)
    for response in (forged, expired, misaddressed, replayed):
        assert 400 <= response.status_code < 500
        assert "Traceback" not in response.text


def test_platform_key_rotation_refetches_once(agent, external):
    assert landing_url(launch(agent, external)[0])
    hits = external.jwks_hits
    assert landing_url(launch(agent, external)[0])
    assert external.jwks_hits == hits  # cached

    external.rotate()
    assert landing_url(launch(agent, external)[0])
    assert external.jwks_hits == hits + 1  # one refetch for the unknown kid
    assert landing_url(launch(agent, external)[0])
    assert external.jwks_hits == hits + 1


def test_unknown_kid_refetches_but_still_refuses(agent, external):
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response, _, _ = launch(agent, external, sign=lambda b: external.sign(b, key=forger, kid="made-up"))

    assert response.status_code == 400
    assert "unknown_kid" in response.text


def test_slow_platform_jwks_times_out_cleanly(live, make_app):
    from tests.conftest import free_port, start_live
    from tests.support.external_platform import ExternalPlatform

    platform = ExternalPlatform()
    platform.slow_seconds = 60  # a safety net: the platform answers when the test lets it
    port = free_port()
    app = make_app(TOOL_BASE_URL=f"http://127.0.0.1:{port}", HTTP_TIMEOUT=(0.5, 0.5))
    server = start_live(app, port, "embedded")
    try:
        result = app.test_cli_runner().invoke(args=platform.cli_args(jwks_path="/jwks-slow"))
        assert result.exit_code == 0, result.output
        agent = server.agent()
        response, _, _ = launch(agent, platform)
        # The tool gave up on its own (its 0.5 s timeout) while the platform still held its
        # answer, and said so: what it does, not how fast a busy machine let it do it.
        assert platform.held == 1
        assert response.status_code == 502
        assert "platform_unavailable" in response.text
    finally:
        platform.answer_slow.set()
        server.server.shutdown()
        platform.close()


def test_scores_reach_an_external_platform_over_its_own_tokens(app, agent, external, fresh_learner):
    from lti_tool.extensions import db
    from lti_tool.runtime import runtime
    from tests.integration.test_learning import catalog
    from tests.support.learner import correct_answer, submit

    external.tool_jwks_url = agent.base_url + "/.well-known/jwks.json"
    response, _, _ = launch(agent, external, sub=fresh_learner)
    home = agent.get(landing_url(response))
    module = catalog(app).module("nyankomne")
    quiz = next(a for a in module.activities if a.type == "quiz")
    submit(agent, home.url, module, quiz, correct_answer(quiz))

    db.session.rollback()
    for _ in range(3):
        runtime().deliver_scores(db.session)
    assert external.scores, "the score was not delivered"
    score = external.scores[-1]
    assert score["userId"] == fresh_learner
    assert score["activityProgress"] == "InProgress" and score["gradingProgress"] == "Pending"
    assert score["timestamp"].endswith("Z")


def test_deep_linking_with_an_external_platform(agent, external):
    """The platform's own check of the tool's answer: signed with a key from the tool's JWKS."""
    external.tool_jwks_url = agent.base_url + "/.well-known/jwks.json"
    response, token, _ = launch(agent, external, role="Instructor", deep_linking=True)
    assert response.status_code == 303 and response.headers["Location"].endswith("/instructor/deep-link")
    page = agent.get(response.headers["Location"])

    answer = agent.post(page.url, {"csrf_token": csrf_of(page.text), "item": ["module:unge", "programme:change"]})
    action, fields = autosubmit_form(answer.text)

    assert action == external.base_url + "/deep-link-return"
    body = external.verify_tool_message(fields["JWT"])
    sent = jwt.decode(token, options={"verify_signature": False})
    assert body[claims.MESSAGE_TYPE] == claims.MSG_DEEP_LINKING_RESPONSE
    assert body[claims.DEPLOYMENT_ID] == external.deployment_id
    assert body[claims.DL_DATA] == sent[claims.DL_SETTINGS]["data"]
    items = body[claims.DL_CONTENT_ITEMS]
    assert [(i["custom"], i["lineItem"]["resourceId"]) for i in items] == [
        ({"module": "unge"}, "unge"), ({"programme": "change"}, "change")]


def test_instructor_dashboard_reads_the_external_roster(app, agent, external):
    external.tool_jwks_url = agent.base_url + "/.well-known/jwks.json"
    tag = uuid.uuid4().hex[:6]
    external.members = [
        {"user_id": f"ext-{tag}-{n}", "name": f"Medarbejder {tag} {n}", "roles": [claims.ROLE_PREFIX_CONTEXT + role],
         "status": "Active"}
        for n, role in enumerate(["Instructor", "Learner", "Learner", "Learner", "Learner"])]

    response, _, _ = launch(agent, external, role="Instructor", sub=f"ext-{tag}-0")
    agent.get(landing_url(response))  # asks the worker for the roster
    refresh_rosters()
    board = text_of(agent.get(landing_url(response)).text)

    # Three pages of two, over the platform's own access token: every learner, none opened it.
    for n in range(1, 5):
        assert f"Medarbejder {tag} {n}" in board
    assert board.count("har ikke åbnet aktiviteten") >= 4


def test_the_lms_page_the_launch_came_from_may_frame_the_tool(agent, external):
    """Canvas shows the tool on the customer's own domain, which is neither its issuer nor its
    OIDC host: the signed launch's return_url names that page, and its origin may frame the tool."""
    def from_canvas_page(body):
        body[claims.LAUNCH_PRESENTATION]["return_url"] = "https://kommune.instructure.example/courses/7/modules"

    response, _, _ = launch(agent, external, mutate=from_canvas_page)
    framed = response.headers["Content-Security-Policy"]  # the first page answers the launch
    plain, _, _ = launch(agent, external)
    not_framed = agent.get(landing_url(plain)).headers["Content-Security-Policy"]

    ancestors = framed.split("frame-ancestors", 1)[1].split(";")[0].split()
    assert "https://kommune.instructure.example" in ancestors
    assert "https://kommune.instructure.example" not in not_framed
