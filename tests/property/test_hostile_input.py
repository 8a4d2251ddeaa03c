"""Arbitrary and malformed input never produces a 500 (hypothesis)."""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lti_tool.content.loader import load_catalog
from lti_tool.lti import claims
from lti_tool.lti.registration import RegistrationFailed, parse_configuration
from tests.support.crafting import crafted_launch
from tests.support.learner import csrf_of

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ROOT = Path(__file__).resolve().parents[2]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


jwt_like = st.builds(
    lambda header, body, sig: ".".join([b64(json.dumps(header).encode()), b64(json.dumps(body).encode()), b64(sig)]),
    st.dictionaries(st.sampled_from(["alg", "kid", "typ", "x"]), json_values, max_size=4),
    st.dictionaries(st.sampled_from(["iss", "aud", "sub", "nonce", "exp", "iat", "azp",
                                     "https://purl.imsglobal.org/spec/lti/claim/message_type",
                                     "https://purl.imsglobal.org/spec/lti/claim/deployment_id"]),
                    json_values, max_size=9),
    st.binary(max_size=64),
)


@SETTINGS
@given(token=st.one_of(st.text(max_size=300), jwt_like), state=st.text(max_size=80))
def test_launch_endpoint_never_500(live, token, state):
    client = live.app.test_client()
    response = client.post("/lti/launch", data={"id_token": token, "state": state})
    assert response.status_code < 500, response.get_data(as_text=True)[:300]


@SETTINGS
@given(params=st.dictionaries(st.sampled_from(["iss", "login_hint", "target_link_uri", "client_id",
                                               "lti_message_hint", "lti_deployment_id"]),
                              st.text(max_size=80), max_size=6))
def test_login_endpoint_never_500(live, params):
    response = live.app.test_client().get("/lti/login", query_string=params)
    assert response.status_code < 500


@SETTINGS
@given(token=st.one_of(st.text(max_size=200), jwt_like))
def test_deep_linking_return_never_500(live, token):
    response = live.app.test_client().post("/demo-lms/courses/vejle-int/deep-link-return", data={"JWT": token})
    assert response.status_code < 500


@SETTINGS
@given(config_url=st.text(max_size=100), token=st.text(max_size=40))
def test_registration_endpoint_never_500(live, config_url, token):
    response = live.app.test_client().get("/lti/register", query_string={"openid_configuration": config_url,
                                                                         "registration_token": token})
    assert response.status_code < 500


@SETTINGS
@given(pending=st.text(max_size=60))
def test_registration_finish_never_500(live, pending):
    assert live.app.test_client().post("/lti/register", data={"pending_id": pending}).status_code < 500


@settings(max_examples=200, deadline=None)
@given(data=json_values)
def test_platform_configuration_parser_only_refuses_cleanly(data):
    with contextlib.suppress(RegistrationFailed):
        parse_configuration("https://lms.example/config", data)


@SETTINGS
@given(text=st.text(max_size=400))
def test_content_loader_never_raises(tmp_path_factory, text):
    root = tmp_path_factory.mktemp("pack")
    shutil.copytree(ROOT / "content" / "fast-track", root / "fast-track")
    quiz = next((root / "fast-track" / "running-the-course").glob("quiz-*.yaml"))
    quiz.write_text(text, encoding="utf-8")
    catalog = load_catalog(root)
    assert "fast-track" in catalog.rejected or "fast-track" in catalog.programmes


