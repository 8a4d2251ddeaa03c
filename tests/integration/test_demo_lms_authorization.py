"""The demo LMS is a real platform: its OIDC authorization endpoint refuses a tool request that
does not follow LTI 1.3 Core §5.1.1.2 (Security Framework §5.1.1), as Moodle does."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlparse

import pytest


def authorization_request(agent):
    """The tool's real authorization redirect for a launch Jonas starts in the demo LMS."""
    agent.sign_in("jonas")
    response = agent.get("/demo-lms/courses/vejle-int/initiate", params={"link_id": "rl-nyankomne"})
    auth = next(r for r in [*response.history, response] if urlparse(r.url).path.endswith("/demo-lms/auth"))
    parsed = urlparse(auth.url)
    return f"{parsed.scheme}://{parsed.netloc}{parsed.path}", {k: v[0] for k, v in parse_qs(parsed.query).items()}


def test_the_tools_own_request_is_answered_with_a_signed_id_token(agent):
    url, params = authorization_request(agent)
    answer = agent.get(url + "?" + urlencode(params))
    assert answer.status_code == 200
    assert 'name="id_token"' in answer.text and f'value="{params["state"]}"' in answer.text


@pytest.mark.parametrize(("change", "error"), [
    ({"redirect_uri": "http://127.0.0.1:1/elsewhere"}, "redirect_uri is not registered"),
    ({"client_id": "someone-else"}, "unknown client_id"),
    ({"response_mode": "query"}, "response_mode must be form_post"),
    ({"prompt": "login"}, "prompt must be none"),
    ({"response_type": "code"}, "response_type must be id_token"),
    ({"scope": "profile"}, "scope must be openid"),
    ({"nonce": None}, "nonce is missing"),
    ({"state": None}, "state is missing"),
    ({"login_hint": "sara"}, "login_hint is not the user of this launch"),
], ids=["redirect-uri", "client-id", "response-mode", "prompt", "response-type", "scope", "no-nonce", "no-state",
        "other-user"])
def test_requests_outside_the_spec_are_refused(agent, change, error):
    url, params = authorization_request(agent)
    for name, value in change.items():
        if value is None:
            params.pop(name)
        else:
            params[name] = value

    answer = agent.get(url + "?" + urlencode(params))

    assert 400 <= answer.status_code < 500
    assert answer.json()["error_description"] == error
    assert 'name="id_token"' not in answer.text
