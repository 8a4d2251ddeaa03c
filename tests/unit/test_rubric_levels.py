"""Rubric levels and the instructor note in a reflection: read when right, named when wrong."""

from __future__ import annotations

import pytest

from lti_tool.content.loader import load_catalog
from tests.support.rubrics import LEVELS, MODULE, NOTE, PROGRAMME, case_path, pack_with_levels


def _haddad(catalog):
    return catalog.programmes[PROGRAMME].module(MODULE).activity("refleksion-familien-haddad")


def _line_of(path, needle: str, *, after: str = "") -> int:
    """The 1-based line of the first `needle` (after the first line holding `after`)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, ln in enumerate(lines) if after in ln) if after else 0
    return next(i + 1 for i, ln in enumerate(lines) if i >= start and needle in ln)


def test_levels_and_note_are_read(tmp_path):
    catalog = load_catalog(pack_with_levels(tmp_path / "content"))

    assert [str(p) for p in catalog.problems] == []
    reflection = _haddad(catalog)
    first, second = reflection.rubric[0], reflection.rubric[1]
    assert [(lv.level, lv.points) for lv in first.levels] == [("full", 4), ("partial", 2), ("missing", 0)]
    assert first.levels[1].anchor.startswith("Nævner de fleste aktører")
    assert second.levels == ()  # levels are optional per criterion
    note = reflection.instructor_note
    assert note is not None and len(note.common_mistakes) == 3
    assert "<strong>Modelsvarets første afsnit</strong>" in note.model_answer_html
    assert "<script" not in note.model_answer_html and "<li>" in note.model_answer_html


def test_a_case_without_note_or_levels_still_loads(tmp_path):
    catalog = load_catalog(pack_with_levels(tmp_path / "content", levels="", note=""))
    assert catalog.problems == [] and _haddad(catalog).instructor_note is None


@pytest.mark.parametrize(("old", "new", "field", "message"), [
    ("level: partial", "level: halvt", "rubric[0].levels[1].level", "must be 'partial'"),
    ("- level: missing\n        points: 0", "- level: missing\n        points: 1",
     "rubric[0].levels[2].points", "must be 0"),
    ("- level: full\n        points: 4", "- level: full\n        points: 3",
     "rubric[0].levels[0].points", "the criterion's points (4)"),
    ("- level: partial\n        points: 2", "- level: partial\n        points: 4",
     "rubric[0].levels[1].points", "less than the criterion's points"),
    ("anchor: \"Nævner få", "ankor: \"Nævner få", "rubric[0].levels[2].ankor", "did you mean 'anchor'"),
], ids=["wrong-name", "missing-not-zero", "full-not-criterion-points", "partial-not-below-full", "unknown-field"])
def test_wrong_levels_are_named_with_file_line_and_field(tmp_path, old, new, field, message):
    assert old in LEVELS
    content = pack_with_levels(tmp_path / "content", levels=LEVELS.replace(old, new, 1))
    path = case_path(content)
    line = _line_of(path, new.splitlines()[-1].strip(), after=new.splitlines()[0].strip())

    catalog = load_catalog(content)

    assert PROGRAMME in catalog.rejected
    [problem] = [p for p in catalog.problems if p.field == field]
    assert problem.file.endswith(path.name) and problem.line == line and message in problem.message, str(problem)


def test_two_levels_instead_of_three_are_named(tmp_path):
    two = LEVELS.split("      - level: missing")[0]
    content = pack_with_levels(tmp_path / "content", levels=two)

    catalog = load_catalog(content)

    [problem] = catalog.problems
    assert problem.field == "rubric[0].levels" and "exactly three" in problem.message
    assert problem.line == _line_of(case_path(content), "levels:")


def test_two_common_mistakes_instead_of_three_are_named(tmp_path):
    two = NOTE.replace('    - "Lover Samir, at han kan flytte til Aarhus."\n', "")
    content = pack_with_levels(tmp_path / "content", note=two)

    catalog = load_catalog(content)

    assert PROGRAMME in catalog.rejected
    [problem] = catalog.problems
    # The case's own note is appended last (role variants before it carry notes of their own).
    lines = case_path(content).read_text(encoding="utf-8").splitlines()
    note_line = max(i + 1 for i, ln in enumerate(lines) if ln == "  common_mistakes:")
    assert str(problem) == (f"{PROGRAMME}/{MODULE}/{case_path(content).name}:{note_line}: "
                            "instructor_note.common_mistakes: must be a list of exactly 3 texts, not 2")


@pytest.mark.parametrize(("note", "field"), [
    (NOTE.replace("  model_answer: |", "  model_svar: |"), "instructor_note.model_svar"),
    (NOTE.replace("  model_answer: |", "  model_answer: |").replace(
        "  common_mistakes:", "  tips: []\n  common_mistakes:"), "instructor_note.tips"),
    ("instructor_note: Se casen.\n", "instructor_note"),
], ids=["misspelt-model-answer", "unknown-field", "not-a-mapping"])
def test_a_broken_instructor_note_is_named(tmp_path, note, field):
    catalog = load_catalog(pack_with_levels(tmp_path / "content", note=note))
    assert field in [p.field for p in catalog.problems], [str(p) for p in catalog.problems]
    assert PROGRAMME in catalog.rejected
