"""Open Badges 3.0 credentials the tool issued, and the keys that sign them.

The signing keys are the tool's own, apart from the LTI keys: LTI keys rotate weekly and leave
the key set after days, while a credential must stay verifiable for as long as its holder keeps
it, so a retired credential key stops signing but stays published."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lti_tool.models.base import Base, UTCDateTime, utcnow
from lti_tool.models.tool_key import RsaKeyColumns


class CredentialKey(RsaKeyColumns, Base):
    """An RSA key that signs credentials (VC-JWT, RS256); the private half encrypted as ToolKey's.
    Once retired it signs nothing more and stays in the published key set for good."""

    __tablename__ = "credential_keys"


class IssuedCredential(Base):
    """One OpenBadgeCredential as issued: its status list index, revocation, and our copy.

    Erasing the holder removes our copy (`jwt`, `holder_name`, `user_id`) and keeps the row: its
    status index must never be handed out again, and the credential stays valid in the holder's
    hands (erasure does not revoke)."""

    __tablename__ = "issued_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    # urn:uuid:… — the credential's `id` and the JWT's `jti`.
    credential_id: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # programme | module
    kind: Mapped[str] = mapped_column(String(16))
    programme_id: Mapped[str] = mapped_column(String(64))
    module_id: Mapped[str | None] = mapped_column(String(64))
    achievement_name: Mapped[str] = mapped_column(String(255))
    holder_name: Mapped[str | None] = mapped_column(String(255))
    status_index: Mapped[int] = mapped_column(unique=True)
    kid: Mapped[str] = mapped_column(String(64))
    jwt: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(255))
