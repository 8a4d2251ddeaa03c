"""Role variants of a case reflection: read and filled in from the shared case when right, named
with file, line and field when wrong; a reflection with variants needs a chosen role."""

from __future__ import annotations

import pytest

from lti_tool.content.loader import load_catalog
from lti_tool.progress.scoring import AnswerError, check_reflection, grade_reflection
from tests.support.rubrics import MODULE, PROGRAMME, case_path
from tests.support.variants import (
    NURSE,
    SHARED,
    TEACHER,
    TEACHER_CASE_MARK,
    TEACHER_NOTE_MARK,
    VARIANTS,
    pack_with_variants,
)


def _haddad(catalog):
    return catalog.programmes[PROGRAMME].module(MODULE).activity("refleksion-familien-haddad")


def test_variants_are_read_and_take_what_they_leave_out_from_the_case(tmp_path):
    catalog = load_catalog(pack_with_variants(tmp_path / "content"))

    assert [str(p) for p in catalog.problems] == []
    case = _haddad(catalog)
    shared, teacher, nurse = case.variants
    assert [v.id for v in case.variants] == [SHARED, TEACHER, NURSE]
    assert (shared.case_html, shared.guiding_questions, shared.rubric, shared.instructor_note) == (
        case.case_html, case.guiding_questions, case.rubric, case.instructor_note)
    assert teacher.role == "Lærer i modtagelsesklassen"
    assert f"<strong>{TEACHER_CASE_MARK}</strong>" in teacher.case_html
    assert teacher.guiding_questions == ("Hvad gør du den første uge?",)
    assert [c.id for c in teacher.rubric] == ["skolestart", "tolkerollen"]
    assert [lv.points for lv in teacher.rubric[0].levels] == [6, 3, 0]
    assert teacher.instructor_note is not None and TEACHER_NOTE_MARK in teacher.instructor_note.model_answer_html
    # Its own case, no note of its own: the shared note is about another case and is not taken.
    assert "Sundhedsplejerskens udgave" in nurse.case_html and nurse.instructor_note is None
    assert nurse.rubric == case.rubric and nurse.guiding_questions == case.guiding_questions
    # The weight in the module score does not depend on the role.
    assert case.points == sum(c.points for c in case.rubric) or case.points == case.weight


def test_an_answer_without_variant_is_the_case_at_the_top(tmp_path):
    case = _haddad(load_catalog(pack_with_variants(tmp_path / "content")))
    assert case.case_for(None).rubric == case.rubric and case.case_for("fjernet").id == ""
    assert case.case_for(TEACHER) is case.variants[1]


@pytest.mark.parametrize(("old", "new", "field", "message"), [
    (f"  - id: {TEACHER}\n", f"  - id: {SHARED}\n", "variants", f"id '{SHARED}' is used twice"),
    (f"  - id: {TEACHER}\n", "  - id: Lærer\n", "variants[1].id", "is not an id"),
    ("    role: Sundhedsplejerske\n", "", "variants[2].role", "is required"),
    ("    role: Sundhedsplejerske\n", "    rolle: Sundhedsplejerske\n", "variants[2].rolle",
     "did you mean 'role'"),
    ("            points: 3\n", "            points: 7\n", "variants[1].rubric[0].levels[1].points",
     "less than the criterion's points"),
    ('        - "Glemmer Adams skolestart."\n', "", "variants[1].instructor_note.common_mistakes",
     "exactly 3 texts"),
], ids=["duplicate-id", "bad-id", "no-role", "misspelt-role", "bad-level", "two-mistakes"])
def test_wrong_variants_are_named_with_file_line_and_field(tmp_path, old, new, field, message):
    assert old in VARIANTS
    content = pack_with_variants(tmp_path / "content", variants=VARIANTS.replace(old, new, 1))

    catalog = load_catalog(content)

    assert PROGRAMME in catalog.rejected
    found = [p for p in catalog.problems if p.field == field]
    assert found, [str(p) for p in catalog.problems]
    assert found[0].file.endswith(case_path(content).name) and found[0].line and message in found[0].message


@pytest.mark.parametrize("variants", [
    "variants:\n  - id: laerer\n    role: Lærer\n",
    "variants: Lærer, sundhedsplejerske\n",
    "variants:\n  - Lærer\n  - Sundhedsplejerske\n",
], ids=["only-one", "not-a-list", "not-mappings"])
def test_variants_that_offer_no_choice_are_named(tmp_path, variants):
    catalog = load_catalog(pack_with_variants(tmp_path / "content", variants=variants))
    assert "variants" in [p.field for p in catalog.problems], [str(p) for p in catalog.problems]


def test_a_reflection_with_variants_needs_a_known_role_and_is_graded_by_its_rubric(tmp_path):
    case = _haddad(load_catalog(pack_with_variants(tmp_path / "content")))
    text = " ".join(["ord"] * (case.min_words + 5))

    with pytest.raises(AnswerError):
        check_reflection(case, {"text": text})
    with pytest.raises(AnswerError):
        check_reflection(case, {"text": text, "variant": "rektor"})
    assert check_reflection(case, {"text": text, "variant": TEACHER}).status == "pending"

    fraction, given = grade_reflection(case, {"variant": TEACHER}, {"skolestart": 3, "tolkerollen": 4})
    assert given == {"skolestart": 3.0, "tolkerollen": 4.0} and fraction == pytest.approx(0.7)
    with pytest.raises(AnswerError):  # the shared rubric's criteria are not the teacher's
        grade_reflection(case, {"variant": TEACHER}, {c.id: c.points for c in case.rubric})
    full, _ = grade_reflection(case, {"variant": NURSE}, {c.id: c.points for c in case.rubric})
    assert full == 1.0
