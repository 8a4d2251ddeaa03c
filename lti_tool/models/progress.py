"""A learner's work: one row per activity (latest state), every submission, module status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lti_tool.models.base import Base, UTCDateTime, utcnow


class ActivityState(Base):
    """Where a learner stands on one activity. Keyed by stable content ids, so content can change
    under it: a removed activity's row is ignored, a new activity simply has no row yet."""

    __tablename__ = "activity_states"
    __table_args__ = (UniqueConstraint("user_id", "module_id", "activity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    programme_id: Mapped[str] = mapped_column(String(64))
    module_id: Mapped[str] = mapped_column(String(64))
    activity_id: Mapped[str] = mapped_column(String(64))
    # viewed | draft | submitted | pending (waits for the instructor) | graded | completed
    status: Mapped[str] = mapped_column(String(16))
    # Answers saved while the learner works, before submitting.
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # One more with every save of the draft (and every submission): a save based on an older
    # version, from a second tab, is refused instead of silently winning.
    draft_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # What a page posted after its launch had expired (progress/rescue.py): kept apart from the
    # draft, which it never overwrites, until the learner's next launch shows it.
    rescued_draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    rescued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    # Best fraction reached (0–1), or None while nothing is scored.
    score: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Submission(Base):
    """One submitted answer, kept as it was given, with its result and feedback."""

    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_pending", "status", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    programme_id: Mapped[str] = mapped_column(String(64))
    module_id: Mapped[str] = mapped_column(String(64))
    activity_id: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column()
    answer: Mapped[dict[str, Any]] = mapped_column(JSON)
    # submitted (auto-scored or unscored) | pending | graded
    status: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column()
    # Per-question / per-criterion results shown back to the learner.
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    feedback: Mapped[str | None] = mapped_column(Text)
    graded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    graded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ModuleProgress(Base):
    """The computed module status, stored so dashboards and grade passback read one truth."""

    __tablename__ = "module_progress"
    __table_args__ = (UniqueConstraint("user_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    programme_id: Mapped[str] = mapped_column(String(64))
    module_id: Mapped[str] = mapped_column(String(64))
    # not_started | in_progress | pending | completed
    status: Mapped[str] = mapped_column(String(16))
    points: Mapped[float] = mapped_column(Float, default=0)
    max_points: Mapped[float] = mapped_column(Float, default=0)
    done_count: Mapped[int] = mapped_column(default=0)
    required_count: Mapped[int] = mapped_column(default=0)
    pending_manual: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Certificate(Base):
    """A course certificate (kursusbevis) for a completed programme, checkable by its code."""

    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("user_id", "programme_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    programme_id: Mapped[str] = mapped_column(String(64))
    # Snapshots: the certificate says what was true when it was issued.
    holder_name: Mapped[str | None] = mapped_column(String(255))
    programme_title: Mapped[str] = mapped_column(String(255))
    modules: Mapped[list[str]] = mapped_column(JSON)
    # The estimated study time of the modules completed, the hours the certificate states.
    study_minutes: Mapped[int | None] = mapped_column()
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ActionPlanFollowUp(Base):
    """How an action plan went, asked once at the learner's first launch 28 days or more after
    submitting it; kept with the plan (the same module and activity ids)."""

    __tablename__ = "action_plan_followups"
    __table_args__ = (UniqueConstraint("user_id", "module_id", "activity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    programme_id: Mapped[str] = mapped_column(String(64))
    module_id: Mapped[str] = mapped_column(String(64))
    activity_id: Mapped[str] = mapped_column(String(64))
    # The plan as submitted when the question was asked.
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id", ondelete="SET NULL"))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # done | partly | not_yet, or None until the learner answers
    outcome: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
