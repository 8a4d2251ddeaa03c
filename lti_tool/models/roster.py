"""A course's roster as the LMS last gave it (NRPS), and whether the grade worker should read it again.

The instructor's dashboard renders from this row and never waits on the LMS: a page that finds
the snapshot old asks for a refresh (`wanted_since`), and the worker reads the roster outside any
request (lti_tool.roster).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lti_tool.models.base import Base, UTCDateTime


class RosterSnapshot(Base):
    """One course's roster as the LMS last gave it, with the state of its next refresh."""

    __tablename__ = "roster_snapshots"
    __table_args__ = (Index("ix_roster_snapshots_wanted_since", "wanted_since"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # One roster per course.
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"), unique=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    # The NRPS endpoint, as the latest instructor launch named it.
    memberships_url: Mapped[str] = mapped_column(String(1024))
    # The members as the LMS listed them (only the fields the dashboard shows); None: never read.
    members: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Someone asked for a fresh roster at this time (a page found the snapshot old, or a button).
    wanted_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Back-off after a failure: not tried again before this.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The worker reading it now, and until when it may (a worker that dies leaves it to others).
    lease_owner: Mapped[str | None] = mapped_column(String(32))
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
