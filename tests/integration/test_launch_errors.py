"""Every refused launch: a 4xx page with the reason in the user's language, and a log line."""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from lti_tool import errors
from lti_tool.lti import claims
from lti_tool.web import logged_path
from tests.support.agent import landing_url, text_of
from tests.support.crafting import crafted_launch, demo_claims, demo_login, demo_sign, message_in

OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _drop(*path: str):
    def mutate(body):
        target = body
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]
    return mutate


def _set(name, value):
    def mutate(body):
        body[name] = value
    return mutate


def _seconds_from_now(name, seconds):
    """Set a time claim relative to when the token is made, not to when the module was imported:
    on a busy machine a test can run many minutes after collection."""
    def mutate(body):
        body[name] = int(time.time()) + seconds
    return mutate


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# (case id, mutation of the claims, expected status, expected reason, expected error class)
CLAIM_CASES = [
    ("expired", _seconds_from_now("exp", -600), 400, "expired_token", errors.ExpiredLaunch),
    ("issued-in-future", _seconds_from_now("iat", 600), 400, "token_from_future", errors.ExpiredLaunch),
    ("no-exp", _drop("exp"), 400, "missing_exp", errors.WrongMessage),
    ("no-iat", _drop("iat"), 400, "missing_iat", errors.WrongMessage),
    ("wrong-audience", _set("aud", "someone-else"), 400, "wrong_audience", errors.InvalidLaunch),
    ("audiences-without-azp", lambda b: (b.update(aud=[b["aud"], "other"]), b.pop("azp")), 400, "missing_azp",
     errors.InvalidLaunch),
    ("wrong-azp", _set("azp", "other"), 400, "wrong_azp", errors.InvalidLaunch),
    ("other-issuer", _set("iss", "https://evil.example"), 400, "iss_mismatch", errors.InvalidLaunch),
    ("unknown-deployment", _set(claims.DEPLOYMENT_ID, "nope"), 403, "unknown_deployment", errors.InactiveDeployment),
    ("no-deployment", _drop(claims.DEPLOYMENT_ID), 400, "missing_deployment_id", errors.WrongMessage),
    ("wrong-message-type", _set(claims.MESSAGE_TYPE, "LtiStartProctoring"), 400, "wrong_message_type",
     errors.WrongMessage),
    ("no-message-type", _drop(claims.MESSAGE_TYPE), 400, "wrong_message_type", errors.WrongMessage),
    ("wrong-version", _set(claims.VERSION, "1.1"), 400, "wrong_version", errors.WrongMessage),
    ("no-version", _drop(claims.VERSION), 400, "wrong_version", errors.WrongMessage),
    ("no-roles-claim", _drop(claims.ROLES), 400, "missing_claims", errors.WrongMessage),
    ("no-resource-link-id", _drop(claims.RESOURCE_LINK, "id"), 400, "missing_claims", errors.WrongMessage),
    ("no-sub", _drop("sub"), 400, "missing_sub", errors.WrongMessage),
    ("other-nonce", _set("nonce", "not-the-one-issued"), 400, "nonce_mismatch", errors.InvalidLaunch),
    ("other-target", _set(claims.TARGET_LINK_URI, "http://127.0.0.1:1/elsewhere"), 400,
     "target_link_uri_mismatch", errors.InvalidLaunch),
    # Signed, but not shaped as the spec says: refused as a bad message, never a 500.
    ("resource-link-not-object", _set(claims.RESOURCE_LINK, "rl-1"), 400, "malformed_claims", errors.WrongMessage),
    ("context-not-object", _set(claims.CONTEXT, ["c-1"]), 400, "malformed_claims", errors.WrongMessage),
    ("custom-not-object", _set(claims.CUSTOM, "module=x"), 400, "malformed_claims", errors.WrongMessage),
    ("ags-not-object", _set(claims.AGS_ENDPOINT, 7), 400, "malformed_claims", errors.WrongMessage),
    ("overlong-sub", _set("sub", "s" * 256), 400, "malformed_claims", errors.WrongMessage),
    ("overlong-resource-link-id", lambda b: b[claims.RESOURCE_LINK].update(id="r" * 256), 400,
     "malformed_claims", errors.WrongMessage),
    ("sub-not-text", _set("sub", {"id": 1}), 400, "invalid_token", errors.WrongMessage),
    ("infinity-in-claims", lambda b: b[claims.LAUNCH_PRESENTATION].update(height=float("inf")), 400,
     "malformed_claims", errors.WrongMessage),  # PostgreSQL's json refused it: a 500
    ("nan-in-custom", lambda b: b[claims.CUSTOM].update(score=float("nan")), 400, "malformed_claims",
     errors.WrongMessage),
    # PostgreSQL's text columns refuse a NUL character: a 500 there, stored on SQLite
    ("nul-in-name", _set("name", "Jonas\x00Nielsen"), 400, "malformed_claims", errors.WrongMessage),
    ("nul-in-a-custom-key", lambda b: b[claims.CUSTOM].update({"mod\x00ule": "x"}), 400, "malformed_claims",
     errors.WrongMessage),
    ("nul-in-deployment-id", _set(claims.DEPLOYMENT_ID, "demo-1\x00"), 400, "malformed_claims",
     errors.WrongMessage),
    # a lone surrogate: JSON can escape one, UTF-8 cannot encode it (a 500 storing or showing it)
    ("surrogate-in-name", _set("name", "Aya \ud800"), 400, "malformed_claims", errors.WrongMessage),
    ("surrogate-in-course-title", lambda b: b[claims.CONTEXT].update(title="Kursus \udfff"), 400,
     "malformed_claims", errors.WrongMessage),
    ("surrogate-in-deployment-id", _set(claims.DEPLOYMENT_ID, "demo-1\ud800"), 400, "malformed_claims",
     errors.WrongMessage),
    # longer than grade_targets.lineitem_url: a 500 on PostgreSQL
    ("overlong-lineitem", lambda b: b[claims.AGS_ENDPOINT].update(lineitem="http://x/" + "a" * 1016), 400,
     "malformed_claims", errors.WrongMessage),
    ("message-type-a-list", _set(claims.MESSAGE_TYPE, [claims.MSG_RESOURCE_LINK]), 400, "wrong_message_type",
     errors.WrongMessage),  # was a 500: a list is not hashable
    ("message-type-an-object", _set(claims.MESSAGE_TYPE, {"type": claims.MSG_RESOURCE_LINK}), 400,
     "wrong_message_type", errors.WrongMessage),
]


