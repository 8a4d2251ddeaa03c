"""The comment sent with each score is in the learner's launch language, whatever the programme's."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.models import GradeTarget, LaunchRecord, ResourceLink, ScoreMessage
from tests.integration.test_external_platform import launch
from tests.integration.test_learning import catalog, grade_pending, launch_id
from tests.support.agent import landing_url
from tests.support.learner import work_through

LTI = "https://purl.imsglobal.org/spec/lti/claim/"


def comments(user_id: int, link_id: str) -> list[str]:
    """The comments queued for this learner on this link's line item, oldest first."""
    db.session.rollback()
    query = (select(ScoreMessage.comment)
             .join(GradeTarget, GradeTarget.id == ScoreMessage.grade_target_id)
             .join(ResourceLink, ResourceLink.id == GradeTarget.resource_link_id)
             .where(ScoreMessage.user_id == user_id, ResourceLink.resource_link_id == link_id)
             .order_by(ScoreMessage.timestamp))
    return [c or "" for c in db.session.scalars(query)]


def launch_in(agent, external, sub: str, locale: str, link: str, custom: dict[str, str]):
    """A learner's launch from a platform of its own, in `locale`; the learner's home page."""
    def shape(body: dict) -> None:
        body[LTI + "launch_presentation"]["locale"] = locale
        body[LTI + "resource_link"]["id"] = link
        body[LTI + "custom"] = custom

    response, _, _ = launch(agent, external, sub=sub, mutate=shape)
    return agent.get(landing_url(response))


@pytest.mark.parametrize(("locale", "lang", "progress", "completed"), [
    ("da-DK", "da", "aktiviteter gennemført", "Gennemført · "),
    ("sv-SE", "sv", "aktiviteter klara", "Genomförd · "),
    ("en-GB", "en", "activities done", "Completed · "),
], ids=["da", "sv", "en"])
def test_score_comments_speak_the_learners_language(app, agent, external, locale, lang, progress, completed):
    module = catalog(app).module("nyankomne")
    assert module.language == "da"  # a Danish module: only the learner's launch can make it Swedish or English
    sub = f"sprog-{uuid.uuid4().hex[:8]}"
    home = launch_in(agent, external, sub, locale, "ext-module", {"module": "nyankomne"})
    assert f'<html lang="{lang}"' in home.text
    user_id = db.session.get(LaunchRecord, launch_id(home.url)).user_id

    [opening] = comments(user_id, "ext-module")  # the first launch's Initialized score
    assert progress in opening

    work_through(agent, home.url, module)
    grade_pending(app, user_id, module)  # the instructor's grading: the learner's language, not hers
    final = comments(user_id, "ext-module")[-1]
    assert final.startswith(completed) and progress in final

    # A link to the whole (Danish) programme: its opening score carries the progress so far.
    launch_in(agent, external, sub, locale, "ext-programme", {"programme": "efteruddannelse-integration"})
    [programme_opening] = comments(user_id, "ext-programme")
    assert progress in programme_opening
