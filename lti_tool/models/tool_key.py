"""The tool's RSA signing keys. Private keys are stored encrypted (see lti_tool.lti.keys)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from lti_tool.models.base import Base, UTCDateTime, utcnow


class RsaKeyColumns:
    """What every signing key of the tool stores: LTI keys here, credential keys in credential.py."""

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    public_jwk: Mapped[dict[str, str]] = mapped_column(JSON)
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when a newer key replaces this one (see each table for how long it stays published).
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ToolKey(RsaKeyColumns, Base):
    """One of the tool's LTI keys: its public JWK and its private key, encrypted."""

    __tablename__ = "tool_keys"

    @property
    def is_current(self) -> bool:
        """Whether this is the key in use (not yet retired)."""
        return self.retired_at is None
