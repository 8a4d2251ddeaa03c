"""Grading a reflection whose rubric has levels: the three choices, the instructor note beside the
rubric, a chosen level stored as its points, and the note kept from the learner."""

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
from tests.support.learner import activity_url, correct_answer, csrf_of, submit
from tests.support.rubrics import MODEL_ANSWER_MARK, MODULE, PROGRAMME, pack_with_levels

CASE_ID = "refleksion-familien-haddad"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """The tool serving the Danish pack with levels on the Haddad case, beside a demo LMS of its own."""
    with serving_content(pack_with_levels(tmp_path / "content"), tmp_path) as live:
        yield live


def _radios(page: str, criterion_id: str) -> list[tuple[str, str]]:
    """(value, label text) of each radio of a criterion's group, in page order."""
    found = re.findall(rf'<input type="radio" name="points-{criterion_id}" id="([^"]+)" value="([^"]*)"[^>]*>\s*'
                       r'<label for="\1">(.*?)</label>', page, re.S)
    return [(value, html.unescape(text_of(label)).strip()) for _, value, label in found]


def test_teacher_grades_with_levels_and_the_note_stays_with_the_teacher(server: LiveServer) -> None:
    app = server.app
    with app.app_context():
        module = runtime().catalog().programmes[PROGRAMME].module(MODULE)
    reflection = module.activity(CASE_ID)
    first, others = reflection.rubric[0], reflection.rubric[1:]
    assert first.levels and reflection.instructor_note is not None

    learner = server.agent()
    home = learner.launch("jonas", "vejle-int", "rl-nyankomne")
    assert home.ok, home.status_code
    sent = submit(learner, home.url, module, reflection, correct_answer(reflection))
    assert sent.status_code == 200 and "error=" not in sent.url, sent.url

    teacher = server.agent()
    board = teacher.launch("hanne", "vejle-int", "rl-nyankomne")
    assert board.ok and "/instructor/" in board.url, board.url
    with app.app_context():
        submission_id = db.session.scalars(select(Submission.id).where(
            Submission.activity_id == CASE_ID, Submission.status == "pending")).one()
    form = teacher.get(board.url + f"grading/{submission_id}")
    assert form.status_code == 200

    # The three levels, named in the interface's language (Danish), with points and anchor;
    # then the choice of another number. Criteria without levels keep their number field.
    choices = _radios(form.text, first.id)
    assert [value for value, _ in choices] == ["4", "2", "0", "other"]
    for (_, label), level, name in zip(choices, first.levels, ("Fuld", "Delvis", "Mangler"), strict=False):
        assert label == f"{name}, {level.points:g} point: {level.anchor}"
    assert re.search(r'<fieldset[^>]*>\s*<legend><span lang="da">' + re.escape(first.criterion), form.text)
    for criterion in others:
        assert f'<input type="number" id="points-{criterion.id}" name="points-{criterion.id}"' in form.text
    # The note beside the rubric: the model answer as sanitised Markdown and the three mistakes.
    note = re.search(r'<details class="instructor-note".*?</details>', form.text, re.S)
    assert note, "no instructor note on the grading page"
    assert f"<strong>{MODEL_ANSWER_MARK}</strong>" in note.group(0) and "<script" not in note.group(0)
    assert [html.unescape(m) for m in re.findall(r"<li>(.*?)</li>", note.group(0))[-3:]] == list(
        reflection.instructor_note.common_mistakes)

    # "Partial" stores the partial points; the others by number and by "another number".
    fields = {"csrf_token": csrf_of(form.text), f"points-{first.id}": "2", "feedback": "Tæt på."}
    fields.update({f"points-{c.id}": str(c.points) for c in others})
    done = teacher.http.post(form.url, data=fields, timeout=30)
    assert done.status_code == 200 and "graded=" in done.url, text_of(done.text)[:300]
    with app.app_context():
        stored = db.session.get(Submission, submission_id)
        assert stored.status == "graded"
        assert stored.result["points"] == {first.id: 2.0, **{c.id: c.points for c in others}}

    # The learner sees their result and the rubric, never the note.
    page = learner.get(activity_url(home.url, module, reflection))
    assert page.status_code == 200 and first.criterion in text_of(page.text)
    assert "Tæt på." in text_of(page.text)
    assert MODEL_ANSWER_MARK not in page.text and "instructor-note" not in page.text
    for mistake in reflection.instructor_note.common_mistakes:
        assert mistake not in html.unescape(page.text)
    retake = learner.get(activity_url(home.url, module, reflection) + "?retake=1")
    assert retake.status_code == 200 and first.criterion in text_of(retake.text)
    assert MODEL_ANSWER_MARK not in retake.text


def test_another_number_than_the_levels_and_a_missing_choice(server: LiveServer) -> None:
    app = server.app
    with app.app_context():
        module = runtime().catalog().programmes[PROGRAMME].module(MODULE)
    reflection = module.activity(CASE_ID)
    first, others = reflection.rubric[0], reflection.rubric[1:]
    learner = server.agent()
    home = learner.launch("sara", "vejle-int", "rl-nyankomne")
    assert submit(learner, home.url, module, reflection, correct_answer(reflection)).status_code == 200
    teacher = server.agent()
    board = teacher.launch("hanne", "vejle-int", "rl-nyankomne")
    with app.app_context():
        submission_id = db.session.scalars(select(Submission.id).where(
            Submission.activity_id == CASE_ID, Submission.status == "pending")).one()
    form = teacher.get(board.url + f"grading/{submission_id}")
    base = {"csrf_token": csrf_of(form.text), **{f"points-{c.id}": str(c.points) for c in others}}

    # No choice made: a clear message, the page again (a 400), nothing stored.
    refused = teacher.http.post(form.url, data=base, timeout=30)
    assert refused.status_code == 400 and "mellem 0" in text_of(refused.text)
    # "Another number" outside the criterion's range is refused, and kept on the page to correct.
    too_many = teacher.http.post(form.url, data={**base, f"points-{first.id}": "other", f"other-{first.id}": "9"},
                                 timeout=30)
    assert "mellem 0" in text_of(too_many.text) and f'name="other-{first.id}" min="0"' in too_many.text
    assert re.search(rf'id="points-{first.id}-other" value="other" checked', too_many.text)
    with app.app_context():
        assert db.session.get(Submission, submission_id).status == "pending"

    done = teacher.http.post(form.url, data={**base, f"points-{first.id}": "other", f"other-{first.id}": "3,5"},
                             timeout=30)
    assert "graded=" in done.url
    with app.app_context():
        assert db.session.get(Submission, submission_id).result["points"][first.id] == 3.5
