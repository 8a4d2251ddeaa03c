"""The tool's signing keys: generation, rotation with overlap, the public JWKS, and signing.

Private keys are stored encrypted (Fernet, key derived from SECRET_KEY) so every app instance
reads them from the database and no key file needs to be copied around or committed.
"""

from __future__ import annotations

import base64
import functools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from lti_tool.models import CredentialKey, ToolKey, utcnow


class KeyError_(RuntimeError):  # noqa: N801 - avoid shadowing the builtin KeyError
    """No usable tool key: run `flask keys ensure`."""


def fernet(secret_key: str) -> Fernet:
    """The cipher for stored private keys, its key derived from `secret_key` with HKDF."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"integrationsloeft tool keys"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def new_rsa_key() -> rsa.RSAPrivateKey:
    """A fresh 2048-bit RSA private key."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> bytes:
    """`key` as unencrypted PKCS#8 PEM, to be encrypted before it is stored."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, str]:
    """The public half of `key` as a JWK, marked for RS256 signatures under `kid`."""
    jwk: dict[str, str] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return jwk


def lock_key_table(session: Session, model: type[ToolKey] | type[CredentialKey]) -> None:
    """Hold a key table for writing until this transaction ends, so that two instances making a
    key at once (`flask keys ensure` at start-up, a rotation, a first credential) take turns and
    leave one current key.

    PostgreSQL: a table lock that conflicts with itself only, so the JWKS and launches go on
    reading. SQLite: a write that matches no row takes the database's write lock; it must be the
    transaction's first write (the driver begins the transaction there), so the reads after it see
    what the other instance committed."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"LOCK TABLE {model.__tablename__} IN SHARE ROW EXCLUSIVE MODE"))
    else:
        session.execute(update(model).where(model.id == -1).values(kid=model.kid))


def generate_key(session: Session, secret_key: str) -> ToolKey:
    """Create a key and make it current, retiring the previous current key (kept for the grace)."""
    lock_key_table(session, ToolKey)
    now = utcnow()
    for old in session.scalars(select(ToolKey).where(ToolKey.retired_at.is_(None))):
        old.retired_at = now
    key = new_rsa_key()
    kid = uuid.uuid4().hex
    record = ToolKey(
        kid=kid,
        public_jwk=public_jwk(key, kid),
        private_key_encrypted=fernet(secret_key).encrypt(private_pem(key)),
        created_at=now,
    )
    session.add(record)
    session.commit()
    return record


def ensure_key(session: Session, secret_key: str) -> tuple[ToolKey, bool]:
    """The current key, made first if there is none; and whether it was made now.

    Idempotent, and safe when several instances run it at once: exactly one current key results."""
    session.rollback()  # a fresh transaction: the lock below must be its first statement
    lock_key_table(session, ToolKey)
    existing = session.scalars(
        select(ToolKey).where(ToolKey.retired_at.is_(None)).order_by(ToolKey.id.desc()).limit(1)
    ).first()
    if existing is not None:
        session.rollback()  # releases the lock
        return existing, False
    return generate_key(session, secret_key), True  # commits: releases the lock


def has_current_key(session: Session) -> bool:
    """Whether a current signing key exists (launches, deep links and scores all need one)."""
    return session.scalar(select(ToolKey.id).where(ToolKey.retired_at.is_(None)).limit(1)) is not None


def list_keys(session: Session) -> list[ToolKey]:
    """Every tool key, current and retired, newest first."""
    return list(session.scalars(select(ToolKey).order_by(ToolKey.created_at.desc())))


def current_key(session: Session) -> ToolKey:
    """The newest key not retired; KeyError_ when there is none."""
    key = session.scalars(
        select(ToolKey).where(ToolKey.retired_at.is_(None)).order_by(ToolKey.id.desc()).limit(1)
    ).first()
    if key is None:
        raise KeyError_("No tool key exists. Run `flask keys ensure`.")
    return key


def published_jwks(session: Session, grace: timedelta, now: datetime | None = None) -> dict[str, Any]:
    """The current key and keys retired less than `grace` ago (RFC 7517 key set)."""
    cutoff = (now or utcnow()) - grace
    keys = session.scalars(
        select(ToolKey)
        .where((ToolKey.retired_at.is_(None)) | (ToolKey.retired_at > cutoff))
        .order_by(ToolKey.id.desc())
    )
    return {"keys": [k.public_jwk for k in keys]}


@dataclass(frozen=True)
class SigningKey:
    """A decrypted private key and its `kid`, ready to sign JWTs."""

    kid: str
    pem: str
    key: rsa.RSAPrivateKey

    def sign(self, payload: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        """`payload` as a JWT signed with RS256, with this key's `kid` in the header."""
        return jwt.encode(payload, self.key, algorithm="RS256", headers={"kid": self.kid, **(headers or {})})


@functools.lru_cache(maxsize=16)
def decrypt_signing_key(kid: str, encrypted: bytes, secret_key: str) -> SigningKey:
    """The usable key from its stored, encrypted form; KeyError_ when SECRET_KEY has changed since."""
    # Cached per kid: PEM parsing costs more than the whole rest of a launch.
    try:
        pem = fernet(secret_key).decrypt(encrypted)
    except InvalidToken as exc:
        raise KeyError_(
            "The tool key cannot be decrypted: SECRET_KEY changed since it was generated."
        ) from exc
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return SigningKey(kid=kid, pem=pem.decode(), key=key)


def signing_key(session: Session, secret_key: str) -> SigningKey:
    """The current key, decrypted, for signing messages and client assertions."""
    record = current_key(session)
    return decrypt_signing_key(record.kid, record.private_key_encrypted, secret_key)
