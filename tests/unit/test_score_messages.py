"""The comment sent with a score writes its numbers as the learner's language does."""

from __future__ import annotations

import pytest

from lti_tool.grading.messages import module_score
from lti_tool.progress.rules import ModuleState, ModuleStatus

# 31.5 of 185 points: a decimal that Danish and Swedish write with a comma.
HALFWAY = ModuleStatus(state=ModuleState.IN_PROGRESS, points=31.5, max_points=185.0, done=3, required=9,
                       pending_manual=False, next_activity_id="quiz")
WAITING = ModuleStatus(state=ModuleState.PENDING, points=1234.5, max_points=1500.0, done=9, required=9,
                       pending_manual=True, next_activity_id=None)


@pytest.mark.parametrize(("language", "comment"), [
    ("da", "3 af 9 aktiviteter gennemført · 31,5 af 185 point"),
    ("sv", "3 av 9 aktiviteter klara · 31,5 av 185 poäng"),
    ("en", "3 of 9 activities done · 31.5 of 185 points"),
    ("fr", "3 af 9 aktiviteter gennemført · 31,5 af 185 point"),  # a language without comments: Danish
])
def test_points_in_the_comment_follow_the_language(language, comment):
    assert module_score(HALFWAY, 100.0, language).comment == comment


@pytest.mark.parametrize(("language", "points"), [
    ("da", "1.234,5 af 1.500 point"), ("sv", "1\u00a0234,5 av 1\u00a0500 poäng"), ("en", "1,234.5 of 1,500 points"),
])
def test_large_numbers_are_grouped_as_the_language_groups_them(language, points):
    values = module_score(WAITING, 100.0, language)
    assert values.grading_progress == "PendingManual" and values.comment.endswith(points)
