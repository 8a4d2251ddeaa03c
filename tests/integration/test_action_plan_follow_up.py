"""The four-week follow-up of an action plan: asked once at the first launch 28 days or more after
the plan was submitted, and the answer kept with the plan."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from lti_tool.extensions import db
from lti_tool.models import ActionPlanFollowUp, LaunchRecord, Submission, User
from lti_tool.progress import followup, service
from lti_tool.runtime import runtime
from tests.support.learner import activity_url, correct_answer, csrf_of, submit
from tests.support.records import seed_platform


def _plan_module():
    module = runtime().catalog().module("nyankomne")
    return module, next(a for a in module.activities if a.type == "action_plan")


def _learner(session) -> int:
    platform = seed_platform(session)
    user = User(platform_id=platform.id, sub=f"sub-{uuid.uuid4().hex[:8]}", name="Lærer", locale="da-DK")
    session.add(user)
    session.commit()
    return user.id


def _submit_plan(session, user_id: int, clock) -> None:
    module, plan = _plan_module()
    answer = {p.id: "Jeg laver en fælles tjekliste." for p in plan.prompts}
    service.submit_answer(session, runtime().catalog(), user_id, module, plan, answer)
    session.execute(update(Submission).where(Submission.user_id == user_id).values(created_at=clock()))
    session.commit()


def test_asked_once_at_28_days_and_the_answer_is_kept(db_app, db_session, clock):
    module, plan = _plan_module()
    user_id = _learner(db_session)
    _submit_plan(db_session, user_id, clock)

    clock.advance(days=27, hours=23, minutes=59)
    assert followup.ask_on_launch(db_session, user_id, (module,), clock=clock) is None  # before 28 days: nothing
    clock.advance(minutes=1)
    asked = followup.ask_on_launch(db_session, user_id, (module,), clock=clock)
    assert asked is not None and (asked.module.id, asked.activity.id) == (module.id, plan.id)
    assert asked.submitted_at == clock() - timedelta(days=28)
    assert followup.ask_on_launch(db_session, user_id, (module,), clock=clock) is None  # asked once

    clock.advance(hours=1)
    followup.record_answer(db_session, user_id, module, plan, "partly", "Tjeklisten er lavet,\r\nikke godkendt.",
                           clock=clock)
    row = db_session.scalar(select(ActionPlanFollowUp).where(ActionPlanFollowUp.user_id == user_id))
    assert (row.outcome, row.note, row.answered_at) == ("partly", "Tjeklisten er lavet,\nikke godkendt.", clock())
    plan_submission = db_session.scalar(select(Submission.id).where(Submission.user_id == user_id))
    assert row.submission_id == plan_submission
    clock.advance(days=60)
    assert followup.ask_on_launch(db_session, user_id, (module,), clock=clock) is None  # not asked again


def test_no_plan_no_question_and_no_answer_without_one(db_app, db_session, clock):
    module, plan = _plan_module()
    user_id = _learner(db_session)
    clock.advance(days=100)
    assert followup.ask_on_launch(db_session, user_id, (module,), clock=clock) is None
    with pytest.raises(followup.FollowUpRefused):
        followup.record_answer(db_session, user_id, module, plan, "done", "", clock=clock)
    _submit_plan(db_session, user_id, clock)
    clock.advance(days=28)
    assert followup.ask_on_launch(db_session, user_id, (module,), clock=clock) is not None
    with pytest.raises(followup.FollowUpRefused):
        followup.record_answer(db_session, user_id, module, plan, "brilliant", "", clock=clock)


LINK = ("stor-kursus", "rl-stor-programme")


def test_a_learner_is_asked_at_launch_and_sees_the_answer_with_the_plan(app, live, fresh_learner):
    module, plan = _plan_module()
    agent = live.agent()
    home = agent.launch(fresh_learner, *LINK)
    assert submit(agent, home.url, module, plan, correct_answer(plan)).status_code == 200
    assert "follow-up-heading" not in agent.launch(fresh_learner, *LINK).text  # too early

    user_id = db.session.get(LaunchRecord, re.search(r"/c/([^/]+)/", home.url).group(1)).user_id
    for row in db.session.scalars(select(Submission).where(Submission.user_id == user_id)):
        row.created_at -= timedelta(days=28)  # as if it were submitted four weeks ago
    db.session.commit()
    asked = agent.launch(fresh_learner, *LINK)
    assert 'id="follow-up-heading"' in asked.text
    assert "follow-up-heading" not in agent.get(home.url).text  # a reload of the course page does not ask again
    action = re.search(r'action="([^"]+/follow-up)"', asked.text).group(1)
    saved = agent.http.post(agent.url(action), data={"csrf_token": csrf_of(asked.text), "outcome": "done",
                                                     "note": "Tjeklisten bruges nu af hele teamet."}, timeout=30)
    assert saved.status_code == 200 and "followed_up=1" in saved.url
    assert "follow-up-heading" not in agent.launch(fresh_learner, *LINK).text
    plan_page = agent.get(activity_url(home.url, module, plan)).text
    assert "Tjeklisten bruges nu af hele teamet." in plan_page
    refused = agent.http.post(agent.url(action), data={"csrf_token": csrf_of(asked.text), "outcome": "x"}, timeout=30)
    assert refused.status_code == 400
