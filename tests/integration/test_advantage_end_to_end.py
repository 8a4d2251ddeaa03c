"""LTI Advantage end to end against the demo LMS: placing modules by deep linking, grades to the LMS.

An instructor places two modules by deep linking; three learners work through both; the LMS
gradebook goes down part of the way and recovers; the instructor grades the reflections; every
learner ends with one final, FullyGraded score per line item, each delivered exactly once.
Real OIDC logins, RSA-signed id_tokens and deep-linking responses, OAuth2 tokens: nothing mocked.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from lti_tool.content.model import Activity, Module
from lti_tool.demo_lms import directory
from lti_tool.demo_lms.models import DemoLineItem, DemoResourceLink, DemoScore
from lti_tool.extensions import db
from lti_tool.lti import claims
from lti_tool.models import GradeTarget, ModuleProgress, ResourceLink, ScoreMessage
from tests.integration.test_grades import deliver_all, user_id_of
from tests.integration.test_instructor import deep_link_page
from tests.integration.test_learning import catalog
from tests.support.agent import Agent, autosubmit_form, text_of
from tests.support.learner import csrf_of, work_through
from tests.support.lms import lms, lms_command

COURSE = "stor-kursus"  # the large course: a thousand learners nobody else has used
MODULES = ("tvaerfagligt-samarbejde", "interkulturel-kommunikation")
# Rubric points the instructor takes off each criterion, per learner: full marks, fewer, fewest.
DEDUCTIONS = (0.0, 1.0, 2.5)


@dataclass(frozen=True)
class Placed:
    """A module placed in the course: the demo LMS's new link and its gradebook column."""

    module: Module
    link_id: str
    line_item_id: int
    score_maximum: float

    @property
    def reflection(self) -> Activity:
        return next(a for a in self.module.activities if a.type == "reflection")


@dataclass
class Learner:
    user: str
    agent: Agent
    homes: dict[str, str] = field(default_factory=dict)  # link id -> the launch's home URL
    user_id: int = 0  # the tool's id for the learner

    @property
    def name(self) -> str:
        found = directory.find_user(self.user)
        assert found is not None
        return found.name

    def home(self, placed: Placed) -> str:
        return self.homes[placed.link_id]


# --- 1. the instructor places two modules by deep linking --------------------------------------

def course_links(page: str) -> list[str]:
    return re.findall(rf'/demo-lms/courses/{COURSE}/open/([^"?/]+)"', page)


def verified_with_tool_jwks(agent: Agent, token: str) -> dict[str, Any]:
    """The deep-linking response, checked as the platform checks it: the tool's published key."""
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in agent.get("/.well-known/jwks.json").json()["keys"] if k["kid"] == kid)
    return jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["RS256"], audience=agent.lms_url + "/demo-lms")


def instructor_places_modules(live: Any, modules: list[Module]) -> list[Placed]:
    teacher = live.agent()
    catalogue = deep_link_page(teacher, COURSE)
    for module in modules:
        assert f'value="module:{module.id}"' in catalogue.text
    before = set(course_links(teacher.get(f"/demo-lms/courses/{COURSE}").text))

    answer = teacher.http.post(catalogue.url, timeout=30, data={
        "csrf_token": csrf_of(catalogue.text), "item": [f"module:{m.id}" for m in modules]})
    form = autosubmit_form(answer.text)
    assert form is not None, text_of(answer.text)
    action, fields = form
    body = verified_with_tool_jwks(teacher, fields["JWT"])
    assert body[claims.MESSAGE_TYPE] == "LtiDeepLinkingResponse"
    assert [i["custom"] for i in body[claims.DL_CONTENT_ITEMS]] == [{"module": m.id} for m in modules]

    returned = teacher.post(action, fields)  # the demo LMS verifies it against the tool's JWKS
    assert returned.status_code == 200 and f"/courses/{COURSE}?msg=" in returned.url, returned.url
    assert "2 aktiviteter tilføjet fra Integrationsløft." in text_of(returned.text)
    new_links = [link for link in course_links(returned.text) if link not in before]
    assert len(new_links) == 2

    placed = []
    with lms() as session:
        for module, link_id in zip(modules, new_links, strict=True):
            link = session.scalars(select(DemoResourceLink).where(DemoResourceLink.link_id == link_id)).one()
            item = session.scalars(select(DemoLineItem).where(DemoLineItem.resource_link_id == link_id)).one()
            assert link.custom == {"module": module.id} and link.title == module.title
            assert (item.resource_id, item.tag, item.score_maximum) == (module.id, "integrationsloeft", 100)
            placed.append(Placed(module, link_id, item.id, item.score_maximum))
    return placed


