"""Validating an LTI 1.3 launch (Core §5.1.3, Security Framework §5.1.3) and the typed view of it.

pylti1p3 supplies the registration and deployment lookups (through the DB-backed ToolConf) and
the per-message claim validators, called through its public `message_validators` module; PyJWT
decodes and verifies the token. pylti1p3's gaps are closed here:
- the nonce is consumed exactly once and must be the one issued with this login's state;
- `exp` and `iat` are required, with a leeway instead of switching the `iat` check off;
- `aud` may be a list that must contain our client_id, and `azp` is checked when present;
- `target_link_uri` must be the one the login asked for;
- the platform's keys come from a shared cache, refetched only on an unknown kid.
"""

from __future__ import annotations

import base64
import json
import logging
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import jwt
from pylti1p3.exception import LtiException
from pylti1p3.message_validators import get_validators

from lti_tool.errors import (
    BadSignature,
    ExpiredLaunch,
    InactiveDeployment,
    InactivePlatform,
    InvalidLaunch,
    NoLinkPlacement,
    ReplayedLaunch,
    SessionExpired,
    StateMismatch,
    UnknownPlatform,
    WrongMessage,
)
from lti_tool.lti import claims
from lti_tool.lti.deep_linking import DeepLinkingSettings
from lti_tool.lti.login import STATE_COOKIE_PREFIX, state_key
from lti_tool.lti.platform_keys import PlatformKeys
from lti_tool.lti.roles import Role, effective_role
from lti_tool.lti.toolconf import DatabaseToolConf, DeploymentSnapshot, PlatformSnapshot
from lti_tool.store import KeyValueStore
from lti_tool.text import MAX_SERVICE_URL, storable_text
from lti_tool.tokens import same_token

log = logging.getLogger(__name__)

SUPPORTED_MESSAGES = {claims.MSG_RESOURCE_LINK, claims.MSG_DEEP_LINKING}
# Claims that must be JSON objects when present (Core §5.3, §5.4; AGS §3.1; NRPS §3.6; DL §4.4.1).
OBJECT_CLAIMS = (claims.RESOURCE_LINK, claims.CONTEXT, claims.CUSTOM, claims.LAUNCH_PRESENTATION,
                 claims.TOOL_PLATFORM, claims.LIS, claims.AGS_ENDPOINT, claims.NRPS_SERVICE,
                 claims.DL_SETTINGS)


def unverified_platform_locale(id_token: str | None) -> str | None:
    """The platform's locale in a token not (or not yet) validated: for an error page's language only.

    lti_tool.launch.locale maps it to an interface language; reading the token stays here, where
    the claims are read."""
    if not id_token or len(id_token) > 64 * 1024:
        return None
    try:
        _, body = read_unverified(id_token)  # nothing read here is trusted
        return str(body.get(claims.LAUNCH_PRESENTATION, {}).get("locale") or "") or None
    except (WrongMessage, AttributeError):  # a malformed token, or a presentation claim that is no object
        return None


# Fields of the service claims the tool relies on, and their shapes (AGS §3.1, NRPS §3.6, DL §4.4.1).
SHAPED_FIELDS = (
    (claims.AGS_ENDPOINT, "scope", "a list of text"),
    (claims.AGS_ENDPOINT, "lineitem", "text"),
    (claims.AGS_ENDPOINT, "lineitems", "text"),
    (claims.NRPS_SERVICE, "context_memberships_url", "text"),
    (claims.DL_SETTINGS, "deep_link_return_url", "text"),
    (claims.DL_SETTINGS, "accept_types", "a list of text"),
    (claims.DL_SETTINGS, "accept_presentation_document_targets", "a list of text"),
    (claims.LAUNCH_PRESENTATION, "return_url", "text"),
)