@SETTINGS
@given(doc=json_values)
def test_content_loader_handles_any_yaml_shape(tmp_path_factory, doc):
    import yaml

    root = tmp_path_factory.mktemp("pack")
    shutil.copytree(ROOT / "content" / "fast-track", root / "fast-track")
    (root / "fast-track" / "programme.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    catalog = load_catalog(root)
    assert catalog.rejected == ["fast-track"] or catalog.programmes


LAUNCH_CLAIMS = [claims.RESOURCE_LINK, claims.CONTEXT, claims.CUSTOM, claims.LAUNCH_PRESENTATION, claims.ROLES,
                 claims.AGS_ENDPOINT, claims.NRPS_SERVICE, claims.LIS, claims.TOOL_PLATFORM, "name", "given_name",
                 "family_name", "email", "sub", claims.TARGET_LINK_URI, claims.DEPLOYMENT_ID]
NESTED = [(claims.RESOURCE_LINK, "id"), (claims.RESOURCE_LINK, "title"), (claims.CONTEXT, "id"),
          (claims.CONTEXT, "title"), (claims.LAUNCH_PRESENTATION, "locale"), (claims.AGS_ENDPOINT, "lineitem"),
          (claims.AGS_ENDPOINT, "scope"), (claims.NRPS_SERVICE, "context_memberships_url"), (claims.CUSTOM, "module")]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(top=st.dictionaries(st.sampled_from(LAUNCH_CLAIMS), json_values, max_size=3),
       nested=st.dictionaries(st.sampled_from(NESTED), json_values, max_size=3))
def test_signed_launch_with_odd_claims_never_500(app, agent, top, nested):
    """Correctly signed, for this very login, but with claims of any shape: a 4xx or a working page."""
    def mutate(body):
        for (claim, key), value in nested.items():
            if isinstance(body.get(claim), dict):
                body[claim][key] = value
        body.update(top)

    response = crafted_launch(app, agent, mutate)
    assert response.status_code < 500, response.text[:300]
    if response.status_code in (302, 303) or response.headers.get("Content-Location"):
        landing = agent.get(response.headers.get("Location") or response.headers["Content-Location"])
        assert landing.status_code < 500, landing.text[:300]


form_values = st.lists(st.text(max_size=30) | st.sampled_from(["a", "b", "1", "-1", "1e309", "nan", "", "x" * 300,
                                                              "nul\x00", "[" * 3000]), max_size=3)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=st.dictionaries(st.text(max_size=12) | st.sampled_from(["text", "csrf_token", "q-1", "p-1", "o"]),
                              form_values, max_size=5),
       kind=st.sampled_from(["quiz", "matching", "reflection", "action_plan"]),
       draft=st.booleans(), params=st.dictionaries(st.sampled_from(["retake", "saved", "error"]), st.text(max_size=8)))
def test_learner_answer_forms_never_500(live, fields, kind, draft, params):
    """Any form a browser (or anyone with a launch URL) can post to an exercise: a 4xx or a page."""
    home, module = _learner_home(live)
    activity = next(a for a in module.activities if a.type == kind)
    url = f"{home}m/{module.id}/a/{activity.id}" + ("/draft" if draft else "")
    form = {k: v for k, v in fields.items()}
    form.setdefault("csrf_token", [_csrf(live, home, module, activity)])
    response = live.agent().http.post(url, data=form, params=params, allow_redirects=True, timeout=30)
    assert response.status_code < 500, response.text[:300]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(points=st.dictionaries(st.text(max_size=10), st.text(max_size=12), max_size=4),
       feedback=st.text(max_size=200), submission=st.integers(min_value=-5, max_value=10**20))
def test_instructor_grading_form_never_500(live, points, feedback, submission):
    board = _instructor_board(live)
    response = live.agent().http.post(f"{board}grading/{submission}",
                                      data={**points, "feedback": feedback}, timeout=30)
    assert response.status_code < 500, response.text[:300]


_cache: dict[str, Any] = {}


def _learner_home(live):
    key = f"learner-{live.backend}"
    if key not in _cache:
        home = live.agent().launch("stor-kursus-l0777", "stor-kursus", "rl-stor").url
        with live.app.app_context():
            module = live.app.extensions["integrationsloeft"].catalog().module("nyankomne")
        _cache[key] = (home, module)
    return _cache[key]


def _csrf(live, home, module, activity):
    page = live.agent().get(f"{home}m/{module.id}/a/{activity.id}")
    return csrf_of(page.text)


def _instructor_board(live):
    key = f"instructor-{live.backend}"
    if key not in _cache:
        _cache[key] = live.agent().launch("hanne", "stor-kursus", "rl-stor").url
    return _cache[key]


@SETTINGS
@given(fields=st.dictionaries(st.sampled_from(["pending", "registration", "csrf_token", "locale", "id", "x"]),
                              st.text(max_size=60), max_size=4))
def test_registration_confirmation_never_500(live, fields):
    response = live.agent().http.post(live.base_url + "/lti/register", data=fields, timeout=30)
    assert response.status_code < 500, response.text[:300]


@SETTINGS
@given(form=st.dictionaries(st.sampled_from(["user_id", "client_assertion", "grant_type", "scope",
                                             "client_assertion_type", "JWT", "state", "nonce"]),
                            st.text(max_size=60) | jwt_like, max_size=5),
       endpoint=st.sampled_from(["/demo-lms/sign-in", "/demo-lms/token", "/demo-lms/auth",
                                 "/demo-lms/register", "/demo-lms/api/courses/vejle-int/lineitems/1/scores"]))
def test_demo_lms_endpoints_never_500(live, form, endpoint):
    """The demo LMS is a real platform in the demo: its own endpoints refuse bad input cleanly too."""
    response = live.app.test_client().post(endpoint, data=form)
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