# --- 2. learners launch the new links and work through the modules -----------------------------

def learner_launches(live: Any, user: str, placements: list[Placed]) -> Learner:
    learner = Learner(user, live.agent())
    for placed in placements:
        home = learner.agent.launch(user, COURSE, placed.link_id)
        assert home.status_code == 200 and placed.module.title in text_of(home.text), home.url
        learner.homes[placed.link_id] = home.url
    learner.user_id = user_id_of(home.url)
    return learner


def up_to_first_exercise(module: Module) -> list[Activity]:
    first = next(i for i, a in enumerate(module.activities) if a.is_exercise)
    return list(module.activities[:first + 1])


def the_rest(module: Module) -> list[Activity]:
    return list(module.activities[len(up_to_first_exercise(module)):])


# --- 3. the gradebook goes down, then recovers -------------------------------------------------

@contextmanager
def gradebook_down() -> Iterator[None]:
    """`flask lms outage 503` for the block, `flask lms outage off` after it, whatever happens."""
    assert lms_command("lms", "outage", "503").exit_code == 0
    try:
        yield
    finally:
        result = lms_command("lms", "outage", "off")
        assert result.exit_code == 0, result.output


# --- 4. the instructor grades the waiting reflections ------------------------------------------

def waiting_reflections(teacher: Agent, board_url: str) -> dict[str, list[str]]:
    """The grading queue of the instructor's page: learner name -> links to grade."""
    page = teacher.get(board_url + "grading")
    assert page.status_code == 200
    queue: dict[str, list[str]] = {}
    for name, href in re.findall(r'<tr><th scope="row">([^<]+)</th>.*?href="([^"]+/grading/\d+)"', page.text, re.S):
        queue.setdefault(html.unescape(name), []).append(html.unescape(href))
    return queue


def instructor_grades_reflections(live: Any, placements: list[Placed],
                                  learners: list[Learner]) -> dict[tuple[str, str], float]:
    """Grade every learner's reflection through the grading pages; returns the rubric fractions."""
    teacher = live.agent()
    fractions = {}
    for placed in placements:
        board = teacher.launch("hanne", COURSE, placed.link_id)
        assert board.status_code == 200 and board.url.endswith("/instructor/"), board.url
        queue = waiting_reflections(teacher, board.url)
        for learner, deduction in zip(learners, DEDUCTIONS, strict=True):
            [grade_url] = queue[learner.name]
            form = teacher.get(grade_url)
            assert placed.reflection.title in text_of(form.text)
            points = {c.id: max(0.0, c.points - deduction) for c in placed.reflection.rubric}
            done = teacher.post(grade_url, {
                "csrf_token": csrf_of(form.text), **{f"points-{k}": str(v) for k, v in points.items()},
                "feedback": f"Tak, {learner.name}: en grundig refleksion."})
            assert done.status_code == 200 and f"graded={grade_url.rsplit('/', 1)[1]}" in done.url, done.url
            fractions[learner.user, placed.module.id] = (
                sum(points.values()) / sum(c.points for c in placed.reflection.rubric))
        assert not {learner.name for learner in learners} & set(waiting_reflections(teacher, board.url))
    return fractions


# --- 5. what the demo LMS gradebook and the tool's outbox hold ---------------------------------

def lms_score(learner: Learner, placed: Placed) -> DemoScore | None:
    with lms() as session:  # a fresh session: what the LMS committed meanwhile
        return session.scalars(select(DemoScore).where(DemoScore.line_item_id == placed.line_item_id,
                                                       DemoScore.user_id == learner.user)).one_or_none()


def outbox(learner: Learner, placed: Placed) -> list[ScoreMessage]:
    """The learner's score messages for the placement's line item, oldest first."""
    db.session.rollback()
    return list(db.session.scalars(
        select(ScoreMessage).join(GradeTarget, GradeTarget.id == ScoreMessage.grade_target_id)
        .join(ResourceLink, ResourceLink.id == GradeTarget.resource_link_id)
        .where(ResourceLink.resource_link_id == placed.link_id, ScoreMessage.user_id == learner.user_id)
        .order_by(ScoreMessage.id)))