def _is_plain_json(value: Any, depth: int = 0) -> bool:
    """Only what JSON itself can say and PostgreSQL can store: no NaN or Infinity, no text that
    cannot be stored (see storable_text), and not absurdly deep."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return depth < 32 and all(storable_text(k) and _is_plain_json(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return depth < 32 and all(_is_plain_json(v, depth + 1) for v in value)
    return True


# The service URLs stored in columns of their own (grade_targets); the others live in the claims' JSON.
STORED_URLS = ("lineitem", "lineitems")


def malformed_claim(body: dict[str, Any]) -> str | None:
    """What is wrong with the shape of a signed token's claims, or None.

    pylti1p3's validators and the tool's storage assume the shapes the specifications give;
    anything else must be a clear 400, not an exception further on."""
    if not _is_plain_json(body):
        # JSON has no NaN or Infinity (RFC 8259 §6), but Python's parser takes them, and
        # PostgreSQL's json type refuses them when the claims are stored.
        return "claims hold NaN, Infinity, a NUL character or a lone surrogate"
    for name in OBJECT_CLAIMS:
        if name in body and not isinstance(body[name], dict):
            return f"{name} is not an object"
    for claim, key, kind in SHAPED_FIELDS:
        value = body.get(claim, {}).get(key)
        if value is not None and not _has_shape(value, kind):
            return f"{claim} {key} is not {kind}"
        if key in STORED_URLS and isinstance(value, str) and len(value) > MAX_SERVICE_URL:
            return f"{claim} {key} is longer than {MAX_SERVICE_URL} characters"
    identifiers = (("sub", body.get("sub")), ("context.id", body.get(claims.CONTEXT, {}).get("id")),
                   ("resource_link.id", body.get(claims.RESOURCE_LINK, {}).get("id")))
    for name, value in identifiers:
        # Core §5.3.6, §5.4.1, §5.3.5: identifiers of at most 255 characters.
        if value is not None and (not isinstance(value, str | int) or len(str(value)) > 255):
            return f"{name} is not an identifier of at most 255 characters"
    return None


def _has_shape(value: Any, kind: str) -> bool:
    if kind == "text":
        return isinstance(value, str)
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def claim_text(value: Any, limit: int) -> str | None:
    """A claim shown as text, cut to what the database column holds (names and titles only)."""
    if value is None or value == "":
        return None
    return str(value)[:limit]


@dataclass(frozen=True)
class Launch:
    """A validated launch: typed access to the claims the tool uses."""

    claims: dict[str, Any]
    platform_id: int
    deployment_pk: int
    # False when the browser had no state cookie and the login used platform storage: the
    # launch is only complete once the page has read the state back from the platform.
    bound_by_cookie: bool = True
    storage_target: str | None = None
    platform_origin: str | None = None

    def _claim(self, name: str) -> dict[str, Any]:
        value = self.claims.get(name)
        return value if isinstance(value, dict) else {}

    @property
    def issuer(self) -> str:
        """The platform's issuer (`iss`)."""
        return str(self.claims["iss"])

    @property
    def sub(self) -> str:
        """The person's id at the platform (`sub`)."""
        return str(self.claims["sub"])

    @property
    def message_type(self) -> str:
        """The LTI message type (resource link or deep linking)."""
        return str(self.claims[claims.MESSAGE_TYPE])

    @property
    def is_deep_linking(self) -> bool:
        """Whether this is a deep-linking request (an instructor adding activities)."""
        return self.message_type == claims.MSG_DEEP_LINKING

    @property
    def deployment_id(self) -> str:
        """The deployment the platform launched from."""
        return str(self.claims[claims.DEPLOYMENT_ID])

    @property
    def name(self) -> str | None:
        """The person's name, from `name` or given and family name; None if the platform sent none."""
        name = self.claims.get("name")
        if not name:
            parts = [self.claims.get("given_name"), self.claims.get("family_name")]
            name = " ".join(str(p) for p in parts if p)
        return claim_text(name, 255)

    @property
    def email(self) -> str | None:
        """The person's e-mail address when the platform sent a plausible one, else None."""
        email = claim_text(self.claims.get("email"), 320)
        # No address is longer than 254 characters (RFC 5321): a longer value is not an e-mail.
        return email if email and len(email) <= 254 else None

    @cached_property
    def roles(self) -> list[str]:
        """The role URIs the platform sent (empty when malformed)."""
        roles = self.claims.get(claims.ROLES) or []
        return [str(r) for r in roles if r] if isinstance(roles, list) else []

    @property
    def role(self) -> Role:
        """The one role the tool acts on (instructor wins over learner)."""
        return effective_role(self.roles)

    @property
    def is_instructor(self) -> bool:
        """Whether the tool treats this person as an instructor."""
        return self.role == Role.INSTRUCTOR

    @property
    def platform_locale(self) -> str | None:
        """The platform's locale (da-DK, sv_SE …) as sent; lti_tool.launch.locale maps it."""
        locale = self._claim(claims.LAUNCH_PRESENTATION).get("locale")
        return locale if isinstance(locale, str) and locale else None

    @property
    def context_key(self) -> str | None:
        """The course's id on the platform (Core §5.4.1), if the launch is within one."""
        key = self._claim(claims.CONTEXT).get("id")
        return str(key) if key else None

    @property
    def context_label(self) -> str | None:
        """The course's short label, as the column holds it."""
        return claim_text(self._claim(claims.CONTEXT).get("label"), 255)

    @property
    def context_title(self) -> str | None:
        """The course's title, as the column holds it."""
        return claim_text(self._claim(claims.CONTEXT).get("title"), 512)

    @property
    def link_key(self) -> str | None:
        """The resource link's id on the platform (Core §5.3.5)."""
        key = self._claim(claims.RESOURCE_LINK).get("id")
        return str(key) if key else None

    @property
    def link_title(self) -> str | None:
        """The resource link's title, as the column holds it."""
        return claim_text(self._claim(claims.RESOURCE_LINK).get("title"), 512)

    @property
    def custom(self) -> dict[str, str]:
        """The custom parameters (Core §5.4.6), as text, sorted by name: one stored text for one set."""
        return {str(k): str(v) for k, v in sorted(self._claim(claims.CUSTOM).items(), key=lambda kv: str(kv[0]))}

    @property
    def lineitem_url(self) -> str | None:
        """The line item coupled to the link (AGS §3.1), sent only while one is."""
        url = self._claim(claims.AGS_ENDPOINT).get("lineitem")
        return str(url) if url else None

    @property
    def lineitems_url(self) -> str | None:
        """The course's line items container (AGS §3.1)."""
        url = self._claim(claims.AGS_ENDPOINT).get("lineitems")
        return str(url) if url else None

    @property
    def ags_scopes(self) -> list[str]:
        """The AGS scopes the platform granted (AGS §3.1)."""
        return [str(scope) for scope in self._claim(claims.AGS_ENDPOINT).get("scope") or []]

    def service_claims(self) -> dict[str, Any]:
        """What later requests of this launch need; kept with the launch record."""
        kept = {
            "ags": self._claim(claims.AGS_ENDPOINT),
            "nrps": self._claim(claims.NRPS_SERVICE),
            "deep_linking_settings": self._claim(claims.DL_SETTINGS),
            "presentation": self._claim(claims.LAUNCH_PRESENTATION),
            "custom": self.custom,
        }
        return {k: v for k, v in kept.items() if v}


