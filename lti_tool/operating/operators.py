"""Operator accounts for the console: creation, sign-in with argon2id, lock-out after failures.

The lock-out is kept in the database (not in memory or a per-process counter), so a guesser who
spreads attempts over several app instances meets the same count.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lti_tool.errors import ToolError
from lti_tool.models import Operator, utcnow

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12


class OperatorError(ValueError):
    """An account that cannot be created or changed; the message says why."""


class LoginRefused(ToolError):
    """A sign-in with an unknown or inactive address or a wrong password; the answer does not say which."""

    status = 401
    reason = "operator_login_failed"
    message = _l("The email address or password is not correct.")
    hint = _l("After 5 failed attempts the account is locked for 15 minutes.")


class AccountLocked(LoginRefused):
    """A sign-in to an account locked after too many failures, whatever the password."""

    status = 429
    reason = "operator_locked"
    message = _l("Too many failed sign-ins: the account is locked for 15 minutes.")
    hint = _l("Wait and try again, or ask another operator to run `flask operators unlock`.")


@functools.cache
def _hasher() -> PasswordHasher:
    # argon2id with the library's defaults (RFC 9106 low-memory profile: 64 MiB, 3 passes).
    return PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    return _hasher().hash("no such operator")


def normalise_email(email: str) -> str:
    """`email` trimmed and lower-cased, as accounts are stored and looked up."""
    return email.strip().lower()


def create_operator(session: Session, email: str, password: str) -> Operator:
    """Create an operator account; refuses a taken address or a short password."""
    address = normalise_email(email)
    if "@" not in address or len(address) > 255:
        raise OperatorError(f"{email!r} is not an email address")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise OperatorError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if find_operator(session, address) is not None:
        raise OperatorError(f"an operator {address} already exists")
    operator = Operator(email=address, password_hash=_hasher().hash(password))
    session.add(operator)
    session.commit()
    return operator


def find_operator(session: Session, email: str) -> Operator | None:
    """The operator account with `email` (compared normalised), or None."""
    return session.scalars(select(Operator).where(Operator.email == normalise_email(email))).first()


def list_operators(session: Session) -> list[Operator]:
    """Every operator account, by email."""
    return list(session.scalars(select(Operator).order_by(Operator.email)))


def unlock_operator(session: Session, email: str) -> bool:
    """Lift a lock-out now; False when there is no such operator."""
    operator = find_operator(session, email)
    if operator is None:
        return False
    operator.failed_logins = 0
    operator.locked_until = None
    session.commit()
    return True


def _record_failure(session: Session, operator: Operator, now: datetime) -> None:
    # Incremented in SQL, not in Python, so concurrent attempts on two instances both count.
    session.execute(update(Operator).where(Operator.id == operator.id)
                    .values(failed_logins=Operator.failed_logins + 1))
    session.commit()
    session.refresh(operator)
    if operator.failed_logins >= MAX_FAILED_LOGINS:
        operator.locked_until = now + LOCKOUT
        operator.failed_logins = 0
        session.commit()


def authenticate(session: Session, email: str, password: str,
                 now: datetime | None = None) -> Operator:
    """The operator with these credentials; raises LoginRefused or AccountLocked."""
    now = now or utcnow()
    operator = find_operator(session, email)
    if operator is None or not operator.active:
        # Hash anyway, so the answer takes as long as for a real account.
        _verify(_dummy_hash(), password)
        raise LoginRefused(f"unknown or inactive operator {normalise_email(email)[:80]}")
    if operator.locked_until is not None and operator.locked_until > now:
        raise AccountLocked(f"operator {operator.id} locked until {operator.locked_until:%H:%M:%S}")
    if not _verify(operator.password_hash, password):
        _record_failure(session, operator, now)
        if operator.locked_until is not None and operator.locked_until > now:
            raise AccountLocked(f"operator {operator.id} locked after {MAX_FAILED_LOGINS} failures")
        raise LoginRefused(f"wrong password for operator {operator.id}")
    if _hasher().check_needs_rehash(operator.password_hash):
        operator.password_hash = _hasher().hash(password)
    operator.failed_logins = 0
    operator.locked_until = None
    operator.last_login_at = now
    session.commit()
    return operator


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def active_operator(session: Session, operator_id: object) -> Operator | None:
    """The signed-in operator, if the account still exists and is active."""
    if not isinstance(operator_id, int):
        return None
    operator = session.get(Operator, operator_id)
    return operator if operator is not None and operator.active else None
