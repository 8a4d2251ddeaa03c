"""An operator of the tool: the consortium's staff who sign in to the console at /admin."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from lti_tool.models.base import Base, UTCDateTime, utcnow


class Operator(Base):
    """A console account; separate from LTI users, who never sign in to the tool itself."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so look-ups need no case-insensitive index.
    email: Mapped[str] = mapped_column(String(255), unique=True)
    # argon2id, with its parameters in the string so they can be raised later (rehash on login).
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # The lock-out lives in the database, so it holds whichever instance gets the next attempt.
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