@dataclass(frozen=True)
class ServiceClaims:
    """The claims kept with a launch record (Launch.service_claims), read back by its later pages.

    The stored JSON is read here, in the adapter, so that the launch pages and services see typed
    values only. Each property parses on first use: most pages read none of them."""

    stored: dict[str, Any]

    def _part(self, name: str) -> dict[str, Any]:
        value = self.stored.get(name)
        return value if isinstance(value, dict) else {}

    @cached_property
    def memberships_url(self) -> str | None:
        """The course's NRPS endpoint (NRPS §3.6) if it is one a roster snapshot can store, else None."""
        url = self._part("nrps").get("context_memberships_url")
        if not isinstance(url, str) or not url or len(url) > MAX_SERVICE_URL or not storable_text(url):
            return None
        return url

    @cached_property
    def deep_linking(self) -> DeepLinkingSettings:
        """The deep-linking request's settings (DL §4.4.1); empty for a resource-link launch."""
        return DeepLinkingSettings.from_claim(self._part("deep_linking_settings"))

    @property
    def return_url(self) -> str | None:
        """Where the platform wants the person back (Core §5.4.4 launch_presentation.return_url)."""
        url = self._part("presentation").get("return_url")
        return url if isinstance(url, str) and url else None

    @property
    def document_target(self) -> str:
        """How the platform opened the tool: iframe (the default), window or frame."""
        return str(self._part("presentation").get("document_target", "iframe"))


