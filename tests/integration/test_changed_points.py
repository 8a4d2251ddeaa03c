"""A graded reflection keeps what its instructor gave when a pack's points change later."""

from __future__ import annotations

import dataclasses
import uuid

from sqlalchemy import select

from lti_tool.models import Submission, User
from lti_tool.progress import rules, service, state
from lti_tool.runtime import runtime
from tests.support.learner import correct_answer
from tests.support.records import seed_platform


def test_graded_points_keep_their_maxima_and_share_when_the_rubric_changes(db_app, db_session):
    catalog = runtime().catalog()
    module = catalog.module("nyankomne")
    case = next(a for a in module.activities if a.type == "reflection")
    platform = seed_platform(db_session)
    user = User(platform_id=platform.id, sub=f"sub-{uuid.uuid4().hex[:8]}", name="Lærer", locale="da-DK")
    db_session.add(user)
    db_session.commit()
    service.submit_answer(db_session, catalog, user.id, module, case, correct_answer(case))
    submission = db_session.scalars(select(Submission).where(Submission.user_id == user.id,
                                                             Submission.activity_id == case.id)).one()
    given = {c.id: c.levels[1].points for c in case.rubric}  # partial on every criterion
    service.grade_submission(db_session, catalog, submission.id, module, case, grader_id=user.id,
                             points=given, feedback="")
    db_session.refresh(submission)
    assert submission.result["points"] == given
    assert submission.result["maxima"] == {c.id: c.points for c in case.rubric}  # "2 / 4" stays "2 / 4"
    share = submission.score
    assert share == sum(given.values()) / sum(c.points for c in case.rubric)

    # The pack doubles every criterion's points and the case weighs 30: the stored share is scaled.
    doubled = dataclasses.replace(case, weight=30.0, rubric=tuple(
        dataclasses.replace(c, points=2 * c.points) for c in case.rubric))
    changed = dataclasses.replace(module, activities=tuple(
        doubled if a.id == case.id else a for a in module.activities))
    records = state.activity_records(db_session, user.id, changed)
    assert records[case.id].score == share
    before = rules.module_status(module, state.activity_records(db_session, user.id, module))
    after = rules.module_status(changed, records)
    assert after.points - before.points == round(share * (30.0 - case.points), 4)
