"""The credential signing keys: one current key signs, every key ever used stays published.

A credential has no expiry, so a verifier may need a key years after it stopped signing: a
rotation retires the current key (it signs nothing more) and keeps it in the key set for good.
Key material and its encryption at rest are the LTI keys' (lti_tool.lti.keys); the table is
separate so that LTI key rotation and its short grace never touch credentials.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lti_tool.lti.keys import SigningKey, decrypt_signing_key, fernet, new_rsa_key, private_pem, public_jwk
from lti_tool.models import CredentialKey, utcnow


def _lock(session: Session) -> None:
    # A write that matches nothing, as the first statement: two instances making a key at once
    # take turns (SQLite's write lock; a row-less UPDATE waits on PostgreSQL's table too).
    session.execute(update(CredentialKey).where(CredentialKey.id == -1).values(kid=CredentialKey.kid))


def rotate_credential_key(session: Session, secret_key: str) -> CredentialKey:
    """Make a new signing key current; the previous one stops signing and stays published."""
    _lock(session)
    now = utcnow()
    for old in session.scalars(select(CredentialKey).where(CredentialKey.retired_at.is_(None))):
        old.retired_at = now
    key = new_rsa_key()
    kid = "cred-" + uuid.uuid4().hex
    record = CredentialKey(kid=kid, public_jwk=public_jwk(key, kid),
                           private_key_encrypted=fernet(secret_key).encrypt(private_pem(key)), created_at=now)
    session.add(record)
    session.commit()
    return record


def credential_signing_key(session: Session, secret_key: str) -> SigningKey:
    """The current credential key, made on first use (the first credential issued makes it)."""
    record = session.scalars(select(CredentialKey).where(CredentialKey.retired_at.is_(None))
                             .order_by(CredentialKey.id.desc()).limit(1)).first()
    if record is None:
        record = rotate_credential_key(session, secret_key)
    return decrypt_signing_key(record.kid, record.private_key_encrypted, secret_key)


def credential_jwks(session: Session) -> dict[str, Any]:
    """Every credential key, current and retired (RFC 7517 key set), newest first."""
    keys = session.scalars(select(CredentialKey).order_by(CredentialKey.id.desc()))
    return {"keys": [k.public_jwk for k in keys]}


def public_key_jwk(session: Session, kid: str) -> dict[str, str] | None:
    """The published JWK with `kid`, or None when no credential key of ours has it."""
    return session.scalar(select(CredentialKey.public_jwk).where(CredentialKey.kid == kid))


def list_credential_keys(session: Session) -> list[CredentialKey]:
    """Every credential key, newest first (for the CLI)."""
    return list(session.scalars(select(CredentialKey).order_by(CredentialKey.id.desc())))
