"""The pure rules of grade delivery: back-off, Retry-After, when to give up, whose scores count;
and roster paging."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests

from lti_tool.grading.delivery import BASE_DELAY, MAX_ATTEMPTS, MAX_DELAY, backoff, retry_delay
from lti_tool.grading.outbox import learner_links
from lti_tool.lti import services
from lti_tool.lti.services import retry_after_seconds
from lti_tool.store import FileStore

INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


def middle() -> float:
    return 0.5  # no jitter: 0.5 + 0.5 = ×1


def test_backoff_doubles_from_the_base_delay():
    assert [backoff(n, middle).total_seconds() for n in range(1, 7)] == [BASE_DELAY * 2**k for k in range(6)]
    assert backoff(0, middle) == backoff(1, middle)  # a row never tried waits as long as one tried once


@pytest.mark.parametrize("attempts", [12, 13, 30, 2000, 10**6])
def test_backoff_is_capped_and_never_overflows(attempts):
    assert backoff(attempts, middle).total_seconds() == MAX_DELAY
    assert backoff(attempts, lambda: 0.999999).total_seconds() < 1.5 * MAX_DELAY


@pytest.mark.parametrize("attempts", [1, 3, 8, 20])
def test_backoff_jitter_stays_within_half_and_one_and_a_half_times(attempts):
    nominal = min(MAX_DELAY, BASE_DELAY * 2 ** (attempts - 1))
    assert backoff(attempts, lambda: 0.0).total_seconds() == pytest.approx(0.5 * nominal)
    assert backoff(attempts, lambda: 0.999999).total_seconds() == pytest.approx(1.5 * nominal, rel=1e-5)
    rng = random.Random(attempts)
    samples = [backoff(attempts, rng.random).total_seconds() for _ in range(500)]
    assert all(0.5 * nominal <= s < 1.5 * nominal for s in samples)
    assert len(set(samples)) > 450  # spread out, so recovering workers do not retry in step


def test_retry_delay_gives_up_after_max_attempts():
    assert retry_delay(MAX_ATTEMPTS - 1, rng=middle) == backoff(MAX_ATTEMPTS - 1, middle)
    assert retry_delay(MAX_ATTEMPTS, rng=middle) is None
    assert retry_delay(MAX_ATTEMPTS + 5, retry_after=1, rng=middle) is None


def test_retry_delay_waits_at_least_as_long_as_retry_after_asks():
    assert retry_delay(1, retry_after=120, rng=middle) == timedelta(seconds=120)
    # The back-off is longer than the platform asked: the longer wait wins.
    assert retry_delay(10, retry_after=1, rng=middle) == backoff(10, middle)
    # A platform cannot push one score back for days; negative values mean "now".
    assert retry_delay(1, retry_after=10 * 86400, rng=middle) == timedelta(seconds=MAX_DELAY)
    assert retry_delay(1, retry_after=-30, rng=middle) == backoff(1, middle)


NOW = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("header", "seconds"), [
    ("120", 120.0),
    (" 7 ", 7.0),
    ("0", 0.0),
    (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),  # IMF-fixdate
    ("Tuesday, 24-Nov-26 10:05:00 GMT", 300.0),  # obsolete RFC 850 form, still valid
    ("Tue Nov 24 10:00:30 2026", 30.0),  # asctime form, no zone: GMT
    (format_datetime(NOW - timedelta(hours=1), usegmt=True), 0.0),  # already past: now
    (None, None),
    ("", None),
    ("soon", None),
    ("-5", None),
    ("1.5", None),
    ("²", None),  # str.isdigit() says yes, float() says no: the round must not fail on it
])
def test_retry_after_header(header, seconds):
    assert retry_after_seconds(header, NOW) == seconds


def test_scores_count_only_where_the_latest_launch_was_as_a_learner():
    launches = [
        (1, [LEARNER]),
        (2, [INSTRUCTOR]),  # an instructor trying the link out
        (3, [INSTRUCTOR]), (3, [LEARNER]),  # later launched it as a learner
        (4, [LEARNER]), (4, [INSTRUCTOR, LEARNER]),  # now an instructor there
        (5, []),  # no role: learns in the tool, but has no gradebook row to send to
        (6, ["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"]),  # an observer
        (None, [LEARNER]),  # a launch without a resource link
    ]
    assert learner_links(launches) == {1, 3}


class _Pages:
    """Stands in for the LMS's NRPS pages: answers each URL with its members and Link header."""

    def __init__(self, pages):
        self.pages = pages
        self.asked = []

    def call(self, method, url, scopes, **kwargs):
        self.asked.append(url)
        members, link = self.pages[url]
        response = requests.Response()
        response.status_code = 200
        response._content = json.dumps({"members": members}).encode()
        if link:
            response.headers["Link"] = f'<{link}>; rel="next"'
        return response