@pytest.mark.parametrize(("mutate", "status", "reason", "error"),
                         [c[1:] for c in CLAIM_CASES], ids=[c[0] for c in CLAIM_CASES])
def test_refused_claims(app, agent, caplog, mutate, status, reason, error):
    with caplog.at_level(logging.WARNING, logger="lti_tool"):
        response = crafted_launch(app, agent, mutate)

    assert response.status_code == status
    page = text_of(response.text)
    assert message_in(app, error, "da") in page
    assert reason in page
    assert "Traceback" not in response.text
    assert any(reason in r.getMessage() for r in caplog.records)


def _post_signed(app, agent, sign):
    step = demo_login(agent)
    body = demo_claims(app, step.nonce)
    return agent.post_launch(sign(body), step.state)


def _demo_kid(app, agent):
    return jwt.get_unverified_header(demo_sign(app, {"x": 1}))["kid"]


SIGNATURE_CASES = [
    ("signed-by-other-key-same-kid",
     lambda app, agent: lambda b: jwt.encode(b, OTHER_KEY, "RS256", headers={"kid": _demo_kid(app, agent)}),
     "bad_signature"),
    ("unknown-kid", lambda app, agent: lambda b: jwt.encode(b, OTHER_KEY, "RS256", headers={"kid": "unknown-kid"}),
     "unknown_kid"),
    ("no-kid", lambda app, agent: lambda b: jwt.encode(b, OTHER_KEY, "RS256"), "missing_kid"),
    ("alg-none", lambda app, agent: lambda b: _b64({"alg": "none", "typ": "JWT", "kid": _demo_kid(app, agent)})
     + "." + _b64(b) + ".", "bad_algorithm"),
    ("hs256-confusion",
     lambda app, agent: lambda b: jwt.encode(b, "public-key-as-secret-" + "x" * 32, "HS256",
                                            headers={"kid": _demo_kid(app, agent)}), "bad_algorithm"),
    ("tampered-payload",
     lambda app, agent: lambda b: (lambda t: t.split(".")[0] + "." + _b64({**b, "sub": "hanne"}) + "."
                                   + t.split(".")[2])(demo_sign(app, b)), "bad_signature"),
]


