"""A platform (an LMS installation, usually one municipality) and its deployments."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.models.base import Base, UTCDateTime, utcnow


class PlatformStatus(enum.StrEnum):
    """Where a registration stands: pending the operator's approval, active, or disabled."""

    PENDING = "pending"
    ACTIVE = "active"
    DISABLED = "disabled"


class Platform(Base):
    """One LTI registration: an issuer and a client_id (Canvas has many client_ids per issuer)."""

    __tablename__ = "platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    auth_login_url: Mapped[str] = mapped_column(String(1024))
    auth_token_url: Mapped[str] = mapped_column(String(1024))
    key_set_url: Mapped[str] = mapped_column(String(1024))
    # The `aud` of our client assertions when the platform wants something other than the
    # token URL (Brightspace, for one).
    auth_audience: Mapped[str | None] = mapped_column(String(1024))
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[PlatformStatus] = mapped_column(
        Enum(PlatformStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=PlatformStatus.ACTIVE,
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    deployments: Mapped[list[Deployment]] = relationship(
        back_populates="platform", cascade="all, delete-orphan", order_by="Deployment.id"
    )

    @property
    def is_active(self) -> bool:
        """Whether the operator has approved the platform and not disabled it."""
        return self.status == PlatformStatus.ACTIVE


class Deployment(Base):
    """A deployment_id under a platform (Moodle: the tool type id)."""

    __tablename__ = "deployments"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    platform: Mapped[Platform] = relationship(back_populates="deployments")
