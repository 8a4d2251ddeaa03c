"""LTI Dynamic Registration 1.0: the tool's side of the exchange, and its configuration JSON.

The same client metadata is shown on the operator's "register by hand" page, so an
administrator registering manually pastes exactly what dynamic registration would have sent.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import requests
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lti_tool.errors import ToolError
from lti_tool.lti import claims
from lti_tool.lti.http import PERSON_WAITING, budget_text
from lti_tool.lti.safe_urls import UnsafeURL, check_url, unambiguous_host
from lti_tool.lti.tool_info import ToolInfo
from lti_tool.models import Platform, PlatformStatus
from lti_tool.operating.platforms import PlatformAlreadyRegistered, PlatformError, add_platform, unused_name
from lti_tool.store import KeyValueStore
from lti_tool.text import storable_text

TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
CLIENT_NAMES = {"da": "Integrationsløft", "sv": "Integrationsløft", "en": "Integrationsløft"}
DESCRIPTIONS = {
    "da": "Efteruddannelse i integration for kommunale medarbejdere",
    "sv": "Fortbildning i integrationsarbete för kommunanställda",
    "en": "Continuing education in integration work for municipal staff",
}
ALL_SCOPES = (claims.SCOPE_LINEITEM, claims.SCOPE_RESULT_READONLY, claims.SCOPE_SCORE, claims.SCOPE_NRPS)


def client_language(locale: str) -> str:
    """The language of the tool's name and description: the locale if the tool has it, else Danish."""
    return locale if locale in CLIENT_NAMES else "da"


def client_metadata(base_url: str, *, scopes: list[str] | None = None, deep_linking: bool = True,
                    locale: str = "da") -> dict[str, Any]:
    """The OpenID client registration the tool posts (Dynamic Registration §3.3, §3.4)."""
    info = ToolInfo(base_url)
    locale = client_language(locale)
    messages: list[dict[str, Any]] = [{"type": claims.MSG_RESOURCE_LINK, "target_link_uri": info.launch_url}]
    if deep_linking:
        messages.append({
            "type": claims.MSG_DEEP_LINKING,
            "target_link_uri": info.deep_linking_url,
            "label": CLIENT_NAMES[locale],
            "placements": ["ContentArea", "AddContentMenu", "link_selection", "assignment_selection"],
            "supported_types": ["ltiResourceLink"],
        })
    metadata: dict[str, Any] = {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": info.login_url,
        "redirect_uris": info.redirect_uris,
        "client_name": CLIENT_NAMES[locale],
        "jwks_uri": info.jwks_url,
        "logo_uri": base_url + "/static/img/logo.svg",
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(scopes if scopes is not None else ALL_SCOPES),
        TOOL_CONFIGURATION: {
            "domain": info.domain,
            "target_link_uri": info.launch_url,
            "description": DESCRIPTIONS[locale],
            "claims": ["iss", "sub", "name", "given_name", "family_name", "email", "locale"],
            "messages": messages,
            "custom_parameters": {},
        },
    }
    for language, name in CLIENT_NAMES.items():
        metadata[f"client_name#{language}"] = name
    return metadata


# --- the exchange (Dynamic Registration §3) ---------------------------------------------------
PENDING_TTL = 3600
# Canvas cloud serves each customer's configuration from the customer's host but uses one
# issuer for all of them. Only these issuers are accepted from a host other than their own, and
# only when the configuration came from Instructure's own domain (or a host the operator listed
# in CANVAS_CLOUD_EXTRA_HOSTS, e.g. a customer's vanity domain): anyone can serve a configuration
# that claims to be Canvas, and the issuer is what launches are matched on.
CANVAS_ISSUERS = {"https://canvas.instructure.com", "https://canvas.beta.instructure.com",
                  "https://canvas.test.instructure.com"}
CANVAS_CLOUD_DOMAIN = "instructure.com"
# Canvas's name for the account that registers the tool (not part of the IMS specification).
CANVAS_ACCOUNT_NAME = "https://canvas.instructure.com/lti/account_name"
# Column sizes of the platforms and deployments tables.
MAX_ID_LENGTH = 255
MAX_URL_LENGTH = 1024


