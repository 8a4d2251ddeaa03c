"""The demo LMS's own records: its key, the tool it knows, links, line items and scores."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lti_tool.demo_lms.database import DemoBase
from lti_tool.models.base import UTCDateTime, utcnow


class DemoKey(DemoBase):
    """A signing key of the demo LMS: the public JWK it publishes, the private key encrypted."""

    __tablename__ = "demo_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    public_jwk: Mapped[dict[str, str]] = mapped_column(JSON)
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DemoToolRegistration(DemoBase):
    """The tool as the demo LMS knows it (set up by `flask demo setup` or dynamic registration)."""

    __tablename__ = "demo_tool_registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(255), unique=True)
    deployment_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    login_url: Mapped[str] = mapped_column(String(1024))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    jwks_url: Mapped[str] = mapped_column(String(1024))
    target_link_uri: Mapped[str] = mapped_column(String(1024))
    deep_link_url: Mapped[str | None] = mapped_column(String(1024))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Moodle lists a dynamically registered tool as pending until an administrator activates it.
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DemoResourceLink(DemoBase):
    """A link to the tool placed in a course, seeded or returned by deep linking, with its custom parameters."""

    __tablename__ = "demo_resource_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[str] = mapped_column(String(64))
    link_id: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    text: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(1024))
    custom: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DemoLineItem(DemoBase):
    """An AGS line item (a gradebook column), made by a tool or seeded with a link."""

    __tablename__ = "demo_line_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[str] = mapped_column(String(64))
    resource_link_id: Mapped[str | None] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(255))
    score_maximum: Mapped[float] = mapped_column(Float)
    resource_id: Mapped[str | None] = mapped_column(String(255))
    tag: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DemoScore(DemoBase):
    """The latest score per learner and line item, as Moodle keeps it."""

    __tablename__ = "demo_scores"
    __table_args__ = (UniqueConstraint("line_item_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_item_id: Mapped[int] = mapped_column(ForeignKey("demo_line_items.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(64))
    score_given: Mapped[float | None] = mapped_column(Float)
    score_maximum: Mapped[float | None] = mapped_column(Float)
    activity_progress: Mapped[str] = mapped_column(String(32))
    grading_progress: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    # How many score messages the LMS accepted for this learner and line item.
    received: Mapped[int] = mapped_column(default=0)
