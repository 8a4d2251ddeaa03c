"""A case with role variants over HTTP: the learner chooses a role before writing, the choice is
kept with the draft and the answer, and the instructor grades the variant answered with its rubric."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.models import Submission
from lti_tool.runtime import runtime
from tests.conftest import LiveServer, serving_content
from tests.support.agent import text_of
from tests.support.learner import activity_url, csrf_of
from tests.support.rubrics import MODULE, PROGRAMME
from tests.support.variants import TEACHER, TEACHER_CASE_MARK, TEACHER_NOTE_MARK, pack_with_variants

CASE_ID = "refleksion-familien-haddad"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """The tool serving the Danish pack with the tests' variants on the Haddad case."""
    with serving_content(pack_with_variants(tmp_path / "content"), tmp_path) as live:
        yield live


def test_learner_chooses_a_role_answers_and_the_instructor_grades_that_variant(server: LiveServer) -> None:
    app = server.app
    with app.app_context():
        module = runtime().catalog().programmes[PROGRAMME].module(MODULE)
    case = module.activity(CASE_ID)
    teacher_variant = case.variant(TEACHER)
    assert teacher_variant is not None

    learner = server.agent()
    home = learner.launch("jonas", "vejle-int", "rl-nyankomne")
    assert home.ok, home.status_code
    url = activity_url(home.url, module, case)

    # First the role: every variant offered, no answer form and no case text yet.
    first = learner.get(url)
    assert first.status_code == 200
    roles = re.findall(r'<input type="radio" name="variant" id="variant-([^"]+)"', first.text)
    assert roles == [v.id for v in case.variants]
    assert 'name="text" rows' not in first.text and TEACHER_CASE_MARK not in first.text

    # An answer sent without a role is refused and kept as a draft.
    words = " ".join(["Lina tolker ikke ved forældresamtalen"] * (case.min_words // 5 + 2))
    refused = learner.http.post(url, data={"csrf_token": csrf_of(first.text), "text": words}, timeout=30)
    assert "error=incomplete" in refused.url

    # Choosing the teacher's role keeps what was written and shows the teacher's case and rubric.
    chosen = learner.http.post(url + "/draft", data={"csrf_token": csrf_of(first.text), "variant": TEACHER,
                                                     "text": words}, timeout=30)
    assert chosen.status_code == 200
    page = text_of(chosen.text)
    assert TEACHER_CASE_MARK in page and teacher_variant.role in page
    assert teacher_variant.rubric[0].criterion in page and case.rubric[0].criterion not in page
    assert f'<input type="hidden" name="variant" value="{TEACHER}">' in chosen.text
    assert html.unescape(re.search(r'<textarea id="text"[^>]*>(.*?)</textarea>', chosen.text, re.S).group(1)) == words
    assert TEACHER_NOTE_MARK not in chosen.text  # the instructor's note never reaches the learner

    sent = learner.http.post(url, data={"csrf_token": csrf_of(chosen.text), "variant": TEACHER, "text": words},
                             timeout=30)
    assert sent.status_code == 200 and "error=" not in sent.url, sent.url
    with app.app_context():
        stored = db.session.scalars(select(Submission).where(Submission.activity_id == CASE_ID)).one()
        assert stored.answer == {"text": words, "variant": TEACHER} and stored.status == "pending"
        submission_id = stored.id

    # The instructor sees which variant was answered, its case, rubric and note.
    teacher = server.agent()
    board = teacher.launch("hanne", "vejle-int", "rl-nyankomne")
    assert board.ok and "/instructor/" in board.url, board.url
    listing = teacher.get(board.url + "grading")
    assert teacher_variant.role in text_of(listing.text)
    form = teacher.get(board.url + f"grading/{submission_id}")
    assert form.status_code == 200
    shown = text_of(form.text)
    assert f"Besvaret variant: {teacher_variant.role}" in shown
    assert TEACHER_CASE_MARK in shown and TEACHER_NOTE_MARK in shown
    assert [c for c in re.findall(r'name="points-([a-z0-9-]+)"', form.text)] == ["skolestart"] * 4 + ["tolkerollen"]

    done = teacher.http.post(form.url, data={"csrf_token": csrf_of(form.text), "points-skolestart": "3",
                                             "points-tolkerollen": "4", "feedback": "Godt."}, timeout=30)
    assert "graded=" in done.url, text_of(done.text)[:300]
    with app.app_context():
        graded = db.session.get(Submission, submission_id)
        assert graded.status == "graded" and graded.score == pytest.approx(0.7)
        assert graded.result["points"] == {"skolestart": 3.0, "tolkerollen": 4.0}
        assert graded.result["maxima"] == {c.id: c.points for c in teacher_variant.rubric}  # the variant's rubric

    # The learner's result names the role and lists the teacher variant's criteria.
    result = text_of(learner.get(url).text)
    assert teacher_variant.role in result and "Skolestarten" in result and "70" in result
