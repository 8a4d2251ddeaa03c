"""The launch's locale read before the token is verified (for the language of an error page):
a locale when the token names one, None for anything malformed, never an exception."""

from __future__ import annotations

import base64
import json

import pytest

from lti_tool.lti import claims
from lti_tool.lti.launch import unverified_platform_locale


def _segment(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _token(body: object) -> str:
    return f"{_segment({'alg': 'RS256', 'kid': 'k'})}.{_segment(body)}.c2ln"


def test_the_presentation_locale_is_read():
    assert unverified_platform_locale(_token({claims.LAUNCH_PRESENTATION: {"locale": "sv-SE"}})) == "sv-SE"


@pytest.mark.parametrize("token", [
    None, "", "not-a-jwt", "a.b.c",
    _token({"sub": "x"}),  # no presentation claim
    _token({claims.LAUNCH_PRESENTATION: ["sv-SE"]}),  # a claim that is no object
    _token({claims.LAUNCH_PRESENTATION: {"locale": ""}}),
    _token(["not", "an", "object"]),
    _token({claims.LAUNCH_PRESENTATION: {"locale": "sv"}}) + "=",  # a fourth character of padding
    _segment({"alg": "RS256"}) + "." + base64.urlsafe_b64encode(b"[" * 30000).decode() + ".x",  # deep JSON
], ids=["none", "empty", "one-segment", "not-base64-json", "no-claim", "claim-not-object", "empty-locale",
        "body-not-object", "bad-padding", "deep-json"])
def test_anything_malformed_has_no_locale(token):
    assert unverified_platform_locale(token) is None