@pytest.mark.parametrize(("make_signer", "reason"), [c[1:] for c in SIGNATURE_CASES],
                         ids=[c[0] for c in SIGNATURE_CASES])
def test_refused_signatures(app, agent, make_signer, reason):
    response = _post_signed(app, agent, make_signer(app, agent))

    assert response.status_code == 400
    assert message_in(app, errors.BadSignature) in text_of(response.text)
    assert reason in response.text


def _raw_b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(("token", "reason"), [
    ("not-a-jwt", "malformed_token"),
    ("a.b.c", "malformed_token"),
    ("", "missing_id_token"),
    ("x" * (70 * 1024), "oversized_token"),
    # JSON nested deeper than Python's parser recurses: was a 500 (RecursionError), twice over
    (_b64({"alg": "RS256", "kid": "k"}) + "." + _raw_b64("[" * 40000) + ".x", "malformed_token"),
    (_raw_b64("[" * 30000) + "." + _b64({"sub": "x"}) + ".x", "malformed_token"),
    # A kid must be a string (RFC 7515 §4.1.4); a list was once a 500 (not hashable), before any signature
    (_b64({"alg": "RS256", "kid": ["x"]}) + "." + _b64({"sub": "x"}) + ".x", "malformed_token"),
    (_b64({"alg": "RS256", "kid": {"k": 1}}) + "." + _b64({"sub": "x"}) + ".x", "malformed_token"),
], ids=["garbage", "three-garbage-parts", "empty", "oversized", "nested-payload", "nested-header", "kid-a-list",
        "kid-an-object"])
def test_malformed_tokens(app, agent, token, reason):
    step = demo_login(agent)
    response = agent.post_launch(token, step.state)

    assert response.status_code == 400
    assert reason in response.text
    assert message_in(app, errors.WrongMessage) in text_of(response.text)


_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _other_spelling(segment: str) -> str:
    """The same bytes spelled with other unused bits in the last character: base64 decoders that
    are not strict read it as the same signature (GHSA-hxm8-2xgr-2p9m)."""
    last = _B64URL.index(segment[-1])
    return segment[:-1] + _B64URL[last ^ 1]


def _with_signature(spell):
    return lambda token: token.rsplit(".", 1)[0] + "." + spell(token.rsplit(".", 1)[1])


@pytest.mark.parametrize(("respell", "accepted"), [
    (_with_signature(lambda s: s + "=" * (-len(s) % 4)), True),  # the padding some issuers send
    (_with_signature(lambda s: s + "=" * (-len(s) % 4) + "===="), False),  # more '=' than padding
    (_with_signature(lambda s: s + "!"), False),  # outside the base64url alphabet
    (_with_signature(lambda s: s.replace("-", "+").replace("_", "/") + "+/"), False),  # base64, not base64url
    (_with_signature(_other_spelling), False),  # a second spelling of one signature
], ids=["padded", "over-padded", "not-the-alphabet", "plain-base64", "non-canonical"])
def test_only_canonical_base64url_tokens_are_accepted(app, agent, respell, accepted):
    # RS256 signatures are 256 bytes: 342 characters, the last with four unused bits.
    step = demo_login(agent)
    token = respell(demo_sign(app, demo_claims(app, step.nonce)))

    response = agent.post_launch(token, step.state)

    if accepted:
        assert landing_url(response)
    else:
        # Refused as malformed when first read, before the store or the database is asked anything.
        assert response.status_code == 400
        assert "malformed_token" in response.text
        assert message_in(app, errors.WrongMessage) in text_of(response.text)


def test_replayed_launch_is_refused(app, agent):
    step = demo_login(agent)
    token = demo_sign(app, demo_claims(app, step.nonce))
    assert landing_url(agent.post_launch(token, step.state))

    again = agent.post_launch(token, step.state)

    assert again.status_code == 400
    assert message_in(app, errors.ReplayedLaunch) in text_of(again.text)