class RegistrationFailed(ToolError):
    """Dynamic registration stopped; `explanation` tells the administrator why, in their language."""

    reason = "registration_failed"
    message = _l("The tool could not be registered with your learning platform.")
    hint = _l("Nothing was registered. Check the details below, or register the tool by hand.")

    def __init__(self, detail: str, explanation: str, *, reason: str | None = None) -> None:
        super().__init__(detail, reason=reason)
        self.explanation = explanation


@dataclass(frozen=True)
class PlatformConfiguration:
    """What the tool needs from the platform's OpenID configuration (§3.4, §4.1)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    registration_endpoint: str
    token_audience: str | None
    product_family: str
    product_version: str
    scopes: tuple[str, ...]
    messages: tuple[str, ...]
    # Last, with a default: pending registrations stored before this field existed still load.
    account_name: str | None = None

    @property
    def offers_deep_linking(self) -> bool:
        """Whether the platform accepts deep-linking requests."""
        return claims.MSG_DEEP_LINKING in self.messages

    @property
    def granted_scopes(self) -> list[str]:
        """The tool's scopes the platform supports; all of them when it lists none."""
        return [s for s in ALL_SCOPES if not self.scopes or s in self.scopes]


def _explain(reason: str, detail: str, explanation: str) -> RegistrationFailed:
    return RegistrationFailed(detail, explanation, reason=reason)


def _malformed(name: str) -> RegistrationFailed:
    return _explain("registration_bad_configuration", f"{name} has the wrong type or form",
                    str(_l("The platform's configuration is malformed: the field %(name)s does not have "
                           "the expected form.", name=name)))


def _after_acceptance(error: RegistrationFailed) -> RegistrationFailed:
    """The platform has stored its half of the registration: say so instead of "nothing was registered"."""
    error.hint = _l("Your platform may already have registered the tool: remove that registration there "
                    "before you start again, or register the tool by hand.")
    return error


def _is_web_address(value: str, *, max_length: int = MAX_URL_LENGTH) -> bool:
    """An absolute http(s) URL, one host to every parser, that the database can hold."""
    return (unambiguous_host(value) is not None and value.lower().startswith(("http://", "https://"))
            and len(value) <= max_length and not any(c.isspace() for c in value))


def _text(data: Mapping[str, object], name: str) -> str | None:
    """A string field: absent, null or empty is None, any other type is malformed."""
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not storable_text(value):
        raise _malformed(name)
    return value


def _texts(data: Mapping[str, object], name: str) -> tuple[str, ...] | None:
    """A list of strings, or None when absent."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and storable_text(v) for v in value):
        raise _malformed(name)
    return tuple(value)


def _web_address(data: Mapping[str, object], name: str) -> str | None:
    value = _text(data, name)
    if value is not None and not _is_web_address(value):
        raise _malformed(name)
    return value


def _label(data: Mapping[str, object], name: str) -> str | None:
    # Descriptive fields decide nothing, so one of the wrong type is left out rather than refused.
    value = data.get(name)
    return (value.strip()[:MAX_ID_LENGTH] or None) if isinstance(value, str) and storable_text(value) else None


def is_canvas_cloud_host(host: str | None, extra_hosts: Collection[str] = ()) -> bool:
    """Instructure's domain or one of its subdomains, or a host the operator listed."""
    host = (host or "").lower().rstrip(".")
    if not host:
        return False
    return (host == CANVAS_CLOUD_DOMAIN or host.endswith("." + CANVAS_CLOUD_DOMAIN)
            or host in {h.lower().rstrip(".") for h in extra_hosts})


