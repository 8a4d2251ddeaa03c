"""The four-week follow-up in Chromium: asked in the LMS frame, accessible (axe-core), usable at
320 px and answered by keyboard alone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.models import LaunchRecord, Submission
from tests.browser.lms import axe_violations, describe, horizontal_overflow, open_in_lms, shot, sign_in
from tests.support.learner import correct_answer, submit

pytestmark = pytest.mark.browser


def plan_submitted_four_weeks_ago(site, learner: str) -> None:
    """The learner's action plan in nyankomne, submitted over HTTP and dated 28 days back."""
    agent = site.agent()
    home = agent.launch(learner, "stor-kursus", "rl-stor")
    with site.app.app_context():
        module = site.app.extensions["integrationsloeft"].catalog().module("nyankomne")
        plan = next(a for a in module.activities if a.type == "action_plan")
        assert submit(agent, home.url, module, plan, correct_answer(plan)).status_code == 200
        user_id = db.session.get(LaunchRecord, re.search(r"/c/([^/]+)/", home.url)[1]).user_id
        for row in db.session.scalars(select(Submission).where(Submission.user_id == user_id)):
            row.created_at -= timedelta(days=28)
        db.session.commit()


def test_the_follow_up_is_accessible_fits_a_phone_and_answers_by_keyboard(site, context, page, fresh_learner):
    plan_submitted_four_weeks_ago(site, fresh_learner)
    sign_in(context, site.lms_url, fresh_learner)
    page.set_viewport_size({"width": 320, "height": 800})
    frame = open_in_lms(page, site.lms_url, "stor-kursus", "rl-stor")
    expect(frame.get_by_role("heading", name="Hvordan gik det med din handleplan?")).to_be_visible()
    shot(page, "30-action-plan-follow-up-320")
    found = {"follow-up on the course home": axe_violations(frame)}
    assert not any(found.values()), "axe found WCAG 2.1 AA violations:\n" + describe(found)
    assert horizontal_overflow(frame) is None and horizontal_overflow(page) is None

    frame.get_by_label("Jeg gjorde en del af det").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.type("Tjeklisten er lavet, men ikke godkendt endnu.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(frame.get_by_text("Tak. Dit svar er gemt sammen med din handleplan.")).to_be_visible()
    expect(frame.get_by_role("heading", name="Hvordan gik det med din handleplan?")).to_have_count(0)
