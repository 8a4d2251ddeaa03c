"""The pages behind a login take odd input too: an operator's typo or a crafted link is a 4xx or
a page, never a 500 (hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lti_tool.extensions import db
from tests.support.console import Console, make_operator
from tests.support.records import seed_platform

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
odd_text = st.text(max_size=40) | st.sampled_from(["", "0", "-1", "99999999999999999999", "2026-13-45", "x" * 600,
                                                   "http://", "https://lms.example/" + "a" * 2000, "%00", "\x00"])
_cache: dict[str, Any] = {}


@pytest.fixture
def operator(live):
    key = f"operator-{live.backend}"
    if key not in _cache:
        console = Console(live.base_url)
        assert console.sign_in(make_operator(live.app)).status_code == 302
        with live.app.app_context():
            platform_id = seed_platform(db.session).id
        _cache[key] = (console, platform_id)
    return _cache[key]


@SETTINGS
@given(params=st.dictionaries(st.sampled_from(["platform", "programme", "module", "from", "to", "months", "code",
                                               "q", "status"]), odd_text, max_size=4),
       page=st.sampled_from(["/admin/reach", "/admin/reach.csv", "/admin/certificates", "/admin/learners",
                             "/admin/platforms", "/admin/grades"]))
def test_console_pages_never_500(operator, params, page):
    console, _ = operator
    response = console.get(page, params=params)
    assert response.status_code < 500, response.text[:300]


@SETTINGS
@given(fields=st.dictionaries(st.sampled_from(["name", "auth_login_url", "auth_token_url", "key_set_url",
                                               "auth_audience", "deployment_id", "status", "id", "q"]),
                              odd_text, max_size=6),
       action=st.sampled_from(["", "/deployments", "/status"]))
def test_console_forms_never_500(operator, fields, action):
    console, platform_id = operator
    response = console.post(f"/admin/platforms/{platform_id}{action}", fields)
    assert response.status_code < 500, response.text[:300]


@SETTINGS
@given(params=st.dictionaries(st.sampled_from(["status", "role", "sort", "desc", "module", "page"]), odd_text,
                              max_size=4),
       export=st.booleans())
def test_instructor_dashboard_filters_never_500(live, params, export):
    key = f"board-{live.backend}"
    if key not in _cache:
        _cache[key] = live.agent().launch("hanne", "vejle-int", "rl-programme").url
    response = live.agent().get(_cache[key] + ("export.csv" if export else ""), params=params)
    assert response.status_code < 500, response.text[:300]


path_part = st.text(min_size=1, max_size=30).filter(lambda t: "/" not in t and t not in (".", "..")) | st.sampled_from(
    ["nyankomne", "unge", "change", "quiz-programmet", "x" * 300, "%2e%2e", "0"])


@SETTINGS
@given(module=path_part, activity=path_part, programme=path_part,
       page=st.sampled_from(["module", "activity", "certificate", "pick", "grading"]))
def test_pages_under_a_launch_with_odd_paths_never_500(live, module, activity, programme, page):
    key = f"paths-{live.backend}"
    if key not in _cache:
        _cache[key] = (live.agent().launch("stor-kursus-l0778", "stor-kursus", "rl-stor").url,
                       live.agent().launch("hanne", "stor-kursus", "rl-stor").url)
    learner, instructor = _cache[key]
    url = {"module": f"{learner}m/{module}/", "activity": f"{learner}m/{module}/a/{activity}",
           "certificate": f"{learner}certificate/{programme}", "pick": f"{instructor}pick?choice={programme}",
           "grading": f"{instructor}grading/{activity}"}[page]
    response = live.agent().http.get(url, timeout=30)
    assert response.status_code < 500, (url, response.text[:300])