def parse_configuration(config_url: str, data: object, *,
                        canvas_hosts: Collection[str] = ()) -> PlatformConfiguration:
    """Validate the platform configuration: issuer bound to the URL, endpoints present (§3.5.1).

    `canvas_hosts`: hosts besides instructure.com that may serve Canvas cloud's shared issuer.
    """
    if not isinstance(data, dict):
        raise _explain("registration_bad_configuration", "configuration is not a JSON object",
                       str(_l("The platform's configuration is not valid JSON.")))
    platform = data.get(PLATFORM_CONFIGURATION)
    if platform is None:
        platform = {}
    if not isinstance(platform, dict):
        raise _malformed(PLATFORM_CONFIGURATION)
    issuer = _text(data, "issuer") or ""
    if len(issuer) > MAX_ID_LENGTH:
        raise _malformed("issuer")
    family = _label(platform, "product_family_code") or "unknown"
    try:
        url, iss = urlparse(config_url), urlparse(issuer)
        canvas_cloud = (family == "canvas" and issuer in CANVAS_ISSUERS
                        and is_canvas_cloud_host(unambiguous_host(config_url), canvas_hosts))
    except ValueError as exc:  # a broken IPv6 literal: no issuer a launch could be checked against
        raise _malformed("issuer") from exc
    if not issuer or ((url.scheme, url.netloc) != (iss.scheme, iss.netloc) and not canvas_cloud):
        raise _explain("registration_issuer_mismatch", f"issuer {issuer!r} vs {config_url!r}",
                       str(_l("The platform's issuer does not belong to the address the configuration came from, "
                              "so the tool cannot trust it.")))
    endpoints = ("authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint")
    missing = [k for k in endpoints if data.get(k) is None or data.get(k) == ""]
    if missing:
        raise _explain("registration_missing_endpoints", f"missing {missing}",
                       str(_l("The platform's configuration lacks required endpoints: %(names)s.",
                              names=", ".join(missing))))
    urls = {k: str(_web_address(data, k)) for k in endpoints}
    methods = _texts(data, "token_endpoint_auth_methods_supported") or ("private_key_jwt",)
    algorithms = _texts(data, "id_token_signing_alg_values_supported") or ("RS256",)
    if "private_key_jwt" not in methods or "RS256" not in algorithms:
        raise _explain("registration_unsupported", f"auth methods {methods}, algorithms {algorithms}",
                       str(_l("The platform does not support the signed tokens LTI 1.3 requires "
                              "(RS256, private_key_jwt).")))
    offered = platform.get("messages_supported")
    if offered is None:
        offered = []
    if not isinstance(offered, list) or not all(isinstance(m, dict) and isinstance(m.get("type"), str)
                                                for m in offered):
        raise _malformed("messages_supported")
    messages = tuple(str(m["type"]) for m in offered)
    return PlatformConfiguration(
        issuer=issuer,
        authorization_endpoint=urls["authorization_endpoint"],
        token_endpoint=urls["token_endpoint"],
        jwks_uri=urls["jwks_uri"],
        registration_endpoint=urls["registration_endpoint"],
        # Brightspace wants this as the audience of client assertions instead of the token URL.
        token_audience=_web_address(data, "authorization_server"),
        product_family=family,
        product_version=_label(platform, "version") or "",
        scopes=_texts(data, "scopes_supported") or (),
        messages=messages or (claims.MSG_RESOURCE_LINK,),
        account_name=_label(platform, CANVAS_ACCOUNT_NAME),
    )


def _refuse_redirect(response: requests.Response) -> None:
    # check_url vetted the address asked for, not wherever a redirect leads (possibly into the
    # tool's own network), so redirects are not followed but explained.
    if 300 <= response.status_code < 400:
        location = response.headers.get("Location", "")[:200]
        raise _explain("registration_redirected", f"{response.url} -> {response.status_code} {location!r}",
                       str(_l("The platform answered with a redirect (HTTP %(status)s) to %(location)s. For safety "
                              "the tool does not follow redirects: the platform must use its final address.",
                              status=response.status_code, location=location or "?")))


def _unreachable(config_url: str, exc: Exception) -> RegistrationFailed:
    return _explain("registration_unreachable", f"{config_url}: {exc}",
                    str(_l("The tool could not read the platform's configuration at %(url)s.", url=config_url)))


def _timed_out(detail: str, timeout: tuple[float, float], explanation: str) -> RegistrationFailed:
    """The platform used up the time a waiting administrator is given (PERSON_WAITING)."""
    error = _explain("registration_timeout", f"{detail} timed out ({budget_text(timeout)})", explanation)
    error.status = 503
    return error