@dataclass
class LaunchInput:
    """The parts of the launch request that validation reads."""

    id_token: str | None
    state: str | None
    cookies: dict[str, str] = field(default_factory=dict)


def read_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The token's header and body before its signature is checked: the issuer and key id in them
    say which platform's key to check it with. Nothing read here is trusted: `_verify` decodes the
    token again with PyJWT, and the launch reads only what that returns.

    Still strict, so a malformed token is refused before the store or the database is asked
    anything: three segments in canonical base64url, a JSON object in the first two, a string
    `kid` if any (RFC 7515 §4.1.4)."""
    # Performance: PyJWT's own unverified reads (get_unverified_header, decode without a key) each
    # check every character of all three segments in Python, about 0.3 ms for a Moodle-sized token;
    # the standard library does the same checks in C.
    try:
        segments = token.split(".")
        if len(segments) != 3:
            raise ValueError(f"{len(segments)} segments, not 3")
        header_bytes, body_bytes, _ = (_base64url(segment) for segment in segments)
        header, body = json.loads(header_bytes), json.loads(body_bytes)
    # binascii.Error, UnicodeError and JSON errors are ValueErrors; deeply nested JSON is a RecursionError
    except (ValueError, RecursionError) as exc:
        raise WrongMessage(str(exc) or type(exc).__name__, reason="malformed_token") from exc
    if not isinstance(body, dict) or not isinstance(header, dict):
        raise WrongMessage("token parts are not JSON objects", reason="malformed_token")
    if "kid" in header and not isinstance(header["kid"], str):
        raise WrongMessage("kid is not a string", reason="malformed_token")
    return header, body


def _base64url(segment: str) -> bytes:
    """One segment's bytes; ValueError unless it is their one spelling in base64url, with at most
    the padding some issuers add (GHSA-hxm8-2xgr-2p9m: no two spellings of one token)."""
    stripped = segment.rstrip("=")
    if len(segment) - len(stripped) > 2 or (stripped != segment and len(segment) % 4):
        raise ValueError("invalid padding")
    decoded = base64.b64decode(stripped + "=" * (-len(stripped) % 4), altchars=b"-_", validate=True)
    if base64.urlsafe_b64encode(decoded).rstrip(b"=").decode("ascii") != stripped:
        raise ValueError("not canonical base64url")
    return decoded


def validate_message_claims(body: dict[str, Any]) -> None:
    """pylti1p3's claim checks for the message type (resource link, deep linking …), exactly one
    of which must apply, as its MessageLaunch.validate_message runs them."""
    applicable = [validator for validator in get_validators() if validator.can_validate(body)]
    if len(applicable) != 1:
        raise WrongMessage(f"{len(applicable)} validators for the message", reason="missing_claims")
    if not applicable[0].validate(body):
        raise WrongMessage("message validation failed", reason="missing_claims")


class LaunchValidator:
    """Validates a launch's id_token against the login it answers, as the module docstring lists."""

    def __init__(
        self,
        toolconf: DatabaseToolConf,
        store: KeyValueStore,
        platform_keys: PlatformKeys,
        *,
        leeway: int,
        max_token_bytes: int,
        state_lifetime: int,
    ) -> None:
        self._toolconf = toolconf
        self._store = store
        self._keys = platform_keys
        self._leeway = leeway
        self._max_bytes = max_token_bytes
        self._state_lifetime = state_lifetime
        self._deployment_row: DeploymentSnapshot | None = None

    def validate(self, data: LaunchInput) -> Launch:
        """The validated launch, or a named ToolError saying what is wrong with it."""
        token, state = data.id_token, data.state
        if not token:
            raise WrongMessage("launch without id_token", reason="missing_id_token")
        if len(token) > self._max_bytes:
            raise WrongMessage(f"id_token of {len(token)} bytes", reason="oversized_token")
        if not state:
            raise StateMismatch("launch without state", reason="missing_state")

        header, body = read_unverified(token)

        login = self._store.get(state_key(state))
        if login is None:
            if self._store.get("state-used:" + state):
                raise ReplayedLaunch(f"state {state[:8]}… already used", reason="replayed_state")
            raise SessionExpired(f"state {state[:8]}… unknown or expired", reason="unknown_state")
        bound_by_cookie = same_token(data.cookies.get(STATE_COOKIE_PREFIX + state, ""), state)
        if not bound_by_cookie and not login.get("storage_target"):
            raise StateMismatch("state cookie missing or different", reason="state_cookie")

        platform = self._platform(body, login)
        key = self._keys.key_for(platform.key_set_url, header.get("kid"), header.get("alg"))
        body = self._verify(token, key, str(header.get("alg")), platform)
        self._consume(state, login, body)
        deployment = self._deployment(body, platform)
        self._check_message(body, login)
        return Launch(claims=body, platform_id=platform.id, deployment_pk=deployment.id,
                      bound_by_cookie=bound_by_cookie, storage_target=login.get("storage_target"),
                      platform_origin=login.get("platform_origin"))

    def _platform(self, body: dict[str, Any], login: dict[str, Any]) -> PlatformSnapshot:
        iss = body.get("iss")
        if not iss:
            raise WrongMessage("no iss", reason="missing_iss")
        if iss != login["iss"]:
            raise InvalidLaunch(f"iss {iss!r} is not the login's {login['iss']!r}", reason="iss_mismatch")
        client_id = login["client_id"]
        aud = body.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if client_id not in audiences:
            raise InvalidLaunch(f"aud {aud!r} lacks client_id {client_id!r}", reason="wrong_audience")
        azp = body.get("azp")
        if azp is not None and azp != client_id:
            raise InvalidLaunch(f"azp {azp!r} is not {client_id!r}", reason="wrong_azp")
        if len(audiences) > 1 and azp is None:
            raise InvalidLaunch("several audiences and no azp", reason="missing_azp")
        # Performance: the platform and the token's deployment in one query; the deployment is
        # still checked in _deployment, after the signature, as before.
        deployment_id = body.get(claims.DEPLOYMENT_ID)
        if not storable_text(str(deployment_id)):  # looked up before the claims' shapes are checked
            raise WrongMessage("deployment_id holds a NUL character or a lone surrogate", reason="malformed_claims")
        platform, self._deployment_row = self._toolconf.find_platform_and_deployment(
            str(iss), str(client_id), str(deployment_id) if deployment_id else None
        )
        if platform is None:
            raise UnknownPlatform(f"no platform iss={iss!r} client_id={client_id!r}")
        if not platform.is_active:
            raise InactivePlatform(f"platform {platform.id} is {platform.status}")
        return platform

    def _verify(self, token: str, key: Any, alg: str, platform: PlatformSnapshot) -> dict[str, Any]:
        """The token's claims, verified: signature, audience, issuer, expiry and required claims."""
        try:
            # PyJWT's own decode: besides the signature it refuses segments that are not canonical
            # base64url (GHSA-hxm8-2xgr-2p9m), so no two encodings of one token are both accepted.
            verified: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=platform.client_id,
                issuer=platform.issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise ExpiredLaunch(str(exc), reason="expired_token") from exc
        except jwt.ImmatureSignatureError as exc:
            raise ExpiredLaunch(str(exc), reason="token_from_future") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise WrongMessage(str(exc), reason=f"missing_{exc.claim}") from exc
        except jwt.InvalidAudienceError as exc:
            raise InvalidLaunch(str(exc), reason="wrong_audience") from exc
        except jwt.InvalidSignatureError as exc:
            raise BadSignature(str(exc)) from exc
        except jwt.PyJWTError as exc:
            raise WrongMessage(str(exc), reason="invalid_token") from exc
        return verified

    def _consume(self, state: str, login: dict[str, Any], body: dict[str, Any]) -> None:
        nonce = body.get("nonce")
        if not isinstance(nonce, str) or not same_token(nonce, str(login["nonce"])):
            raise InvalidLaunch("nonce is not the one issued with this state", reason="nonce_mismatch")
        # The marker goes first so a racing duplicate that finds the state gone is told it is
        # a replay. The atomic pop is the single point where a launch is accepted: of two
        # identical posts, racing or not, only one gets the record.
        taken, nonce_is_new = self._store.spend(state_key(state), "state-used:" + state, "nonce:" + nonce,
                                                self._state_lifetime + self._leeway)
        if taken is None:
            raise ReplayedLaunch("state consumed concurrently", reason="replayed_state")
        if not nonce_is_new:
            raise ReplayedLaunch("nonce already used", reason="replayed_nonce")

    def _deployment(self, body: dict[str, Any], platform: PlatformSnapshot) -> DeploymentSnapshot:
        deployment_id = body.get(claims.DEPLOYMENT_ID)
        if not deployment_id:
            raise WrongMessage("no deployment_id", reason="missing_deployment_id")
        record = self._deployment_row  # read with the platform (see _platform)
        if record is None or not record.active:
            raise InactiveDeployment(f"deployment {deployment_id!r} of platform {platform.id}")
        return record

    def _check_message(self, body: dict[str, Any], login: dict[str, Any]) -> None:
        message_type = body.get(claims.MESSAGE_TYPE)
        if not isinstance(message_type, str) or message_type not in SUPPORTED_MESSAGES:
            raise WrongMessage(f"message type {message_type!r}", reason="wrong_message_type")
        if body.get(claims.VERSION) != claims.LTI_VERSION:
            raise WrongMessage(f"version {body.get(claims.VERSION)!r}", reason="wrong_version")
        problem = malformed_claim(body)
        if problem:
            raise WrongMessage(problem, reason="malformed_claims")
        if message_type == claims.MSG_DEEP_LINKING and "ltiResourceLink" not in (
                body.get(claims.DL_SETTINGS, {}).get("accept_types") or []):
            # pylti1p3 refuses it too, as a bare "missing claims": say what is really wrong.
            raise NoLinkPlacement("deep linking request that accepts no ltiResourceLink")
        try:
            validate_message_claims(body)
        except LtiException as exc:
            raise WrongMessage(str(exc), reason="missing_claims") from exc
        except (AttributeError, TypeError, KeyError, ValueError) as exc:
            # pylti1p3's validators assume well-formed claims; anything else is a bad message.
            raise WrongMessage(f"malformed claims: {exc!r}", reason="malformed_claims") from exc
        if not isinstance(body.get(claims.ROLES), list):
            raise WrongMessage("roles is not a list", reason="missing_claims")
        target = body.get(claims.TARGET_LINK_URI)
        if target != login["target_link_uri"]:
            # Core §5.3.4: the launch must go where the login said it would.
            raise InvalidLaunch(
                f"target_link_uri {target!r} != login's {login['target_link_uri']!r}",
                reason="target_link_uri_mismatch",
            )


def describe(body: dict[str, Any]) -> str:
    """A short, non-personal description of a token body for log lines."""
    return json.dumps(
        {
            "iss": body.get("iss"),
            "aud": body.get("aud"),
            "deployment_id": body.get(claims.DEPLOYMENT_ID),
            "message_type": body.get(claims.MESSAGE_TYPE),
        }
    )
