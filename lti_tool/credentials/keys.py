"""The credential signing keys: one current key signs, every key ever used stays published.

A credential has no expiry, so a verifier may need a key years after it stopped signing: a
rotation retires the current key (it signs nothing more) and keeps it in the key set for good.
Key material and its encryption at rest are the LTI keys' (lti_tool.lti.keys); the table is
separate so that LTI key rotation and its short grace never touch credentials.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.lti.keys import (
    SigningKey,
    decrypt_signing_key,
    fernet,
    lock_key_table,
    new_rsa_key,
    private_pem,
    public_jwk,
)
from lti_tool.models import CredentialKey, utcnow


def _current(session: Session) -> CredentialKey | None:
    return session.scalars(select(CredentialKey).where(CredentialKey.retired_at.is_(None))
                           .order_by(CredentialKey.id.desc()).limit(1)).first()


def _make_current(session: Session, secret_key: str) -> CredentialKey:
    """A new current key, the previous one retired; the caller holds the table's lock. Commits."""
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


def rotate_credential_key(session: Session, secret_key: str) -> CredentialKey:
    """Make a new signing key current; the previous one stops signing and stays published."""
    lock_key_table(session, CredentialKey)
    return _make_current(session, secret_key)


def credential_signing_key(session: Session, secret_key: str) -> SigningKey:
    """The current credential key, made on first use (the first credential issued makes it).

    Two instances issuing their first credentials at once take turns under the table's lock: the
    second finds the key the first made."""
    record = _current(session)
    if record is None:
        lock_key_table(session, CredentialKey)
        record = _current(session)
        if record is None:
            record = _make_current(session, secret_key)
        else:
            session.commit()  # releases the lock
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
