"""Completion rules: from what a learner has done to activity, module and programme status.

Pure functions over the content and plain records, so they are tested without a database and
the same code decides what the learner, the instructor and the LMS gradebook see.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from lti_tool.content.model import Activity, Module, Programme


class ActivityStatus(enum.StrEnum):
    """Where a learner stands on one activity; stored as its string in activity_states.status."""

    VIEWED = "viewed"  # opened, nothing submitted
    DRAFT = "draft"  # a reflection saved but not submitted
    SUBMITTED = "submitted"  # scored automatically
    PENDING = "pending"  # waiting for the instructor's grading
    GRADED = "graded"  # graded by the instructor


class SubmissionStatus(enum.StrEnum):
    """The state of one submission; stored as its string in submissions.status."""

    SUBMITTED = "submitted"  # scored automatically
    PENDING = "pending"  # waiting for the instructor's grading
    GRADED = "graded"
    SUPERSEDED = "superseded"  # a newer submission of the same activity replaced it before grading


class ModuleState(enum.StrEnum):
    """A learner's state in a module; stored as its string in module_progress.status."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    PENDING = "pending"  # everything done, a reflection waits for grading
    COMPLETED = "completed"


@dataclass(frozen=True)
class ActivityRecord:
    """What the rules need of a learner's stored state on one activity."""

    status: str  # an ActivityStatus
    score: float | None = None
    passed: bool | None = None
    attempts: int = 0


def activity_done(activity: Activity, record: ActivityRecord | None) -> bool:
    """Opened (pages) or submitted (exercises); quizzes must also have reached their pass mark."""
    if record is None:
        return False
    if activity.type == "page":
        return True
    if record.attempts < 1 or record.status == ActivityStatus.DRAFT:
        return False
    if activity.type == "quiz":
        return record.passed is True
    return True


def activity_waiting(activity: Activity, record: ActivityRecord | None) -> bool:
    """Submitted and waiting for the instructor's grading."""
    return activity.type == "reflection" and record is not None and record.status == ActivityStatus.PENDING


@dataclass(frozen=True)
class ModuleStatus:
    """A learner's standing in one module, as the learner, the instructor and the gradebook see it."""

    state: ModuleState
    points: float
    max_points: float
    done: int
    required: int
    pending_manual: bool
    next_activity_id: str | None

    @property
    def fraction(self) -> float:
        """The score as a share of the module's points (0–1); 0 when the module has none."""
        return self.points / self.max_points if self.max_points else 0.0

    @property
    def percent_done(self) -> int:
        """Required activities done, in percent; 100 when none are required."""
        return round(100 * self.done / self.required) if self.required else 100


def module_status(module: Module, records: Mapping[str, ActivityRecord]) -> ModuleStatus:
    """Records of removed activities are ignored; new activities count as not done."""
    current = [a for a in module.activities]
    required = [a for a in current if a.required]
    done = [a for a in required if activity_done(a, records.get(a.id))]
    waiting = any(activity_waiting(a, records.get(a.id)) for a in current)
    points = 0.0
    for activity in current:
        record = records.get(activity.id)
        if activity.is_scored and record is not None and record.score is not None:
            points += activity.points * max(0.0, min(1.0, record.score))
    touched = any(a.id in records for a in current)
    next_id = next((a.id for a in current if not activity_done(a, records.get(a.id))
                    and not activity_waiting(a, records.get(a.id))), None)
    if not touched:
        state = ModuleState.NOT_STARTED
    elif len(done) == len(required) and not waiting:
        state = ModuleState.COMPLETED
    elif len(done) == len(required):
        state = ModuleState.PENDING
    else:
        state = ModuleState.IN_PROGRESS
    return ModuleStatus(state=state, points=round(points, 4), max_points=module.max_points, done=len(done),
                        required=len(required), pending_manual=waiting, next_activity_id=next_id)


@dataclass(frozen=True)
class ProgrammeStatus:
    """A learner's standing in a programme, counted in completed modules."""

    completed: bool
    mandatory_done: int
    mandatory_total: int
    electives_done: int
    electives_required: int

    @property
    def remaining(self) -> int:
        """Modules still to complete: the mandatory ones left plus the electives still missing."""
        electives_left = max(0, self.electives_required - self.electives_done)
        return (self.mandatory_total - self.mandatory_done) + electives_left


def programme_status(programme: Programme, states: Mapping[str, str]) -> ProgrammeStatus:
    """All mandatory modules plus the required number of electives; extra electives don't hurt."""
    mandatory_done = sum(1 for m in programme.mandatory if states.get(m.id) == ModuleState.COMPLETED)
    electives_done = sum(1 for m in programme.electives if states.get(m.id) == ModuleState.COMPLETED)
    completed = mandatory_done == len(programme.mandatory) and electives_done >= programme.electives_required
    return ProgrammeStatus(completed=completed, mandatory_done=mandatory_done,
                           mandatory_total=len(programme.mandatory), electives_done=electives_done,
                           electives_required=programme.electives_required)
