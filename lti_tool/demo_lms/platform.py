"""The demo LMS as a platform: keys, OIDC authorization, id_tokens, OAuth2 tokens.

Behaves like Moodle where the LTI notes describe Moodle, so the tool is tested against the
platform it meets first.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from itsdangerous import BadSignature as BadItsdangerousSignature
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lti_tool.demo_lms import directory
from lti_tool.demo_lms.models import DemoKey, DemoLineItem, DemoResourceLink, DemoToolRegistration
from lti_tool.lti import claims
from lti_tool.lti.keys import SigningKey, decrypt_signing_key, fernet, new_rsa_key, private_pem, public_jwk
from lti_tool.lti.platform_keys import PlatformKeys

CLIENT_ID = "integrationsloeft-demo"
DEPLOYMENT_ID = "demo-1"
TOKEN_LIFETIME = 3600


class DemoError(Exception):
    """A request the demo LMS refuses, with an OAuth2/OIDC error code."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass(frozen=True)
class DemoUrls:
    """The demo LMS's endpoint URLs, derived from where it runs."""

    base_url: str  # the demo LMS's own address (another site than the tool's)

    @property
    def issuer(self) -> str:
        """The platform's issuer (`iss`), also the prefix of every endpoint."""
        return self.base_url + "/demo-lms"

    @property
    def auth_url(self) -> str:
        """The OIDC authorization endpoint the tool sends its login response to."""
        return self.issuer + "/auth"

    @property
    def token_url(self) -> str:
        """The OAuth2 token endpoint, also the audience of client assertions."""
        return self.issuer + "/token"

    @property
    def jwks_url(self) -> str:
        """Where the demo LMS publishes its public keys."""
        return self.issuer + "/jwks"

    def lineitems_url(self, course_id: str) -> str:
        """The AGS line item container of the course."""
        return f"{self.issuer}/api/courses/{course_id}/lineitems"

    def lineitem_url(self, course_id: str, item_id: int) -> str:
        """One line item of the course."""
        return f"{self.lineitems_url(course_id)}/{item_id}"

    def memberships_url(self, course_id: str) -> str:
        """The NRPS membership container of the course."""
        return f"{self.issuer}/api/courses/{course_id}/memberships"

    def deep_link_return_url(self, course_id: str) -> str:
        """Where the tool posts its deep-linking response for the course."""
        return f"{self.issuer}/courses/{course_id}/deep-link-return"


# --- keys -------------------------------------------------------------------------------

def ensure_key(session: Session, secret_key: str) -> DemoKey:
    """The newest signing key record, made and stored (encrypted with `secret_key`) when there is none."""
    key = session.scalars(select(DemoKey).order_by(DemoKey.id.desc()).limit(1)).first()
    if key is None:
        private = new_rsa_key()
        kid = "demo-" + uuid.uuid4().hex[:12]
        key = DemoKey(
            kid=kid,
            public_jwk=public_jwk(private, kid),
            private_key_encrypted=fernet(secret_key).encrypt(private_pem(private)),
        )
        session.add(key)
        session.commit()
    return key


def signing_key(session: Session, secret_key: str) -> SigningKey:
    """The demo LMS's key for signing id_tokens, made on first use."""
    record = ensure_key(session, secret_key)
    return decrypt_signing_key(record.kid, record.private_key_encrypted, secret_key)


def jwks(session: Session) -> dict[str, Any]:
    """The public keys of every key the demo LMS has made, as a JWKS."""
    return {"keys": [k.public_jwk for k in session.scalars(select(DemoKey).order_by(DemoKey.id))]}


# --- the tool as registered here -------------------------------------------------------

def registration(session: Session, client_id: str | None = None) -> DemoToolRegistration | None:
    """The first active tool registration, or the active one with `client_id`; None when none is."""
    query = select(DemoToolRegistration).where(DemoToolRegistration.active.is_(True))
    if client_id:
        query = query.where(DemoToolRegistration.client_id == client_id)
    return session.scalars(query.order_by(DemoToolRegistration.id).limit(1)).first()


