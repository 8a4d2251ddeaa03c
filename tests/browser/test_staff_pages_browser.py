"""The instructor's and the operator's pages pass axe-core's WCAG 2.1 A and AA checks too:
municipal staff who coordinate or operate are bound by the same accessibility law as learners."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from lti_tool.extensions import db
from tests.browser.lms import axe_violations, describe, follow, shot, sign_in
from tests.support.console import PASSWORD, make_operator
from tests.support.learner import work_through
from tests.support.records import seed_person, seed_platform

pytestmark = pytest.mark.browser


def test_instructor_pages_pass_axe(site, context, page, fresh_learner):
    # A learner's reflection waits for grading, so the grading pages have something to show.
    learner = site.agent()
    home = learner.launch(fresh_learner, "stor-kursus", "rl-stor").url
    with site.app.app_context():
        module = site.app.extensions["integrationsloeft"].catalog().module("nyankomne")
    work_through(learner, home, module)

    found: dict[str, list[dict[str, Any]]] = {}
    sign_in(context, site.lms_url, "hanne")
    page.goto(f"{site.lms_url}/demo-lms/courses/stor-kursus/open/rl-stor")
    frame = page.wait_for_selector("#tool-frame", state="attached").content_frame()
    frame.wait_for_url(re.compile(r"/instructor/$"))
    board = frame.url
    found["dashboard"] = axe_violations(frame)
    shot(page, "20-instructor-dashboard")
    frame.goto(board + "?status=pending&sort=name")
    found["dashboard, filtered"] = axe_violations(frame)
    frame.goto(board + "grading")
    found["grading queue"] = axe_violations(frame)
    follow(frame, frame.get_by_role("link", name=f"Deltager {fresh_learner[-4:]}").first,
           re.compile(r"/grading/\d+$"))
    found["grade form"] = axe_violations(frame)
    shot(page, "21-grade-form")
    # A grade the server refuses (the browser's own checks off, as an old browser would have them):
    # the values stay, the field at fault says so beside it, and the page is still axe-clean.
    frame.locator("#feedback").fill("Godt set.")
    for group in frame.locator("fieldset.rubric-levels").all():
        group.locator("input[type=radio]").first.check()
    for field in frame.locator("input[type=number][id^=points-]").all():
        field.fill("1")
    other = frame.locator("input[type=radio][value=other]")
    if other.count():
        other.first.check()
    frame.locator("input[type=number]").first.fill("99")
    frame.locator("#feedback").evaluate("area => { area.form.noValidate = true; area.form.requestSubmit(); }")
    expect(frame.locator(".field-error")).to_have_count(1)
    expect(frame.locator("input[type=number][aria-invalid=true]")).to_have_value("99")
    expect(frame.locator("#feedback")).to_have_value("Godt set.")
    found["grade form, refused"] = axe_violations(frame)

    page.goto(f"{site.lms_url}/demo-lms/courses/stor-kursus")
    page.goto(f"{site.lms_url}/demo-lms/courses/stor-kursus/initiate?deep_link=1&target=window")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    found["deep-linking catalogue"] = axe_violations(page)
    shot(page, "22-deep-linking")

    assert not any(found.values()), "axe found WCAG 2.1 AA violations:\n" + describe(found)


def test_operator_console_passes_axe(site, context, page):
    with site.app.app_context():
        person = seed_person(db.session, seed_platform(db.session), parked_score=True)
    email = make_operator(site.app)
    found: dict[str, list[dict[str, Any]]] = {}

    page.goto(site.base_url + "/admin/login")
    found["sign-in"] = axe_violations(page)
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url("**/admin/")
    for path in ("/admin/", "/admin/platforms", "/admin/keys", "/admin/grades", "/admin/reach",
                 "/admin/learners", f"/admin/learners/{person.user_id}",
                 f"/admin/certificates?code={person.certificate_code}", "/admin/register"):
        page.goto(site.base_url + path)
        found[path] = axe_violations(page)
    page.goto(site.base_url + "/admin/platforms")
    page.locator("table a").first.click()
    found["platform detail"] = axe_violations(page)
    shot(page, "23-operator-platform")

    assert not any(found.values()), "axe found WCAG 2.1 AA violations:\n" + describe(found)