def fetch_configuration(http: requests.Session, config_url: str, *, allow_private: bool,
                        canvas_hosts: Collection[str] = (),
                        timeout: tuple[float, float] = PERSON_WAITING) -> PlatformConfiguration:
    """The platform's OpenID configuration, checked; the administrator waits, so within `timeout`."""
    try:
        check_url(config_url, allow_private=allow_private)
    except UnsafeURL as exc:
        raise _explain("registration_unsafe_url", str(exc),
                       str(_l("The configuration address is not a public https address."))) from exc
    try:
        response = http.get(config_url, headers={"Accept": "application/json"}, allow_redirects=False,
                            timeout=timeout)
    except requests.Timeout as exc:
        raise _timed_out(f"GET {config_url}", timeout, str(_l(
            "The platform did not send its configuration within %(seconds)s seconds. Try again in a moment; "
            "if it keeps happening, register the tool by hand.", seconds=_seconds(timeout)))) from exc
    except (requests.RequestException, ValueError) as exc:
        raise _unreachable(config_url, exc) from exc
    _refuse_redirect(response)
    try:
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        raise _unreachable(config_url, exc) from exc
    configuration = parse_configuration(config_url, data, canvas_hosts=canvas_hosts)
    for endpoint in (configuration.authorization_endpoint, configuration.token_endpoint, configuration.jwks_uri,
                     configuration.registration_endpoint):
        try:
            check_url(endpoint, allow_private=allow_private)
        except UnsafeURL as exc:
            raise _explain("registration_unsafe_url", str(exc),
                           str(_l("The platform's endpoints must be public https addresses."))) from exc
    return configuration


def _seconds(timeout: tuple[float, float]) -> str:
    """The budget as a person reads it: the wait for the answer (connecting takes a moment at most)."""
    return f"{timeout[1]:g}"


def begin(store: KeyValueStore, http: requests.Session, config_url: str, token: str | None, *,
          allow_private: bool, canvas_hosts: Collection[str] = (),
          timeout: tuple[float, float] = PERSON_WAITING) -> tuple[str, PlatformConfiguration]:
    """Read and check the platform; keep what the confirmation step needs under a random id."""
    configuration = fetch_configuration(http, config_url, allow_private=allow_private, canvas_hosts=canvas_hosts,
                                        timeout=timeout)
    pending_id = secrets.token_urlsafe(24)
    store.set("registration:" + pending_id, {"config_url": config_url, "token": token,
                                              "configuration": configuration.__dict__}, PENDING_TTL)
    return pending_id, configuration


def pending(store: KeyValueStore, pending_id: str) -> tuple[dict[str, object], PlatformConfiguration]:
    """The stored record of a registration begun by `begin`, and its platform configuration.

    RegistrationFailed when the record has expired or was already finished."""
    record = store.get("registration:" + pending_id) if pending_id else None
    if not record:
        raise _explain("registration_expired", "pending registration not found",
                       str(_l("The registration took too long or was already finished. "
                              "Start it again from the platform.")))
    data = dict(record["configuration"])
    data["scopes"] = tuple(data["scopes"])
    data["messages"] = tuple(data["messages"])
    return record, PlatformConfiguration(**data)


def _identifier(value: object) -> str | None:
    """A client or deployment ID: a non-empty string (or number) that fits its column."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and value.strip() and len(value) <= MAX_ID_LENGTH and storable_text(value):
        return value
    return None


def parse_answer(text: str) -> tuple[str, str | None]:
    """The client ID and, if the platform sent one, the deployment ID from its answer (§3.6)."""
    try:
        answer = json.loads(text)
    except (ValueError, RecursionError):
        answer = None
    client_id = _identifier(answer.get("client_id")) if isinstance(answer, dict) else None
    if not isinstance(answer, dict) or client_id is None:
        raise _after_acceptance(_explain(
            "registration_bad_answer", text[:500],
            str(_l("The platform's answer to the registration had no client ID."))))
    tool_config = answer.get(TOOL_CONFIGURATION)
    if tool_config is None:
        tool_config = {}
    raw_deployment = tool_config.get("deployment_id") if isinstance(tool_config, dict) else None
    deployment_id = _identifier(raw_deployment)
    if not isinstance(tool_config, dict) or (raw_deployment not in (None, "") and deployment_id is None):
        field = "deployment_id" if isinstance(tool_config, dict) else TOOL_CONFIGURATION
        raise _after_acceptance(_explain(
            "registration_bad_answer", text[:500],
            str(_l("The platform's answer to the registration is malformed: %(name)s does not have the "
                   "expected form.", name=field))))
    return client_id, deployment_id


# The names platforms give themselves in product_family_code, as an operator knows the product.
PRODUCT_NAMES = {"moodle": "Moodle", "canvas": "Canvas", "desire2learn": "Brightspace", "brightspace": "Brightspace",
                 "d2l": "Brightspace", "itslearning": "itslearning", "sakai": "Sakai", "blackboard": "Blackboard",
                 "blackboardlearn": "Blackboard", "schoology": "Schoology"}


def product_name(configuration: PlatformConfiguration) -> str | None:
    """The platform's product as an operator knows it ("Moodle"), or None when it did not say."""
    family = configuration.product_family
    if family == "unknown":
        return None
    return PRODUCT_NAMES.get(family.lower().replace(" ", ""), family)


