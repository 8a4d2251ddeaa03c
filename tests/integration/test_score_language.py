"""The comment sent with each score is in the learner's launch language, whatever the programme's."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.models import GradeTarget, LaunchRecord, ResourceLink, ScoreMessage
from tests.integration.test_learning import catalog, grade_pending, launch_id
from tests.support.learner import work_through


def comments(user_id: int, link_id: str) -> list[str]:
    """The comments queued for this learner on this link's line item, oldest first."""
    db.session.rollback()
    query = (select(ScoreMessage.comment)
             .join(GradeTarget, GradeTarget.id == ScoreMessage.grade_target_id)
             .join(ResourceLink, ResourceLink.id == GradeTarget.resource_link_id)
             .where(ScoreMessage.user_id == user_id, ResourceLink.resource_link_id == link_id)
             .order_by(ScoreMessage.timestamp))
    return [c or "" for c in db.session.scalars(query)]


# The large demo course's members 0900–0949 launch in Swedish, 0950– in English (reserved numbers,
# not handed out by fresh_learner); fresh learners launch in Danish.
@pytest.mark.parametrize(("user", "lang", "progress", "completed"), [
    (None, "da", "aktiviteter gennemført", "Gennemført · "),
    ("stor-kursus-l0912", "sv", "aktiviteter klara", "Genomförd · "),
    ("stor-kursus-l0956", "en", "activities done", "Completed · "),
], ids=["da", "sv", "en"])
def test_score_comments_speak_the_learners_language(app, agent, fresh_learner, user, lang, progress, completed):
    user = user or fresh_learner
    module = catalog(app).module("nyankomne")
    assert module.language == "da"  # a Danish module: only the learner's launch can make it Swedish or English
    home = agent.launch(user, "stor-kursus", "rl-stor")
    assert f'<html lang="{lang}"' in home.text
    user_id = db.session.get(LaunchRecord, launch_id(home.url)).user_id

    [opening] = comments(user_id, "rl-stor")  # the first launch's Initialized score
    assert progress in opening

    work_through(agent, home.url, module)
    grade_pending(app, user_id, module)  # the instructor's grading: the learner's language, not hers
    final = comments(user_id, "rl-stor")[-1]
    assert final.startswith(completed) and progress in final

    # A link to the whole (Danish) programme: its opening score carries the progress so far.
    home = agent.launch(user, "stor-kursus", "rl-stor-programme")
    [programme_opening] = comments(user_id, "rl-stor-programme")
    assert progress in programme_opening