def register_tool(
    session: Session, *, tool_base_url: str, client_id: str = CLIENT_ID, deployment_id: str = DEPLOYMENT_ID
) -> DemoToolRegistration:
    """Register the tool at `tool_base_url` (or update its registration) as active."""
    reg = session.scalars(
        select(DemoToolRegistration).where(DemoToolRegistration.client_id == client_id)
    ).first()
    if reg is None:
        reg = DemoToolRegistration(client_id=client_id)
        session.add(reg)
    reg.deployment_id = deployment_id
    reg.name = "Integrationsløft"
    reg.login_url = tool_base_url + "/lti/login"
    reg.redirect_uris = [tool_base_url + "/lti/launch"]
    reg.jwks_url = tool_base_url + "/.well-known/jwks.json"
    reg.target_link_uri = tool_base_url + "/lti/launch"
    reg.deep_link_url = tool_base_url + "/lti/launch"
    reg.scopes = [claims.SCOPE_LINEITEM, claims.SCOPE_RESULT_READONLY, claims.SCOPE_SCORE, claims.SCOPE_NRPS]
    reg.active = True
    session.commit()
    return reg


SEED_LINKS: tuple[tuple[str, str, str, dict[str, str], float | None], ...] = (
    ("vejle-int", "rl-nyankomne", "Modul 1: Nyankomne flygtninge og familiesammenførte",
     {"module": "nyankomne"}, 100.0),
    ("vejle-int", "rl-samarbejde", "Modul 2: Tværfaglige samarbejdsmetoder",
     {"module": "tvaerfagligt-samarbejde"}, 100.0),
    ("vejle-int", "rl-programme", "Hele efteruddannelsen i integration",
     {"programme": "efteruddannelse-integration"}, 100.0),
    ("vejle-int", "rl-manual", "Integrationsløft (oprettet manuelt)", {}, None),
    ("malmo-change", "rl-change", "CHANGE – hela programmet", {"programme": "change"}, 100.0),
    ("malmo-change", "rl-fasttrack", "Fast track to work", {"programme": "fast-track"}, 100.0),
    ("fast-track", "rl-fasttrack-en", "Fast track to work", {"programme": "fast-track"}, 100.0),
    ("stor-kursus", "rl-stor", "Modul 1 for det store hold", {"module": "nyankomne"}, 100.0),
    ("stor-kursus", "rl-stor-programme", "Hele efteruddannelsen for det store hold",
     {"programme": "efteruddannelse-integration"}, 100.0),
    ("stor-kursus", "rl-stor-manual", "Integrationsløft (oprettet manuelt, stort hold)", {}, None),
    ("stor-kursus", "rl-stor-change", "CHANGE för den svenska gruppen", {"programme": "change"}, 100.0),
    ("stor-kursus", "rl-stor-fasttrack", "Fast track to work (English-speaking staff)",
     {"programme": "fast-track"}, 100.0),
)


def seed_links(session: Session) -> None:
    """Add the demo courses' resource links and their line items, skipping those already there."""
    for course_id, link_id, title, custom, maximum in SEED_LINKS:
        if session.scalars(select(DemoResourceLink).where(DemoResourceLink.link_id == link_id)).first():
            continue
        session.add(DemoResourceLink(course_id=course_id, link_id=link_id, title=title, custom=custom))
        if maximum is not None:
            resource = custom.get("module") or custom.get("programme")
            session.add(DemoLineItem(course_id=course_id, resource_link_id=link_id, label=title,
                                     score_maximum=maximum, resource_id=resource, tag="integrationsloeft"))
    session.commit()


# --- OIDC --------------------------------------------------------------------------------

def _hints(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="demo-lms-message-hint")


def message_hint(secret_key: str, *, user_id: str, course_id: str, link_id: str | None,
                 message_type: str, target: str = "iframe", page_origin: str | None = None) -> str:
    """A signed `lti_message_hint` carrying who launches what from where, read back by `read_hint`."""
    return _hints(secret_key).dumps(
        {"u": user_id, "c": course_id, "l": link_id, "m": message_type, "t": target, "o": page_origin}
    )