def test_roster_follows_relative_next_pages_on_the_same_host():
    client = _Pages({"https://lms.example/m": ([{"user_id": "1"}], "/m?page=2"),
                     "https://lms.example/m?page=2": ([{"user_id": "2"}], None)})
    assert [m["user_id"] for m in services.roster(client, "https://lms.example/m")] == ["1", "2"]


def test_roster_never_sends_the_token_to_another_host():
    client = _Pages({"https://lms.example/m": ([{"user_id": "1"}], "https://collector.example/steal")})
    with pytest.raises(services.ServiceError, match="another host"):
        services.roster(client, "https://lms.example/m")
    assert client.asked == ["https://lms.example/m"]


class _Raw:
    """An LMS that answers every call with the same raw body (and Link header)."""

    def __init__(self, body: bytes, link: str | None = None):
        self.body, self.link = body, link

    def call(self, method, url, scopes, **kwargs):
        response = requests.Response()
        response.status_code = 200
        response._content = self.body
        if self.link:
            response.headers["Link"] = f"<{self.link}>; rel=\"next\""
        return response


@pytest.mark.parametrize("body", [b"<html>Moodle is upgrading</html>", b"[" * 100000, b"[1, 2]",
                                  b'{"members": "all"}'],
                         ids=["html", "nested-too-deep", "a-list", "members-not-a-list"])
def test_an_lms_answer_that_is_not_what_nrps_and_ags_promise_is_a_service_error(body):
    """Was a ValueError, RecursionError or AttributeError: a 500 on the dashboard, a crashed send."""
    with pytest.raises(services.ServiceError) as refused:
        services.roster(_Raw(body), "https://lms.example/m")
    assert refused.value.retry
    if body != b'{"members": "all"}':
        with pytest.raises(services.ServiceError):
            services.find_or_create_line_item(_Raw(body), "https://lms.example/li", resource_id="r",
                                               resource_link_id="l", label="x", score_maximum=1, tag="t")


def test_broken_addresses_from_the_lms_are_service_errors_that_are_not_retried():
    with pytest.raises(services.ServiceError) as broken_lineitem:
        services.scores_url("https://[lms.example/lineitems/1")
    assert not broken_lineitem.value.retry
    with pytest.raises(services.ServiceError) as broken_next:
        services.roster(_Raw(b'{"members": []}', link="http://[x/next"), "https://lms.example/m")
    assert not broken_next.value.retry


class _TokenEndpoint:
    """A platform's token endpoint that answers every request with the same JSON text."""

    def __init__(self, text: str):
        self.text = text

    def post(self, url, data):
        response = requests.Response()
        response.status_code = 200
        response._content = self.text.encode()
        return response


def _token_client(tmp_path, answer: str) -> tuple[services.TokenClient, FileStore]:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from lti_tool.lti.keys import SigningKey

    store = FileStore(tmp_path)
    key = SigningKey("k1", "", rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return services.TokenClient(store, _TokenEndpoint(answer), key), store


AUTH = services.PlatformAuth(platform_id=1, client_id="c", token_url="https://lms.example/token", audience=None)


@pytest.mark.parametrize(("expires_in", "kept"), [("1e16", 86400), ("99999999999999999999", 86400), ("-5", 1),
                                                 ("3600", 3600)])
def test_a_token_lifetime_is_kept_within_a_day(tmp_path, expires_in, kept):
    """Redis refused an absurd expiry (a 500 on the dashboard, a failed round of grades)."""
    tokens, _ = _token_client(tmp_path, f'{{"access_token": "abc", "expires_in": {expires_in}}}')
    started = time.time()
    assert tokens.token(AUTH, ("s",)) == "abc"
    held = next(iter(tokens._held.values()))
    assert started + kept - 5 <= held[1] <= time.time() + kept


@pytest.mark.parametrize("answer", ['{"access_token": "abc", "expires_in": 1e400}',
                                    '{"access_token": "a\\u00e6\\r\\nX: 1"}'],
                         ids=["infinite-lifetime", "token-not-a-header-value"])
def test_a_token_answer_that_cannot_be_used_is_a_service_error(tmp_path, answer):
    tokens, _ = _token_client(tmp_path, answer)
    with pytest.raises(services.ServiceError) as refused:
        tokens.token(AUTH, ("s",))
    assert refused.value.retry


@pytest.mark.parametrize("item_id", ["https://lms.example/li/" + "9" * 1100, "https://lms.example/li/\x00"],
                         ids=["longer-than-its-column", "nul"])
def test_a_line_item_id_the_grade_column_cannot_store_is_refused_for_good(item_id):
    """It failed the worker's commit on PostgreSQL, round after round."""
    answer = json.dumps([{"id": item_id, "resourceId": "r", "resourceLinkId": "l"}]).encode()
    with pytest.raises(services.ServiceError) as refused:
        services.find_line_item(_Raw(answer), "https://lms.example/li", resource_id="r", resource_link_id="l")
    assert not refused.value.retry