def test_concurrent_identical_posts_accept_exactly_one(app, agent):
    from concurrent.futures import ThreadPoolExecutor

    step = demo_login(agent)
    token = demo_sign(app, demo_claims(app, step.nonce))
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda _: agent.post_launch(token, step.state).status_code, range(6)))

    assert statuses.count(200) == 1  # the learner's first page answers the one accepted launch
    assert all(s == 400 for s in statuses if s != 200)


def test_a_class_launching_a_new_course_at_once_is_let_in(app, live):
    """Found on PostgreSQL: first launches into a new course collided on the user, then the course,
    then the link, and one retry was not enough (9 of 30 were 500s)."""
    from concurrent.futures import ThreadPoolExecutor

    course = "class-" + uuid.uuid4().hex[:8]
    pairs = [(user, link) for user in ("a", "b", "c") for link in ("l1", "l2")] * 2
    steps = []
    for user, link in pairs:  # logins first, one browser each, so the launches meet at the database
        browser = live.agent()
        step = demo_login(browser)
        body = demo_claims(app, step.nonce)
        body.update(sub=f"{course}-{user}")
        body[claims.CONTEXT]["id"] = course
        body[claims.RESOURCE_LINK]["id"] = f"{course}-{link}"
        steps.append((browser, demo_sign(app, body), step.state))

    with ThreadPoolExecutor(max_workers=len(steps)) as pool:
        statuses = list(pool.map(lambda s: s[0].post_launch(s[1], s[2]).status_code, steps))

    assert statuses == [200] * len(steps)


def test_missing_state_is_refused(app, agent):
    step = demo_login(agent)
    response = agent.post("/lti/launch", {"id_token": demo_sign(app, demo_claims(app, step.nonce))},
                          allow_redirects=False)
    assert response.status_code == 400
    assert "missing_state" in response.text
    assert message_in(app, errors.StateMismatch) in text_of(response.text)


def test_unknown_state_is_refused(app, agent):
    step = demo_login(agent)
    response = agent.post_launch(demo_sign(app, demo_claims(app, step.nonce)), "invented-" + uuid.uuid4().hex)
    assert response.status_code == 401
    assert message_in(app, errors.SessionExpired) in text_of(response.text)


def test_state_from_another_browser_is_refused(app, live, agent):
    step = demo_login(agent)
    token = demo_sign(app, demo_claims(app, step.nonce))
    other_browser = live.agent()

    response = other_browser.post_launch(token, step.state)

    assert response.status_code == 400
    assert "state_cookie" in response.text
    assert message_in(app, errors.StateMismatch) in text_of(response.text)


@pytest.mark.parametrize("return_url", ["http://[x", "http://[::1x]/", "https://[fe80::1%25eth0"])
def test_a_broken_return_url_leaves_the_launch_and_its_pages_working(app, agent, return_url):
    """The return_url's origin goes into the frame-ancestors header: an address urllib cannot parse
    made every page of the launch a 500, after the launch was stored."""
    response = crafted_launch(app, agent, lambda b: b[claims.LAUNCH_PRESENTATION].update(return_url=return_url))

    assert response.status_code == 200
    assert 'class="cards"' in response.text
    assert "frame-ancestors" in response.headers["Content-Security-Policy"]
    again = agent.get(response.headers["Content-Location"])
    assert again.status_code == 200
    assert "frame-ancestors" in again.headers["Content-Security-Policy"]


def test_an_unknown_address_under_a_launch_speaks_its_language_and_logs_no_launch_id(app, agent, caplog):
    """A routing 404 or 405 never looked the launch up: the page was in the browser's language
    and the log line carried the launch id, which the logs otherwise mask."""
    response = crafted_launch(app, agent, lambda b: b[claims.LAUNCH_PRESENTATION].update(locale="sv-SE"))
    home = response.headers["Content-Location"]
    launch_id = home.rstrip("/").rsplit("/", 1)[-1]

    with caplog.at_level(logging.WARNING, logger="lti_tool"):
        missing = agent.get(home + "finns-inte", headers={"Accept-Language": "da"})
        wrong_method = agent.http.put(agent.url(home), timeout=30, headers={"Accept-Language": "da"})

    for page, status in ((missing, 404), (wrong_method, 405)):
        assert page.status_code == status
        assert '<html lang="sv">' in page.text
    assert not [r for r in caplog.records if launch_id in r.getMessage()]