def read_hint(secret_key: str, hint: str) -> dict[str, Any]:
    """The launch details from a `message_hint` token; DemoError when forged or older than 10 minutes."""
    try:
        data: dict[str, Any] = _hints(secret_key).loads(hint, max_age=600)
    except BadItsdangerousSignature as exc:
        raise DemoError("invalid_request", "lti_message_hint is not valid") from exc
    return data


def authorize(session: Session, params: dict[str, str], *, urls: DemoUrls, secret_key: str,
              extra_claims: dict[str, Any] | None = None) -> tuple[str, dict[str, str]]:
    """Check the tool's authorization request and answer with (redirect_uri, form fields)."""
    reg = registration(session, params.get("client_id"))
    if reg is None:
        raise DemoError("unauthorized_client", "unknown client_id")
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in reg.redirect_uris:
        # Moodle answers "Invalid request" without redirecting anywhere.
        raise DemoError("invalid_request", "redirect_uri is not registered")
    expected = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none"}
    for name, value in expected.items():
        if params.get(name) != value:
            raise DemoError("invalid_request", f"{name} must be {value}")
    for name in ("nonce", "state", "login_hint", "lti_message_hint"):
        if not params.get(name):
            raise DemoError("invalid_request", f"{name} is missing")
    hint = read_hint(secret_key, params["lti_message_hint"])
    if hint["u"] != params["login_hint"]:
        raise DemoError("login_required", "login_hint is not the user of this launch")
    token_claims = launch_claims(session, reg, hint, nonce=params["nonce"], urls=urls)
    token_claims.update(extra_claims or {})
    token = signing_key(session, secret_key).sign(token_claims)
    return redirect_uri, {"id_token": token, "state": params["state"]}


def launch_claims(session: Session, reg: DemoToolRegistration, hint: dict[str, Any], *,
                  nonce: str, urls: DemoUrls) -> dict[str, Any]:
    """The full claim set Moodle sends, for a resource link or a deep-linking request."""
    user = directory.find_user(hint["u"])
    course = directory.COURSES.get(hint["c"])
    if user is None or course is None:
        raise DemoError("invalid_request", "unknown user or course")
    role = directory.role_in(course, user.id)
    if role is None:
        raise DemoError("access_denied", "the user is not enrolled in the course")
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": urls.issuer,
        "aud": reg.client_id,
        "azp": reg.client_id,
        "sub": user.id,
        "iat": now,
        "exp": now + 300,
        "nonce": nonce,
        "name": user.name,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "email": user.email,
        claims.VERSION: claims.LTI_VERSION,
        claims.DEPLOYMENT_ID: reg.deployment_id,
        claims.ROLES: [role, directory.INSTITUTION_STAFF],
        claims.CONTEXT: {"id": course.id, "label": course.label, "title": course.title,
                         "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"]},
        claims.TOOL_PLATFORM: {"guid": "demo-lms.integrationsloeft", "name": "Demo-LMS",
                               "product_family_code": "integrationsloeft-demo", "version": "1.0"},
        claims.LAUNCH_PRESENTATION: {
            "locale": user.locale,
            "document_target": hint.get("t", "iframe"),
            # The LMS page the launch came from, as Moodle and Canvas send it.
            "return_url": f"{hint.get('o') or urls.base_url}/demo-lms/courses/{course.id}",
        },
        claims.NRPS_SERVICE: {"context_memberships_url": urls.memberships_url(course.id),
                              "service_versions": ["2.0"]},
    }
    ags: dict[str, Any] = {"scope": list(reg.scopes[:3]), "lineitems": urls.lineitems_url(course.id)}
    if hint["m"] == claims.MSG_DEEP_LINKING:
        body[claims.MESSAGE_TYPE] = claims.MSG_DEEP_LINKING
        body[claims.TARGET_LINK_URI] = reg.deep_link_url or reg.target_link_uri
        body[claims.DL_SETTINGS] = {
            "deep_link_return_url": urls.deep_link_return_url(course.id),
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["iframe", "window"],
            "accept_multiple": True,
            "auto_create": True,
            "title": course.title,
            "data": secrets.token_urlsafe(16),
        }
    else:
        link = session.scalars(select(DemoResourceLink).where(DemoResourceLink.link_id == hint["l"])).first()
        if link is None or link.course_id != course.id:
            raise DemoError("invalid_request", "unknown resource link")
        body[claims.MESSAGE_TYPE] = claims.MSG_RESOURCE_LINK
        body[claims.TARGET_LINK_URI] = link.url or reg.target_link_uri
        body[claims.RESOURCE_LINK] = {"id": link.link_id, "title": link.title}
        body[claims.CUSTOM] = dict(link.custom)
        items = list(session.scalars(select(DemoLineItem).where(DemoLineItem.resource_link_id == link.link_id)))
        if len(items) == 1:
            # Moodle sends `lineitem` only when exactly one line item is coupled to the link.
            ags["lineitem"] = urls.lineitem_url(course.id, items[0].id)
    body[claims.AGS_ENDPOINT] = ags
    return body


