"""What a score message says, from a module's (or programme's) status. Pure functions.

Moodle keeps `scoreGiven` only when `gradingProgress` is FullyGraded and takes completion from
its own "receive a grade" condition. So a score is FullyGraded only when the module (or
programme) is complete: the grade appears in Moodle's gradebook exactly when the learner
completes, which makes "Receive a grade" an exact completion condition. Before that, the
message is Pending (PendingManual while a reflection waits) with the points so far and a comment
that tells the coordinator how far the learner has come; Moodle shows the comment as feedback.
Canvas ignores the points of a Pending score but keeps those of PendingManual (shown as "needs
grading"), and records each score post as a submission attempt with its comment.
"""

from __future__ import annotations

from dataclasses import dataclass

from babel.numbers import format_decimal

from lti_tool.launch.locale import format_locale
from lti_tool.progress import rules

_COMMENTS = {
    "da": ("{done} af {required} aktiviteter gennemført · {points} af {max} point",
           "Gennemført", "Refleksion afventer underviserens bedømmelse"),
    "sv": ("{done} av {required} aktiviteter klara · {points} av {max} poäng",
           "Genomförd", "Reflektion väntar på lärarens bedömning"),
    "en": ("{done} of {required} activities done · {points} of {max} points",
           "Completed", "Reflection awaiting the instructor's grading"),
}

COMMENT_LANGUAGES = frozenset(_COMMENTS)


@dataclass(frozen=True)
class ScoreValues:
    """The values of one AGS score message, before `enqueue` puts them in the outbox."""

    score_given: float
    score_maximum: float
    activity_progress: str
    grading_progress: str
    comment: str


def _points(value: float, language: str) -> str:
    # Babel itself, not flask-babel: scores are written by the grade worker, outside any request.
    return str(format_decimal(value, "#,##0.#", locale=format_locale(language)))


def module_score(status: rules.ModuleStatus, score_maximum: float, language: str) -> ScoreValues:
    """The score for one module; the comment in `language` (the learner's), Danish if unknown."""
    language = language if language in _COMMENTS else "da"
    progress_text, completed_text, waiting_text = _COMMENTS[language]
    activity = {
        rules.ModuleState.NOT_STARTED: "Initialized",
        rules.ModuleState.IN_PROGRESS: "InProgress" if status.done else "Started",
        rules.ModuleState.PENDING: "Submitted",
        rules.ModuleState.COMPLETED: "Completed",
    }[status.state]
    if status.state == rules.ModuleState.COMPLETED:
        grading = "FullyGraded"
    elif status.pending_manual:
        grading = "PendingManual"
    else:
        grading = "Pending"
    comment = progress_text.format(done=status.done, required=status.required,
                                   points=_points(status.points, language), max=_points(status.max_points, language))
    if status.state == rules.ModuleState.COMPLETED:
        comment = f"{completed_text} · {comment}"
    elif status.pending_manual:
        comment = f"{waiting_text} · {comment}"
    given = round(status.fraction * score_maximum, 4)
    return ScoreValues(given, score_maximum, activity, grading, comment)


def programme_score(statuses: list[rules.ModuleStatus], programme: rules.ProgrammeStatus,
                    score_maximum: float, language: str) -> ScoreValues:
    """A link that opens a whole programme: the modules' points together, final on completion."""
    points = sum(s.points for s in statuses)
    maximum = sum(s.max_points for s in statuses) or 1.0
    done = sum(s.done for s in statuses)
    required = sum(s.required for s in statuses)
    started = any(s.state != rules.ModuleState.NOT_STARTED for s in statuses)
    waiting = any(s.pending_manual for s in statuses)
    state = (rules.ModuleState.COMPLETED if programme.completed
             else rules.ModuleState.IN_PROGRESS if started else rules.ModuleState.NOT_STARTED)
    combined = rules.ModuleStatus(state=state, points=points, max_points=maximum, done=done, required=required,
                                  pending_manual=waiting and not programme.completed, next_activity_id=None)
    return module_score(combined, score_maximum, language)
