"""Standard points across the packs, and what a changed maximum does to scores already given.

Quizzes and matchings weigh 10 in their module, case reflections 20; a rubric's levels add up; a
case's minimum words is what its intro asks for. A module's score goes to the LMS as a share of the
line item's own maximum, so re-weighting exercises never changes the line item, and a learner's
stored results (fractions) keep their value, scaled to the new points."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from lti_tool.content.loader import load_catalog
from lti_tool.grading.messages import module_score
from lti_tool.progress import rules

ROOT = Path(__file__).resolve().parents[2]
STANDARD = {"quiz": 10.0, "matching": 10.0, "reflection": 20.0, "action_plan": 0.0}
CATALOG = load_catalog(ROOT / "content")
EXERCISES = [(m, a) for p in CATALOG.programmes.values() for m in p.modules for a in m.activities if a.is_exercise]


@pytest.mark.parametrize(("module", "activity"), EXERCISES, ids=[f"{m.id}/{a.id}" for m, a in EXERCISES])
def test_each_exercise_has_the_standard_points(module, activity):
    # An optional exercise weighs nothing: adding one to a module lowers no one's score.
    assert activity.points == (STANDARD[activity.type] if activity.required else 0.0)


REFLECTIONS = [(m, a) for m, a in EXERCISES if a.type == "reflection"]


@pytest.mark.parametrize(("module", "activity"), REFLECTIONS, ids=[f"{m.id}/{a.id}" for m, a in REFLECTIONS])
def test_rubric_levels_add_up_and_min_words_match_the_case(module, activity):
    for criterion in activity.rubric:
        full, partial, missing = criterion.levels
        assert (full.level, partial.level, missing.level) == ("full", "partial", "missing")
        assert full.points == criterion.points and missing.points == 0 and 0 < partial.points < criterion.points
    assert sum(c.levels[0].points for c in activity.rubric) == activity.natural_points
    asked = re.findall(r"(\d+)\s*[–-]\s*\d+\s*(?:ord|words)", activity.intro_html + activity.case_html)
    # the range the case asks for, else about 60 words for each guiding question (in steps of 50)
    expected = int(asked[0]) if asked else 50 * -(-60 * len(activity.guiding_questions) // 50)
    assert activity.min_words == expected


def test_reweighting_keeps_past_results_and_the_line_item_maximum():
    module = CATALOG.module("nyankomne")
    records = {a.id: rules.ActivityRecord(status="graded" if a.type == "reflection" else "completed",
                                          score=0.8 if a.type == "reflection" else 1.0, passed=True, attempts=1)
               for a in module.activities if a.is_exercise}
    records |= {a.id: rules.ActivityRecord(status="viewed") for a in module.activities if a.type == "page"}
    before = rules.module_status(module, records)
    old_weights = dataclasses.replace(module, activities=tuple(
        dataclasses.replace(a, weight=15.0) if a.type == "reflection" else a for a in module.activities))
    old = rules.module_status(old_weights, records)
    # The reflection graded 80 % is worth 16 of 20 now, 12 of 15 before: its result keeps its value.
    assert before.points - old.points == pytest.approx(16 - 12)
    for status in (old, before):
        sent = module_score(status, 100.0, "da")
        assert sent.score_maximum == 100.0  # the line item's own maximum: nothing to update in the LMS
        assert sent.score_given == pytest.approx(100 * status.points / status.max_points, abs=1e-3)
