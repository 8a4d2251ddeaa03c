"""Verifying a credential someone pasted or uploaded: only ours, nothing fetched.

The checks, in order: the input yields a VC-JWT (pasted text, a .jwt file, a JSON envelope, or
a badge image with the credential baked in); its key id names one of our credential keys; the
RS256 signature verifies with that key; the issuer is our Profile; it is an OpenBadgeCredential;
it is valid now (validFrom/validUntil); and its bit in our status list is not set. Keys and the
status list are read from our own database: a verifier that fetched the URLs a credential names
could be sent anywhere.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.credentials import baking, status
from lti_tool.credentials.keys import public_key_jwk
from lti_tool.credentials.openbadges import CREDENTIAL_TYPES, credential_of, issuer_id
from lti_tool.models import IssuedCredential, utcnow

COMPACT_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
ENVELOPE_PREFIX = "data:application/vc+jwt,"


class Rejected(ValueError):
    """The input is not a credential this tool can vouch for; `reason` says which check failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Verified:
    """A credential whose signature and issuer check out, and what its validity and status are."""

    credential_id: str
    holder_name: str | None
    achievement_name: str
    issuer_name: str
    valid_from: datetime
    valid_until: datetime | None
    # Within validFrom … validUntil at the moment of checking.
    valid_now: bool
    revoked: bool


def token_from(text: str | None, upload: bytes | None) -> str:
    """The VC-JWT in what was submitted: an image, a .jwt or .json file, or pasted text."""
    if upload:
        if upload.startswith(baking.PNG_SIGNATURE) or upload.lstrip()[:5] in (b"<?xml", b"<svg ", b"<svg>", b"<!--"):
            try:
                return _token_in(baking.extract(upload))
            except baking.BadImage as exc:
                raise Rejected("unreadable_image") from exc
        try:
            text = upload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Rejected("not_a_credential") from exc
    if not text or not text.strip():
        raise Rejected("nothing_given")
    return _token_in(text)


def _token_in(text: str) -> str:
    text = text.strip()
    if COMPACT_JWS.match(text):
        return text
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise Rejected("not_a_credential") from exc
        # A VC 2.0 EnvelopedVerifiableCredential carries the JWT in a data: URL.
        identifier = document.get("id") if isinstance(document, dict) else None
        if isinstance(identifier, str) and identifier.startswith(ENVELOPE_PREFIX):
            return _token_in(identifier[len(ENVELOPE_PREFIX):])
        raise Rejected("unsigned_json")
    raise Rejected("not_a_credential")


def verify(session: Session, base_url: str, token: str, now: datetime | None = None) -> Verified:
    """Check a VC-JWT against our keys, issuer and status list; Rejected when it is not ours or forged."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise Rejected("not_a_credential") from exc
    kid = header.get("kid")
    jwk = public_key_jwk(session, kid) if isinstance(kid, str) else None
    if jwk is None:
        raise Rejected("foreign_issuer")  # not signed by any key of ours, whatever it claims
    if header.get("alg") != "RS256":
        raise Rejected("bad_signature")
    try:
        claims: dict[str, Any] = jwt.decode(
            token, RSAAlgorithm.from_jwk(jwk), algorithms=["RS256"],  # type: ignore[arg-type]
            options={"require": ["iss", "jti", "nbf"], "verify_nbf": False, "verify_exp": False})
    except jwt.InvalidSignatureError as exc:
        raise Rejected("bad_signature") from exc
    except jwt.InvalidTokenError as exc:
        raise Rejected("not_a_credential") from exc
    credential = credential_of(claims)
    ours = issuer_id(base_url)
    issuer = credential.get("issuer")
    if claims["iss"] != ours or not isinstance(issuer, dict) or issuer.get("id") != ours:
        raise Rejected("foreign_issuer")
    if not set(CREDENTIAL_TYPES) <= set(credential.get("type") or ()):
        raise Rejected("not_a_credential")
    valid_from = _when(credential.get("validFrom"))
    if valid_from is None:
        raise Rejected("not_a_credential")
    valid_until = _when(credential.get("validUntil"))
    moment = now or utcnow()
    return Verified(
        credential_id=str(claims["jti"]),
        holder_name=_holder_name(credential),
        achievement_name=str(credential.get("name", "")),
        issuer_name=str(issuer.get("name", "")),
        valid_from=valid_from,
        valid_until=valid_until,
        valid_now=valid_from <= moment and (valid_until is None or moment < valid_until),
        revoked=_revoked(session, base_url, credential),
    )


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def _holder_name(credential: dict[str, Any]) -> str | None:
    subject = credential.get("credentialSubject")
    for identity in (subject.get("identifier") or []) if isinstance(subject, dict) else []:
        if isinstance(identity, dict) and identity.get("identityType") == "name" and not identity.get("hashed"):
            return str(identity.get("identityHash", "")) or None
    return None


def _revoked(session: Session, base_url: str, credential: dict[str, Any]) -> bool:
    """Our status list's bit for this credential (read from the database, as the list is served)."""
    entry = credential.get("credentialStatus")
    if not isinstance(entry, dict) or entry.get("statusListCredential") != status.status_list_url(base_url):
        raise Rejected("foreign_issuer")
    try:
        index = int(str(entry.get("statusListIndex")))
    except ValueError as exc:
        raise Rejected("not_a_credential") from exc
    revoked_at = session.scalar(select(IssuedCredential.revoked_at).where(IssuedCredential.status_index == index))
    return revoked_at is not None