def expected_fraction(module: Module, reflection_fraction: float) -> float:
    """All exercises right, the reflection at the instructor's rubric points: from the content."""
    reflection = next(a for a in module.activities if a.type == "reflection")
    others = sum(a.points for a in module.activities if a.is_scored and a is not reflection)
    return (others + reflection.points * reflection_fraction) / module.max_points


def assert_final_score_delivered_once(learner: Learner, placed: Placed, reflection_fraction: float) -> None:
    db.session.rollback()
    progress = db.session.scalars(select(ModuleProgress).where(
        ModuleProgress.user_id == learner.user_id, ModuleProgress.module_id == placed.module.id)).one()
    expected = expected_fraction(placed.module, reflection_fraction)
    assert progress.status == "completed"
    # Points are kept to 4 decimals, and a reflection scaled to its standard 20 points is rarely whole.
    assert progress.points / progress.max_points == pytest.approx(expected, abs=1e-4)

    score = lms_score(learner, placed)
    assert score is not None
    assert (score.activity_progress, score.grading_progress) == ("Completed", "FullyGraded")
    assert score.score_maximum == placed.score_maximum
    assert score.score_given == pytest.approx(progress.points / progress.max_points * placed.score_maximum, abs=1e-3)

    rows = outbox(learner, placed)
    delivered = [r for r in rows if r.state == "delivered"]
    assert {r.state for r in rows} <= {"delivered", "superseded"}, [(r.id, r.state, r.last_error) for r in rows]
    assert all(a.timestamp < b.timestamp for a, b in pairwise(rows))
    final = rows[-1]
    assert (final.state, final.grading_progress, final.attempts) == ("delivered", "FullyGraded", 1)
    assert score.timestamp == final.timestamp
    # Every delivered row was accepted once (no 409 for a score sent twice), and only those.
    assert all(r.last_error is None for r in delivered)
    assert score.received == len(delivered)


# --- the story -----------------------------------------------------------------------------------

def test_two_deep_linked_modules_reach_the_gradebook_once_each_through_an_outage(
        app: Flask, live: Any, runner: FlaskCliRunner, make_learner: Callable[[], str]) -> None:
    # 1. The instructor places two modules by deep linking.
    first, second = placements = instructor_places_modules(live, [catalog(app).module(m) for m in MODULES])

    # 2. Three learners launch the new links; the first module through, the second begun.
    learners = [learner_launches(live, make_learner(), placements) for _ in DEDUCTIONS]
    for learner in learners:
        work_through(learner.agent, learner.home(first), first.module)
        work_through(learner.agent, learner.home(second), second.module, up_to_first_exercise(second.module))
    deliver_all(app)
    for learner in learners:
        waiting = lms_score(learner, first)
        assert waiting is not None and waiting.score_given is None  # as Moodle: no points before FullyGraded
        assert (waiting.activity_progress, waiting.grading_progress) == ("Submitted", "PendingManual")
        begun = lms_score(learner, second)
        assert begun is not None and (begun.activity_progress, begun.grading_progress) == ("InProgress", "Pending")

    # 3. The gradebook is down while they finish the second module; the scores wait; it recovers.
    with gradebook_down():
        for learner in learners:
            work_through(learner.agent, learner.home(second), second.module, the_rest(second.module))
        deliver_all(app, rounds=2)
        for learner in learners:
            newest = outbox(learner, second)[-1]
            assert (newest.state, newest.attempts, newest.grading_progress) == ("queued", 2, "PendingManual")
            assert newest.last_error.startswith("503")
            assert lms_score(learner, second).timestamp < newest.timestamp  # the LMS holds the older one
    deliver_all(app)
    for learner in learners:
        held, newest = lms_score(learner, second), outbox(learner, second)[-1]
        assert (newest.state, newest.attempts) == ("delivered", 3)
        assert (held.timestamp, held.grading_progress) == (newest.timestamp, "PendingManual")

    # 4. The instructor grades the six reflections on the grading pages.
    fractions = instructor_grades_reflections(live, placements, learners)
    assert len(set(fractions.values())) == len(DEDUCTIONS)  # three different grades

    # 5. The outbox is delivered: one final score per learner and line item, each exactly once.
    deliver_all(app)
    for learner in learners:
        for placed in placements:
            assert_final_score_delivered_once(learner, placed, fractions[learner.user, placed.module.id])
    db.session.rollback()
    left = db.session.scalars(select(ScoreMessage).where(
        ScoreMessage.user_id.in_([learner.user_id for learner in learners]),
        ScoreMessage.state.not_in(("delivered", "superseded")))).all()
    assert left == []