# --- OAuth2 client credentials (LTI Security Framework §4.1) --------------------------------

def _access_secret(secret_key: str) -> str:
    return secret_key + ":demo-lms-access-token"


def issue_access_token(session: Session, form: dict[str, str], *, urls: DemoUrls, secret_key: str,
                       tool_keys: PlatformKeys, store_add: Any, lifetime: int = TOKEN_LIFETIME) -> dict[str, Any]:
    """Answer a client-credentials token request (Security Framework §4.1) as a platform does.

    The client assertion must verify against the registered tool's JWKS, name the tool as `sub`, and
    carry an unused `jti`; the access token grants only the requested scopes the tool was registered for."""
    if form.get("grant_type") != "client_credentials":
        raise DemoError("unsupported_grant_type", "grant_type must be client_credentials")
    if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
        raise DemoError("invalid_client", "client_assertion_type must be jwt-bearer")
    assertion = form.get("client_assertion", "")
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise DemoError("invalid_client", "client_assertion is not a JWT", 401) from exc
    reg = registration(session, str(unverified.get("iss", "")))
    if reg is None:
        raise DemoError("invalid_client", "unknown client", 401)
    try:
        key = tool_keys.key_for(reg.jwks_url, header.get("kid"), header.get("alg"))
        verified = jwt.decode(assertion, key, algorithms=[str(header.get("alg"))], audience=urls.token_url,
                              options={"require": ["exp", "iat", "iss", "sub", "jti"]}, leeway=60)
    except Exception as exc:  # noqa: BLE001 - every failure is an invalid client to the caller
        raise DemoError("invalid_client", f"client_assertion rejected: {exc}", 401) from exc
    if verified["sub"] != reg.client_id:
        raise DemoError("invalid_client", "sub must be the client_id", 401)
    if not store_add("demo-jti:" + str(verified["jti"]), 1, 600):
        raise DemoError("invalid_client", "client_assertion jti was already used", 401)
    requested = form.get("scope", "").split()
    granted = [s for s in requested if s in reg.scopes]
    if not granted:
        raise DemoError("invalid_scope", "none of the requested scopes is granted")
    now = int(time.time())
    token = jwt.encode({"client_id": reg.client_id, "scope": granted, "iat": now, "exp": now + lifetime,
                        "jti": uuid.uuid4().hex}, _access_secret(secret_key), algorithm="HS256")
    return {"access_token": token, "token_type": "Bearer", "expires_in": lifetime, "scope": " ".join(granted)}


def check_access_token(authorization: str | None, scope: str, *, secret_key: str) -> dict[str, Any]:
    """The claims of a bearer access token that grants `scope`; DemoError (401/403) otherwise."""
    if not authorization or not authorization.startswith("Bearer "):
        raise DemoError("invalid_token", "missing bearer token", 401)
    try:
        token: dict[str, Any] = jwt.decode(authorization[7:], _access_secret(secret_key), algorithms=["HS256"])
    except jwt.PyJWTError as exc:
        raise DemoError("invalid_token", f"access token rejected: {exc}", 401) from exc
    if scope not in token["scope"]:
        raise DemoError("insufficient_scope", f"{scope} not granted", 403)
    return token


