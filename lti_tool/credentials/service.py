"""Issuing, listing and revoking Open Badges 3.0 credentials; the status list credential.

A learner asks for a credential on the certificate page (a programme) or the module page (a
module, when CREDENTIALS_PER_MODULE is on), after confirming the name it will carry. What was
achieved is told in the learner's language; the dates are those of the certificate or module.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
from flask_babel import force_locale, format_decimal, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lti_tool.content.model import Module, Programme
from lti_tool.credentials import status
from lti_tool.credentials.issuer import issuer_from
from lti_tool.credentials.keys import credential_signing_key
from lti_tool.credentials.openbadges import (
    OB_CONTEXT,
    VC_CONTEXT,
    AchievementText,
    build_credential,
    credential_of,
    iso,
    issuer_profile,
    sign_credential,
)
from lti_tool.errors import ToolError
from lti_tool.models import Certificate, IssuedCredential, ModuleProgress, utcnow

log = logging.getLogger(__name__)
HOLDER_NAME_MAX = 200


class NotEarned(ToolError):
    """A credential was asked for before the programme or module was completed."""

    status = 409
    reason = "credential_not_earned"
    message = _l("This credential is issued when the programme or module is completed.")
    hint = _l("Go back to the course and continue where you left off.")


class NameRequired(ToolError):
    """The name the credential will carry was not given or not confirmed."""

    status = 400
    reason = "credential_name_required"
    message = _l("Type the name the credential will carry and confirm it.")
    hint = _l("Go back to the certificate page and fill in the form again.")


class CredentialNotFound(ToolError):
    """No credential of ours has that id (the operator's revocation, a download)."""

    status = 404
    reason = "credential_not_found"
    message = _l("No credential has that id.")
    hint = _l("Check the id and try again.")


@dataclass(frozen=True)
class Settings:
    """What issuing needs from the app's settings."""

    base_url: str
    secret_key: str
    settings: Mapping[str, Any]

    @classmethod
    def of(cls, settings: Mapping[str, Any]) -> Settings:
        """The issuing settings of a Flask app's config."""
        return cls(str(settings["TOOL_BASE_URL"]).rstrip("/"), str(settings["SECRET_KEY"]), settings)


def _achievement(programme: Programme, module: Module | None, language: str, minutes: int) -> AchievementText:
    hours = round(minutes / 60, 1)
    with force_locale(language):
        hours_text = format_decimal(hours)
        if module is None:
            return AchievementText(
                key=programme.id, kind="programme", name=programme.title_in(language),
                description=programme.summary_in(language), language=language, hours=hours,
                criteria=str(gettext(
                    "Completed the programme's %(mandatory)s mandatory modules and %(electives)s of its "
                    "electives, with every exercise passed and every reflection graded. Study time: "
                    "about %(hours)s hours.", mandatory=len(programme.mandatory),
                    electives=programme.electives_required, hours=hours_text)))
        return AchievementText(
            key=f"{programme.id}/{module.id}", kind="module", name=module.title, description=module.summary,
            language=module.language, hours=hours,
            criteria=str(gettext(
                "Completed the module %(module)s of %(programme)s, with every exercise passed and every "
                "reflection graded. Study time: about %(hours)s hours.", module=module.title,
                programme=programme.title_in(language), hours=hours_text)))


def _earned(session: Session, user_id: int, programme: Programme, module: Module | None) -> tuple[datetime, int]:
    """When the achievement was earned and its study minutes; NotEarned when it is not (yet)."""
    if module is None:
        certificate = session.scalars(select(Certificate).where(
            Certificate.user_id == user_id, Certificate.programme_id == programme.id)).first()
        if certificate is None:
            raise NotEarned(f"no certificate for {programme.id}")
        minutes = certificate.study_minutes
        if minutes is None:  # a certificate from before study time was recorded
            minutes = sum(m.estimated_minutes for m in programme.modules if m.title in certificate.modules)
        return certificate.issued_at, minutes
    completed_at = session.scalar(select(ModuleProgress.completed_at).where(
        ModuleProgress.user_id == user_id, ModuleProgress.module_id == module.id,
        ModuleProgress.status == "completed"))
    if completed_at is None:
        raise NotEarned(f"module {module.id} not completed")
    return completed_at, module.estimated_minutes


def current_credential(session: Session, user_id: int, programme_id: str,
                       module_id: str | None = None) -> IssuedCredential | None:
    """The learner's latest unrevoked credential for a programme (or one of its modules)."""
    return session.scalars(
        select(IssuedCredential).where(
            IssuedCredential.user_id == user_id, IssuedCredential.programme_id == programme_id,
            IssuedCredential.module_id.is_(None) if module_id is None else IssuedCredential.module_id == module_id,
            IssuedCredential.revoked_at.is_(None), IssuedCredential.jwt.is_not(None))
        .order_by(IssuedCredential.id.desc()).limit(1)).first()


def issue_credential(session: Session, settings: Settings, *, user_id: int, programme: Programme,
                     module: Module | None, language: str, holder_name: str, confirmed: bool) -> IssuedCredential:
    """Issue (once) the learner's OpenBadgeCredential for a completed programme or module."""
    name = " ".join(holder_name.split())[:HOLDER_NAME_MAX]
    if not name or not confirmed:
        raise NameRequired("name missing or not confirmed")
    existing = current_credential(session, user_id, programme.id, module.id if module else None)
    if existing is not None:
        return existing
    earned_at, minutes = _earned(session, user_id, programme, module)
    achievement = _achievement(programme, module, language, minutes)
    key = credential_signing_key(session, settings.secret_key)
    taken = set(session.scalars(select(IssuedCredential.status_index)))
    for _attempt in range(5):  # another issue may take the same random index at the same moment
        index = status.random_index(taken)
        credential_id = f"urn:uuid:{uuid.uuid4()}"
        credential = build_credential(
            credential_id=credential_id, achievement=achievement, holder_name=name,
            issuer=issuer_from(settings.settings), base_url=settings.base_url, valid_from=earned_at,
            status=status.status_entry(settings.base_url, index))
        record = IssuedCredential(
            credential_id=credential_id, user_id=user_id, kind=achievement.kind, programme_id=programme.id,
            module_id=module.id if module else None, achievement_name=achievement.name, holder_name=name,
            status_index=index, kid=key.kid, jwt=sign_credential(credential, key), issued_at=utcnow())
        session.add(record)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            taken.add(index)
            continue
        log.info("credential issued", extra={"credential": credential_id, "kind": achievement.kind})
        return record
    raise RuntimeError("no free status list index after five tries")


def credential_json(record: IssuedCredential) -> dict[str, Any]:
    """The credential as JSON (read from its signed form, so both always say the same)."""
    if record.jwt is None:
        raise CredentialNotFound(f"{record.credential_id} erased")
    # Our own stored token: only its payload is read here (verifying is verification.py's work).
    claims: dict[str, Any] = jwt.decode(record.jwt, options={"verify_signature": False})
    return credential_of(claims)


def find_credential(session: Session, credential_id: str) -> IssuedCredential:
    """The issued credential with `credential_id` (urn:uuid:… or the bare uuid)."""
    wanted = credential_id.strip()
    if wanted and not wanted.startswith("urn:uuid:"):
        wanted = "urn:uuid:" + wanted
    found = session.scalars(select(IssuedCredential).where(IssuedCredential.credential_id == wanted)).first()
    if found is None:
        raise CredentialNotFound(credential_id[:80])
    return found


def revoke_credential(session: Session, credential_id: str, reason: str) -> IssuedCredential:
    """Revoke a credential (issued in error, or at the holder's request): its status bit is set."""
    record = find_credential(session, credential_id)
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        record.revoked_reason = reason.strip()[:255] or None
        session.commit()
        log.info("credential revoked", extra={"credential": record.credential_id})
    return record


def credentials_of_certificate(session: Session, certificate: Certificate | None) -> list[IssuedCredential]:
    """Every credential issued for a certificate's holder and programme, its modules' included
    (the console lists them beside the certificate, to revoke)."""
    if certificate is None or certificate.user_id is None:
        return []
    return list(session.scalars(select(IssuedCredential).where(
        IssuedCredential.user_id == certificate.user_id,
        IssuedCredential.programme_id == certificate.programme_id).order_by(IssuedCredential.id)))


def revoked_indices(session: Session) -> list[int]:
    """The status list bits that are set."""
    return list(session.scalars(select(IssuedCredential.status_index)
                                .where(IssuedCredential.revoked_at.is_not(None))))


def status_list_jwt(session: Session, settings: Settings) -> str:
    """Our status list credential, signed now as a VC-JWT (it changes with every revocation)."""
    key = credential_signing_key(session, settings.secret_key)
    profile = issuer_profile(issuer_from(settings.settings), settings.base_url)
    credential = status.status_list_credential(settings.base_url, profile, iso(utcnow()), revoked_indices(session))
    return sign_credential(credential, key)


def issuer_document(settings: Settings) -> dict[str, Any]:
    """The issuer Profile served at its id, with the OB 3.0 context."""
    return {"@context": [VC_CONTEXT, OB_CONTEXT], **issuer_profile(issuer_from(settings.settings), settings.base_url)}
