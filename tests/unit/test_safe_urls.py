"""The SSRF guard for URLs from dynamic registration reads a URL the way requests connects to it."""

from __future__ import annotations

import pytest

from lti_tool.lti.safe_urls import UnsafeURL, check_url, unambiguous_host


@pytest.mark.parametrize("url", [
    "https://10.0.0.5\\@lms.example/config",  # urllib: lms.example; requests: 10.0.0.5
    "https://user@lms.example/config",
    "https://user:secret@lms.example/config",
    "https://lms.example:99999/config",
    "ftp://lms.example/config",
])
@pytest.mark.parametrize("allow_private", [True, False])
def test_ambiguous_or_odd_urls_are_refused_even_where_private_addresses_are_allowed(url, allow_private):
    with pytest.raises(UnsafeURL):
        check_url(url, allow_private=allow_private)


@pytest.mark.parametrize(("url", "host"), [
    ("https://LMS.Example/x", "lms.example"),
    ("https://[::1]:8443/x", "::1"),
    ("http://127.0.0.1:5000/demo-lms/.well-known/openid-configuration", "127.0.0.1"),
    ("https://attacker.example\\@sso.instructure.com/x", None),
])
def test_unambiguous_host(url, host):
    assert unambiguous_host(url) == host


def test_private_addresses_are_refused_in_production():
    with pytest.raises(UnsafeURL, match="non-public"):
        check_url("https://127.0.0.1/config", allow_private=False)
    assert check_url("http://127.0.0.1:5000/config", allow_private=True) == "http://127.0.0.1:5000/config"
