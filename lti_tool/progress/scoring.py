"""Scoring one submitted answer against its exercise. Pure functions, no database."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lti_tool.content.model import Activity, Option
from lti_tool.progress.rules import ActivityStatus


class AnswerError(ValueError):
    """The answer is incomplete or malformed; the message is shown to the learner."""


class AnswerTooLong(AnswerError):
    """A text is longer than the exercise keeps: not submitted cut short, the learner is told."""


@dataclass(frozen=True)
class Scored:
    """The outcome of scoring one answer, stored on the submission and the activity state."""

    # Fraction of the exercise's points (0–1), or None when an instructor will score it.
    score: float | None
    passed: bool | None
    # pending: waits for the instructor; submitted: done
    status: ActivityStatus
    result: dict[str, Any] = field(default_factory=dict)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def score_quiz(activity: Activity, answer: dict[str, Any]) -> Scored:
    """One point per question; a multiple-choice question only when exactly the right options."""
    results = {}
    correct = 0
    for question in activity.questions:
        chosen = set(_as_list(answer.get(question.id)))
        valid = {o.id for o in question.options}
        if not chosen or not chosen <= valid:
            raise AnswerError(question.id)
        if question.kind == "single" and len(chosen) != 1:
            raise AnswerError(question.id)
        right = chosen == set(question.correct_ids)
        correct += right
        results[question.id] = {"correct": right, "chosen": sorted(chosen)}
    fraction = correct / len(activity.questions) if activity.questions else 0.0
    return Scored(score=fraction, passed=fraction >= activity.pass_mark - 1e-9, status=ActivityStatus.SUBMITTED,
                  result={"questions": results, "correct": correct, "total": len(activity.questions)})


def score_matching(activity: Activity, answer: dict[str, Any]) -> Scored:
    """Each item's chosen match is the id of the pair whose match text was picked."""
    results = {}
    correct = 0
    ids = {p.id for p in activity.pairs}
    for pair in activity.pairs:
        chosen = answer.get(pair.id)
        if not isinstance(chosen, str) or chosen not in ids:
            raise AnswerError(pair.id)
        right = chosen == pair.id
        correct += right
        results[pair.id] = {"correct": right, "chosen": chosen}
    fraction = correct / len(activity.pairs) if activity.pairs else 0.0
    return Scored(score=fraction, passed=fraction >= activity.pass_mark - 1e-9, status=ActivityStatus.SUBMITTED,
                  result={"pairs": results, "correct": correct, "total": len(activity.pairs)})


def word_count(text: str) -> int:
    """Words in `text` as the min_words rule counts them: runs of letters, digits or underscores."""
    return len(re.findall(r"\w+", text or ""))


def check_reflection(activity: Activity, answer: dict[str, Any]) -> Scored:
    """A reflection is complete with enough words and, when the case has variants, a chosen role."""
    if activity.variants and activity.variant(answer.get("variant")) is None:
        raise AnswerError("variant")
    text = str(answer.get("text") or "").strip()
    if not text or word_count(text) < activity.min_words:
        raise AnswerError("text")
    return Scored(score=None, passed=None, status=ActivityStatus.PENDING, result={"words": word_count(text)})


def check_action_plan(activity: Activity, answer: dict[str, Any]) -> Scored:
    """An action plan is complete with at least `min_filled` prompts answered; it is never scored."""
    filled = [p.id for p in activity.prompts if str(answer.get(p.id) or "").strip()]
    if len(filled) < activity.min_filled:
        raise AnswerError("prompts")
    return Scored(score=None, passed=True, status=ActivityStatus.SUBMITTED, result={"filled": filled})


def score_answer(activity: Activity, answer: dict[str, Any]) -> Scored:
    """Score `answer` by the activity's type; raises AnswerError when it is incomplete or malformed."""
    scorers = {"quiz": score_quiz, "matching": score_matching, "reflection": check_reflection,
               "action_plan": check_action_plan}
    return scorers[activity.type](activity, answer)


def grade_reflection(activity: Activity, answer: Mapping[str, Any],
                     points: dict[str, float]) -> tuple[float, dict[str, float]]:
    """The instructor's points per criterion of the rubric `answer` was written to (its variant's),
    checked and turned into a fraction."""
    rubric = activity.case_for(answer.get("variant")).rubric
    given = {}
    for criterion in rubric:
        value = points.get(criterion.id)
        if value is None or not (0 <= value <= criterion.points):
            raise AnswerError(criterion.id)
        given[criterion.id] = float(value)
    total = sum(c.points for c in rubric)
    return (sum(given.values()) / total if total else 0.0), given


def matching_choices(activity: Activity, seed: str) -> list[tuple[str, str]]:
    """The match texts in an order fixed per learner, so a reload shows the same order."""
    choices = [(p.id, p.match) for p in activity.pairs]
    digest = hashlib.sha256(f"{seed}:{activity.id}".encode()).digest()
    random.Random(digest).shuffle(choices)  # noqa: S311 - presentation order only
    return choices


# Only the option order is keyed with this: a key derived for one purpose reveals nothing of SECRET_KEY
# or of the other keys derived from it.
_OPTION_ORDER_PURPOSE = b"integrationsloeft:quiz-option-order:v1"


def option_order(secret_key: str, user_id: int, activity_id: str, question_id: str, attempt: int,
                 options: Sequence[Option]) -> list[Option]:
    """A question's options in the order this learner sees them on this attempt.

    Sorted by an HMAC of (learner, activity, question, attempt, option id) under a key derived from
    SECRET_KEY: the same on every reload and draft, new on the next attempt, and not something a
    learner can work out from the content. Answers are kept and scored by option id, so the order
    changes no score and the feedback shown is always the chosen option's."""
    key = hmac.new(secret_key.encode(), _OPTION_ORDER_PURPOSE, hashlib.sha256).digest()

    def rank(option: Option) -> bytes:
        # JSON keeps the fields apart whatever characters the ids hold.
        message = json.dumps([user_id, activity_id, question_id, attempt, option.id]).encode()
        return hmac.new(key, message, hashlib.sha256).digest()

    return sorted(options, key=rank)