# --- dynamic registration (platform side, Dynamic Registration §3.3–3.6) -----------------------

def openid_configuration(urls: DemoUrls) -> dict[str, Any]:
    """Shaped like Moodle's, so the tool's parser meets what it meets in the field."""
    return {
        "issuer": urls.issuer,
        "token_endpoint": urls.token_url,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
        "jwks_uri": urls.jwks_url,
        "authorization_endpoint": urls.auth_url,
        "registration_endpoint": urls.issuer + "/register",
        "scopes_supported": ["openid", claims.SCOPE_LINEITEM, claims.SCOPE_LINEITEM_READONLY,
                             claims.SCOPE_RESULT_READONLY, claims.SCOPE_SCORE, claims.SCOPE_NRPS],
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "iss", "name", "given_name", "family_name", "email"],
        "https://purl.imsglobal.org/spec/lti-platform-configuration": {
            "product_family_code": "integrationsloeft-demo",
            "version": "1.0",
            "messages_supported": [{"type": claims.MSG_RESOURCE_LINK},
                                   {"type": claims.MSG_DEEP_LINKING, "placements": ["ContentArea"]}],
            "variables": ["ResourceLink.id", "Context.id", "Person.name.full"],
        },
    }


def new_registration_token(store_set: Any, ttl: int = 3600) -> str:
    """A single-use token for one dynamic registration, kept in the store for `ttl` seconds."""
    token = secrets.token_urlsafe(32)
    store_set("demo-registration-token:" + token, 1, ttl)
    return token


def register_dynamically(session: Session, metadata: dict[str, Any], bearer: str | None, *,
                         store_pop: Any) -> dict[str, Any]:
    """Accept a tool's client registration, as Moodle does: the token is single-use."""
    if not bearer or not bearer.startswith("Bearer ") or not store_pop("demo-registration-token:" + bearer[7:]):
        raise DemoError("invalid_token", "registration token missing, wrong or used", 401)
    tool_config = metadata.get("https://purl.imsglobal.org/spec/lti-tool-configuration")
    required = ("initiate_login_uri", "redirect_uris", "jwks_uri", "client_name")
    if (not isinstance(tool_config, dict) or any(not metadata.get(k) for k in required)
            or "id_token" not in (metadata.get("response_types") or [])
            or metadata.get("token_endpoint_auth_method") != "private_key_jwt"
            or not tool_config.get("target_link_uri") or not tool_config.get("domain")):
        raise DemoError("invalid_client_metadata", "required client metadata is missing")
    messages = {m.get("type"): m for m in tool_config.get("messages") or [] if isinstance(m, dict)}
    deep_link = messages.get(claims.MSG_DEEP_LINKING)
    count = session.scalar(select(func.count()).select_from(DemoToolRegistration)) or 0
    reg = DemoToolRegistration(
        client_id="dr-" + secrets.token_hex(6), deployment_id=f"dr-{count + 1}", name=str(metadata["client_name"]),
        login_url=str(metadata["initiate_login_uri"]), redirect_uris=[str(u) for u in metadata["redirect_uris"]],
        jwks_url=str(metadata["jwks_uri"]), target_link_uri=str(tool_config["target_link_uri"]),
        deep_link_url=str(deep_link.get("target_link_uri") or tool_config["target_link_uri"]) if deep_link else None,
        scopes=[s for s in str(metadata.get("scope", "")).split() if s],
        active=False,  # pending until an administrator activates it, as in Moodle
    )
    session.add(reg)
    session.commit()
    answer = dict(metadata)
    answer["client_id"] = reg.client_id
    answer["https://purl.imsglobal.org/spec/lti-tool-configuration"] = {
        **tool_config, "deployment_id": reg.deployment_id}
    return answer
