"""Reflections waiting for the instructor, limited to the course the instructor launched from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from lti_tool.content.model import Activity, CaseVariant, Criterion, Module
from lti_tool.errors import NotAwaitingGrading, NotFound
from lti_tool.models import LaunchRecord, Submission, User
from lti_tool.progress.rules import SubmissionStatus


@dataclass(frozen=True)
class ReviewItem:
    """A reflection waiting for grading, with its learner and where it sits in the content."""

    submission: Submission
    learner: User
    module: Module
    activity: Activity

    @property
    def case(self) -> CaseVariant:
        """The version of the case the learner chose and answered, with its rubric and note."""
        return self.activity.case_for((self.submission.answer or {}).get("variant"))


def _course_users(context_pk: int | None) -> Select[Any]:
    return select(LaunchRecord.user_id).where(LaunchRecord.context_id == context_pk)


def pending_reviews(session: Session, modules: tuple[Module, ...], context_pk: int | None) -> list[ReviewItem]:
    """Reflections waiting for grading in `modules` from the course's learners, oldest first.

    A course's learners are those who launched from its context; an answer whose activity was
    removed from the content is left out."""
    by_id = {m.id: m for m in modules}
    rows = session.execute(
        select(Submission, User).join(User, User.id == Submission.user_id)
        .where(Submission.status == SubmissionStatus.PENDING, Submission.module_id.in_(by_id),
               Submission.user_id.in_(_course_users(context_pk)))
        .order_by(Submission.created_at)
    ).all()
    items = []
    for submission, learner in rows:
        activity = by_id[submission.module_id].activity(submission.activity_id)
        if activity is not None:  # a reflection removed from the content is not graded any more
            items.append(ReviewItem(submission, learner, by_id[submission.module_id], activity))
    return items


def review_item(session: Session, submission_id: int, modules: tuple[Module, ...],
                context_pk: int | None) -> ReviewItem:
    """One submission waiting for grading, only if it belongs to this course's placement."""
    row = session.execute(
        select(Submission, User).join(User, User.id == Submission.user_id)
        .where(Submission.id == submission_id, Submission.user_id.in_(_course_users(context_pk)))
    ).first()
    module = next((m for m in modules if row and m.id == row[0].module_id), None)
    activity = module.activity(row[0].activity_id) if module and row else None
    if row is None or module is None or activity is None or activity.type != "reflection":
        raise NotFound(f"submission {submission_id} is not in this course")
    if row[0].status != SubmissionStatus.PENDING:
        # Only the newest answer is graded, once: a superseded one would overwrite the learner's
        # state with the grade of an answer they have since replaced.
        raise NotAwaitingGrading(f"submission {submission_id} is {row[0].status}")
    return ReviewItem(row[0], row[1], module, activity)


# The radio choice beside a criterion's levels that takes its points from the number field instead.
OTHER_POINTS = "other"


def _number(raw: str | None) -> float:
    """A number of points as typed: a decimal comma is fine (Danish and Swedish keyboards)."""
    return float((raw or "").strip().replace(",", "."))


def criterion_points(criterion: Criterion, form: Mapping[str, str]) -> float:
    """The points the grading form gives `criterion`; ValueError when there are none or not a number.

    A criterion with levels is a radio group `points-<id>` whose values are the levels' points, or
    OTHER_POINTS with the number in `other-<id>`; a criterion without is a number field `points-<id>`.
    The range is checked when the grade is stored (lti_tool.progress.scoring)."""
    chosen = form.get(f"points-{criterion.id}")
    if criterion.levels and chosen == OTHER_POINTS:
        return _number(form.get(f"other-{criterion.id}"))
    return _number(chosen)


def rubric_points(rubric: Sequence[Criterion], form: Mapping[str, str]) -> dict[str, float]:
    """The points per criterion of `rubric` (the answered variant's) from the grading form (see
    criterion_points)."""
    return {c.id: criterion_points(c, form) for c in rubric}


@dataclass(frozen=True)
class RubricForm:
    """A posted grading form read per criterion: the points given, and the criteria whose field
    holds no number within 0 and their maximum (`faults`, by criterion id), each to be marked."""

    points: dict[str, float]
    faults: frozenset[str]


def read_rubric(rubric: Sequence[Criterion], form: Mapping[str, str]) -> RubricForm:
    """Every criterion's points of `rubric` (the answered variant's) from the grading form, with every
    criterion at fault, not only the first."""
    points: dict[str, float] = {}
    faults: set[str] = set()
    for criterion in rubric:
        try:
            value = criterion_points(criterion, form)
        except ValueError:
            faults.add(criterion.id)
            continue
        if 0 <= value <= criterion.points:  # NaN and infinities fail this too
            points[criterion.id] = value
        else:
            faults.add(criterion.id)
    return RubricForm(points, frozenset(faults))