def test_a_long_return_url_is_kept_only_service_urls_with_columns_are_limited(app, agent):
    long_return = "https://lms.example/course/view.php?" + "x" * 1100  # lives in the claims' JSON
    response = crafted_launch(app, agent, lambda b: b[claims.LAUNCH_PRESENTATION].update(return_url=long_return))
    assert response.status_code == 200


def test_logs_mask_only_the_launch_id_segment(db_app):
    with db_app.test_request_context("/c/a/instructor/grading/1"):
        assert logged_path() == "/c/…/instructor/grading/1"


def test_error_page_speaks_the_launch_locale(app, agent):
    def swedish_and_expired(body):
        body[claims.LAUNCH_PRESENTATION]["locale"] = "sv-SE"
        body["exp"] = int(time.time()) - 600

    response = crafted_launch(app, agent, swedish_and_expired)

    assert response.status_code == 400
    assert '<html lang="sv">' in response.text
    assert message_in(app, errors.ExpiredLaunch, "sv") in text_of(response.text)
    assert message_in(app, errors.ExpiredLaunch, "sv") != message_in(app, errors.ExpiredLaunch, "da")


@pytest.mark.parametrize(("params", "status", "reason", "error"), [
    ({"iss": "https://unknown.example", "client_id": "x"}, 400, "unknown_platform", errors.UnknownPlatform),
    ({"client_id": "unknown-client"}, 400, "unknown_platform", errors.UnknownPlatform),
    ({"iss": ""}, 400, "login_missing_iss", errors.LoginRejected),
    ({"login_hint": ""}, 400, "login_missing_login_hint", errors.LoginRejected),
    ({"target_link_uri": "https://evil.example/phish"}, 400, "login_bad_target", errors.LoginRejected),
], ids=["unknown-issuer", "unknown-client", "no-issuer", "no-login-hint", "foreign-target"])
def test_refused_logins(app, agent, caplog, params, status, reason, error):
    base = {
        "iss": agent.lms_url + "/demo-lms",
        "login_hint": "jonas",
        "target_link_uri": agent.base_url + "/lti/launch",
        "client_id": "integrationsloeft-demo",
    }
    base.update(params)
    with caplog.at_level(logging.WARNING, logger="lti_tool"):
        response = agent.get("/lti/login", params=base, allow_redirects=False)

    assert response.status_code == status
    page = text_of(response.text)
    assert reason in page
    assert message_in(app, error) in page
    with app.test_request_context():
        assert str(error.hint) in page  # what the admin or learner can do about it
    assert "Traceback" not in response.text
    assert any(reason in r.getMessage() for r in caplog.records)


def test_a_raw_nul_byte_in_the_query_is_refused(db_app, db_session):
    """gunicorn and Werkzeug's server refuse such a request line themselves; the app must not rely
    on the server in front of it (a 500 on PostgreSQL otherwise)."""
    raw_query = {"QUERY_STRING": "iss=http://x\x00y&login_hint=a"}
    response = db_app.test_client().get("/lti/login", environ_overrides=raw_query)
    assert response.status_code == 400
    assert "nul_in_request" in response.text


@pytest.mark.parametrize("where", ["login", "launch-state", "page-path", "learner-form"])
def test_a_nul_character_anywhere_in_a_request_is_refused(app, live, agent, where):
    """PostgreSQL refuses NUL in text and in a WHERE clause's text: these were 500s there."""
    if where == "login":
        response = agent.get("/lti/login", params={"iss": agent.lms_url + "/demo-lms", "login_hint": "jonas\x00",
                                                   "target_link_uri": agent.base_url + "/lti/launch"},
                             allow_redirects=False)
    elif where == "launch-state":
        response = agent.post_launch("a.b.c", "state\x00")
    else:
        home = agent.launch("jonas", "vejle-int", "rl-nyankomne")
        assert home.status_code == 200
        if where == "page-path":
            response = agent.get(home.url.replace(home.url.rstrip("/").rsplit("/", 1)[-1], "abc%00def"))
        else:
            response = agent.http.post(home.url + "m/nyankomne/a/x", timeout=30,
                                       data={"csrf_token": "t", "text": "min plan\x00"})

    assert response.status_code == 400
    assert "nul_in_request" in response.text
    with app.test_request_context():
        assert str(errors.ToolError.message) in text_of(response.text)
