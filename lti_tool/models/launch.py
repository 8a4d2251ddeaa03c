"""One validated launch. Its random id is carried in every URL of that launch (no global session)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.models.base import Base, UTCDateTime, utcnow
from lti_tool.models.course import Context, ResourceLink
from lti_tool.models.platform import Deployment
from lti_tool.models.user import User


class LaunchRecord(Base):
    """One validated launch, valid until `expires_at`; its id stands in for a session."""

    __tablename__ = "launches"
    __table_args__ = (Index("ix_launches_expires_at", "expires_at"),)

    # An unguessable token (256 bits); it stands in for a session cookie, which framed
    # pages often cannot keep.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    context_id: Mapped[int | None] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    resource_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("resource_links.id", ondelete="CASCADE")
    )
    message_type: Mapped[str] = mapped_column(String(64))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    locale: Mapped[str] = mapped_column(String(16))
    # Service endpoints and presentation claims that later requests need (AGS, NRPS,
    # deep linking settings, return URL); never the raw id_token.
    claims: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    deployment: Mapped[Deployment] = relationship()
    user: Mapped[User] = relationship()
    context: Mapped[Context | None] = relationship()
    resource_link: Mapped[ResourceLink | None] = relationship()
