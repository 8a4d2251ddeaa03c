"""Open Badges 3.0 credentials: the data model (an `OpenBadgeCredential` in the W3C Verifiable
Credentials 2.0 data model) and its VC-JWT form (OB 3.0 §8.2: the credential is the JWT payload,
with no `vc` wrapper; `iss`, `jti` and `nbf` repeat its issuer, id and validFrom).

Signed with the tool's credential key (RS256, which OB 3.0 requires every verifier to support),
through PyJWT, the JOSE library the LTI side already uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from lti_tool.credentials.issuer import Issuer
from lti_tool.lti.keys import SigningKey, public_jwk

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_SCHEMA_ID = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
CREDENTIAL_TYPES = ("VerifiableCredential", "OpenBadgeCredential")


def iso(when: datetime) -> str:
    """A DateTimeZ as OB 3.0 writes it: UTC, whole seconds, a trailing Z."""
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def issuer_id(base_url: str) -> str:
    """The issuer Profile's id: a URL of ours that serves the Profile."""
    return f"{base_url.rstrip('/')}/credentials/issuer"


def issuer_profile(issuer: Issuer, base_url: str) -> dict[str, Any]:
    """The issuing organisation as an OB 3.0 `Profile`."""
    profile: dict[str, Any] = {"id": issuer_id(base_url), "type": ["Profile"], "name": issuer.name, "url": issuer.url}
    if issuer.address:
        profile["address"] = {"type": ["Address"], "streetAddress": issuer.address}
    return profile


@dataclass(frozen=True)
class AchievementText:
    """What the credential says was achieved, in the learner's language."""

    key: str  # programme id, or programme id/module id
    kind: str  # programme | module
    name: str
    description: str
    criteria: str
    language: str
    hours: float


def build_credential(*, credential_id: str, achievement: AchievementText, holder_name: str, issuer: Issuer,
                     base_url: str, valid_from: datetime, status: dict[str, str]) -> dict[str, Any]:
    """The OpenBadgeCredential (unsigned): achievement, holder, issuer, status and schema.

    The holder is named only by the name they confirmed (an `IdentityObject` of type `name`, as
    OB 3.0 identifies a subject without an `id`): no e-mail, LMS id or course data."""
    identifiers: list[dict[str, Any]] = [
        {"type": "IdentityObject", "identityType": "name", "hashed": False, "identityHash": holder_name}]
    base = base_url.rstrip("/")
    return {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": credential_id,
        "type": list(CREDENTIAL_TYPES),
        "name": achievement.name,
        "description": achievement.description,
        "issuer": issuer_profile(issuer, base_url),
        "validFrom": iso(valid_from),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": identifiers,
            "achievement": {
                "id": f"{base}/credentials/achievements/{achievement.key}",
                "type": ["Achievement"],
                "achievementType": "CertificateOfCompletion" if achievement.kind == "programme" else "Course",
                "name": achievement.name,
                "description": achievement.description,
                "criteria": {"narrative": achievement.criteria},
                "inLanguage": achievement.language,
            },
        },
        "credentialStatus": status,
        "credentialSchema": [{"id": OB_SCHEMA_ID, "type": "1EdTechJsonSchemaValidator2019"}],
    }


def sign_credential(credential: dict[str, Any], key: SigningKey) -> str:
    """The credential as a VC-JWT: the credential's members are the payload, plus iss/jti/nbf."""
    issuer = credential["issuer"]
    claims = {
        **credential,
        "iss": issuer["id"] if isinstance(issuer, dict) else issuer,
        "jti": credential["id"],
        "nbf": int(datetime.fromisoformat(credential["validFrom"].replace("Z", "+00:00")).timestamp()),
    }
    public = {k: v for k, v in public_jwk(key.key, key.kid).items() if k in ("kty", "n", "e", "alg", "kid")}
    return jwt.encode(claims, key.key, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT", "jwk": public})


# The JWT registered claims OB 3.0 §8.2 adds; the credential itself is the payload without them.
JWT_CLAIMS = ("iss", "jti", "nbf", "exp", "iat", "sub", "aud")


def credential_of(claims: dict[str, Any]) -> dict[str, Any]:
    """The credential in a VC-JWT payload: the payload less the JWT registered claims."""
    return {k: v for k, v in claims.items() if k not in JWT_CLAIMS}
