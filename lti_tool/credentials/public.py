"""The public side of credentials: verifying what someone submits, and the documents a
credential points to (issuer Profile, key set, status list)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy.orm import Session

from lti_tool.credentials import status
from lti_tool.credentials.keys import credential_jwks
from lti_tool.credentials.service import Settings, issuer_document, status_list_jwt
from lti_tool.credentials.verification import Rejected, Verified, token_from, verify
from lti_tool.errors import NotFound


@dataclass(frozen=True)
class Outcome:
    """What the verification page shows: a verified credential, or why it was refused."""

    status: int
    verified: Verified | None = None
    rejected: str | None = None


def check_submitted(session: Session, settings: Mapping[str, Any], *, text: str | None,
                    upload: IO[bytes] | None) -> Outcome:
    """Verify pasted text or an uploaded file (read up to CREDENTIAL_UPLOAD_MAX_BYTES, no further)."""
    cap = int(settings["CREDENTIAL_UPLOAD_MAX_BYTES"])
    data = upload.read(cap + 1) if upload is not None else None
    if data is not None and len(data) > cap:
        return Outcome(413, rejected="too_large")
    if text is not None and len(text) > cap:
        return Outcome(413, rejected="too_large")
    try:
        token = token_from(text, data)
        verified = verify(session, Settings.of(settings).base_url, token)
    except Rejected as refusal:
        return Outcome(422, rejected=refusal.reason)
    return Outcome(200, verified=verified)


def issuer(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The issuer Profile document."""
    return issuer_document(Settings.of(settings))


def jwks(session: Session) -> dict[str, Any]:
    """The credential key set."""
    return credential_jwks(session)


def status_list(session: Session, settings: Mapping[str, Any], list_id: int) -> str:
    """The signed status list credential with `list_id` (there is one)."""
    if list_id != status.LIST_ID:
        raise NotFound(f"status list {list_id}")
    return status_list_jwt(session, Settings.of(settings))