def platform_name(configuration: PlatformConfiguration, config_url: str) -> str:
    """The product and host ("Moodle (moodle.aarhus.dk)"); Canvas cloud: the account and host.

    Canvas cloud gives every customer the same issuer, so its account's name says whose it is.
    A second registration from the same place gets a number (platforms.unused_name).
    """
    host = urlparse(config_url).netloc or urlparse(configuration.issuer).netloc
    if configuration.account_name:
        return f"{configuration.account_name} ({host})"[:MAX_ID_LENGTH]
    product = product_name(configuration)
    return (f"{product} ({host})" if product else host)[:MAX_ID_LENGTH]


def complete(session: Session, store: KeyValueStore, http: requests.Session, pending_id: str, *, base_url: str,
             auto_approve: bool, locale: str, timeout: tuple[float, float] = PERSON_WAITING) -> Platform:
    """Post the client registration (§3.5.2), then store the platform and its deployment."""
    record, configuration = pending(store, pending_id)
    # One post per registration, even when the admin clicks twice: a second post would register
    # the tool at the platform a second time.
    sending = "registration-sending:" + pending_id
    if not store.add(sending, 1, 120):
        raise _explain("registration_in_progress", "second submit of one registration",
                       str(_l("This registration is already being sent to your platform. Wait a moment, "
                              "then look at the window where you confirmed it.")))
    metadata = client_metadata(base_url, scopes=configuration.granted_scopes,
                               deep_linking=configuration.offers_deep_linking, locale=locale)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if record.get("token"):
        headers["Authorization"] = f"Bearer {record['token']}"
    try:
        response = http.post(configuration.registration_endpoint, data=json.dumps(metadata), headers=headers,
                             allow_redirects=False, timeout=timeout)
    except requests.Timeout as exc:
        store.delete(sending)  # kept for a retry: it may not have arrived
        raise _after_acceptance(_timed_out(f"POST {configuration.registration_endpoint}", timeout, str(_l(
            "The platform did not answer the registration within %(seconds)s seconds.",
            seconds=_seconds(timeout))))) from exc
    except (requests.RequestException, ValueError) as exc:
        store.delete(sending)  # kept for a retry: it may not have arrived
        # It may have stored the registration and only been slow to answer.
        raise _after_acceptance(_explain("registration_unreachable", str(exc),
                                         str(_l("The platform did not answer the registration in time.")))) from exc
    _refuse_redirect(response)
    if response.status_code not in (200, 201):
        store.delete(sending)
        raise _explain("registration_rejected", f"{response.status_code}: {response.text[:500]}",
                       str(_l("The platform refused the registration (%(status)s): %(text)s",
                              status=response.status_code, text=response.text[:300])))
    # From here on the platform holds a registration: a retry would only register the tool again.
    store.delete("registration:" + pending_id)
    client_id, deployment_id = parse_answer(response.text)
    try:
        return add_platform(
            session, issuer=configuration.issuer, client_id=client_id,
            auth_login_url=configuration.authorization_endpoint, auth_token_url=configuration.token_endpoint,
            key_set_url=configuration.jwks_uri, deployment_ids=[deployment_id] if deployment_id else [],
            name=unused_name(session, platform_name(configuration, str(record.get("config_url") or ""))),
            auth_audience=configuration.token_audience,
            status=PlatformStatus.ACTIVE if auto_approve else PlatformStatus.PENDING,
            new_only=True,
        )
    except (PlatformAlreadyRegistered, IntegrityError) as exc:
        # IntegrityError: another registration stored the same issuer and client ID a moment ago.
        session.rollback()
        raise _after_acceptance(_explain(
            "registration_already_registered", str(exc),
            str(_l("The platform answered with a client ID that is already registered with the tool. The "
                   "existing registration was left unchanged; ask the operator of Integrationsløft to change "
                   "or remove it.")))) from exc
    except PlatformError as exc:  # the checks above should leave nothing for it to refuse
        raise _after_acceptance(_explain(
            "registration_bad_answer", str(exc),
            str(_l("The platform's answer to the registration could not be stored.")))) from exc
