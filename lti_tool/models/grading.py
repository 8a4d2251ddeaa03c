"""Where grades go (a resource link's AGS line item) and the outbox of scores waiting to go there."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lti_tool.models.base import Base, UTCDateTime, utcnow


class OutboxState(enum.StrEnum):
    """Where a score in the outbox stands; stored as its string in score_outbox.state."""

    QUEUED = "queued"  # waiting for its next attempt
    SENDING = "sending"  # leased by a worker until lease_until
    DELIVERED = "delivered"
    PARKED = "parked"  # gave up: waits for an operator's retry
    SUPERSEDED = "superseded"  # a newer score for the same line item and learner replaced it
    LOST = "lost"  # never stored: what a send returns for a row another worker took over


class GradeTarget(Base):
    """The AGS line item of one resource link, as the platform told us in the launch."""

    __tablename__ = "grade_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_link_id: Mapped[int] = mapped_column(ForeignKey("resource_links.id", ondelete="CASCADE"), unique=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    # The line item coupled to the link (Moodle sends it when exactly one is coupled) or
    # found/created in the container by resourceId; None until resolved.
    lineitem_url: Mapped[str | None] = mapped_column(String(1024))
    lineitems_url: Mapped[str | None] = mapped_column(String(1024))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    label: Mapped[str] = mapped_column(String(255))
    score_maximum: Mapped[float] = mapped_column(Float, default=100.0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScoreMessage(Base):
    """One score to deliver. Written in the same transaction as the learner's work."""

    __tablename__ = "score_outbox"
    __table_args__ = (
        Index("ix_score_outbox_due", "state", "next_attempt_at"),
        Index("ix_score_outbox_target_user", "grade_target_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grade_target_id: Mapped[int] = mapped_column(ForeignKey("grade_targets.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    sub: Mapped[str] = mapped_column(String(255))
    score_given: Mapped[float | None] = mapped_column(Float)
    score_maximum: Mapped[float] = mapped_column(Float)
    activity_progress: Mapped[str] = mapped_column(String(16))
    grading_progress: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    # The score's own time: strictly increasing per (target, user); the LMS keeps the newest.
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    # queued | sending (claimed by a worker until lease_until) | delivered | superseded (a
    # newer one replaced it) | parked (needs the operator)
    state: Mapped[str] = mapped_column(String(16), default=OutboxState.QUEUED)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The claim (one random token per worker round) that holds the lease: a worker writes an
    # outcome only while the row still carries its token, so one whose lease ran out and was
    # taken over cannot overwrite the new holder's result.
    lease_owner: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
