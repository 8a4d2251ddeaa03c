"""LTI Dynamic Registration 1.0: the tool's side of the exchange, and its configuration JSON.

The same client metadata is shown on the operator's "register by hand" page, so an
administrator registering manually pastes exactly what dynamic registration would have sent.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import requests
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from lti_tool.errors import ToolError
from lti_tool.lti import claims
from lti_tool.lti.safe_urls import UnsafeURL, check_url
from lti_tool.models import Platform, PlatformStatus
from lti_tool.platforms import ToolInfo, add_platform
from lti_tool.store import KeyValueStore

TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
CLIENT_NAMES = {"da": "Integrationsløft", "sv": "Integrationsløft", "en": "Integrationsløft"}
DESCRIPTIONS = {
    "da": "Efteruddannelse i integration for kommunale medarbejdere",
    "sv": "Fortbildning i integrationsarbete för kommunanställda",
    "en": "Continuing education in integration work for municipal staff",
}
ALL_SCOPES = (claims.SCOPE_LINEITEM, claims.SCOPE_RESULT_READONLY, claims.SCOPE_SCORE, claims.SCOPE_NRPS)


def client_metadata(base_url: str, *, scopes: list[str] | None = None, deep_linking: bool = True,
                    locale: str = "da") -> dict[str, Any]:
    """The OpenID client registration the tool posts (Dynamic Registration §3.3, §3.4)."""
    info = ToolInfo(base_url)
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
# issuer for all of them; only these issuers are accepted from a host other than their own.
CANVAS_ISSUERS = {"https://canvas.instructure.com", "https://canvas.beta.instructure.com",
                  "https://canvas.test.instructure.com"}


class RegistrationFailed(ToolError):
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

    @property
    def offers_deep_linking(self) -> bool:
        return claims.MSG_DEEP_LINKING in self.messages

    @property
    def granted_scopes(self) -> list[str]:
        return [s for s in ALL_SCOPES if not self.scopes or s in self.scopes]


def _explain(reason: str, detail: str, explanation: str) -> RegistrationFailed:
    return RegistrationFailed(detail, explanation, reason=reason)


def parse_configuration(config_url: str, data: object) -> PlatformConfiguration:
    """Validate the platform configuration: issuer bound to the URL, endpoints present (§3.5.1)."""
    if not isinstance(data, dict):
        raise _explain("registration_bad_configuration", "configuration is not a JSON object",
                       str(_l("The platform's configuration is not valid JSON.")))
    issuer = str(data.get("issuer") or "")
    url, iss = urlparse(config_url), urlparse(issuer)
    family = str((data.get(PLATFORM_CONFIGURATION) or {}).get("product_family_code") or "")
    canvas_cloud = family == "canvas" and issuer in CANVAS_ISSUERS
    if not issuer or ((url.scheme, url.netloc) != (iss.scheme, iss.netloc) and not canvas_cloud):
        raise _explain("registration_issuer_mismatch", f"issuer {issuer!r} vs {config_url!r}",
                       str(_l("The platform's issuer does not belong to the address the configuration came from, "
                              "so the tool cannot trust it.")))
    missing = [k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint")
               if not isinstance(data.get(k), str) or not data.get(k)]
    if missing:
        raise _explain("registration_missing_endpoints", f"missing {missing}",
                       str(_l("The platform's configuration lacks required endpoints: %(names)s.",
                              names=", ".join(missing))))
    methods = data.get("token_endpoint_auth_methods_supported") or ["private_key_jwt"]
    algorithms = data.get("id_token_signing_alg_values_supported") or ["RS256"]
    if "private_key_jwt" not in methods or "RS256" not in algorithms:
        raise _explain("registration_unsupported", f"auth methods {methods}, algorithms {algorithms}",
                       str(_l("The platform does not support the signed tokens LTI 1.3 requires (RS256, private_key_jwt).")))
    platform = data.get(PLATFORM_CONFIGURATION) or {}
    messages = tuple(str(m.get("type")) for m in platform.get("messages_supported") or [] if isinstance(m, dict))
    return PlatformConfiguration(
        issuer=issuer,
        authorization_endpoint=str(data["authorization_endpoint"]),
        token_endpoint=str(data["token_endpoint"]),
        jwks_uri=str(data["jwks_uri"]),
        registration_endpoint=str(data["registration_endpoint"]),
        # Brightspace wants this as the audience of client assertions instead of the token URL.
        token_audience=str(data["authorization_server"]) if data.get("authorization_server") else None,
        product_family=str(platform.get("product_family_code") or "unknown"),
        product_version=str(platform.get("version") or ""),
        scopes=tuple(str(s) for s in data.get("scopes_supported") or ()),
        messages=messages or (claims.MSG_RESOURCE_LINK,),
    )


def fetch_configuration(http: requests.Session, config_url: str, *, allow_private: bool) -> PlatformConfiguration:
    try:
        check_url(config_url, allow_private=allow_private)
        response = http.get(config_url, headers={"Accept": "application/json"})
        response.raise_for_status()
        data = response.json()
    except UnsafeURL as exc:
        raise _explain("registration_unsafe_url", str(exc),
                       str(_l("The configuration address is not a public https address."))) from exc
    except (requests.RequestException, ValueError) as exc:
        raise _explain("registration_unreachable", f"{config_url}: {exc}",
                       str(_l("The tool could not read the platform's configuration at %(url)s.", url=config_url))) from exc
    configuration = parse_configuration(config_url, data)
    for endpoint in (configuration.authorization_endpoint, configuration.token_endpoint, configuration.jwks_uri,
                     configuration.registration_endpoint):
        try:
            check_url(endpoint, allow_private=allow_private)
        except UnsafeURL as exc:
            raise _explain("registration_unsafe_url", str(exc),
                           str(_l("The platform's endpoints must be public https addresses."))) from exc
    return configuration


def begin(store: KeyValueStore, http: requests.Session, config_url: str, token: str | None, *,
          allow_private: bool) -> tuple[str, PlatformConfiguration]:
    """Read and check the platform; keep what the confirmation step needs under a random id."""
    configuration = fetch_configuration(http, config_url, allow_private=allow_private)
    pending_id = secrets.token_urlsafe(24)
    store.set("registration:" + pending_id, {"config_url": config_url, "token": token,
                                              "configuration": configuration.__dict__}, PENDING_TTL)
    return pending_id, configuration


def pending(store: KeyValueStore, pending_id: str) -> tuple[dict[str, object], PlatformConfiguration]:
    record = store.get("registration:" + pending_id) if pending_id else None
    if not record:
        raise _explain("registration_expired", "pending registration not found",
                       str(_l("The registration took too long or was already finished. Start it again from the platform.")))
    data = dict(record["configuration"])
    data["scopes"] = tuple(data["scopes"])
    data["messages"] = tuple(data["messages"])
    return record, PlatformConfiguration(**data)


def complete(session: Session, store: KeyValueStore, http: requests.Session, pending_id: str, *, base_url: str,
             auto_approve: bool, locale: str) -> Platform:
    """Post the client registration (§3.5.2), then store the platform and its deployment."""
    record, configuration = pending(store, pending_id)
    metadata = client_metadata(base_url, scopes=configuration.granted_scopes,
                               deep_linking=configuration.offers_deep_linking, locale=locale)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if record.get("token"):
        headers["Authorization"] = f"Bearer {record['token']}"
    try:
        response = http.post(configuration.registration_endpoint, data=json.dumps(metadata), headers=headers)
    except requests.RequestException as exc:
        raise _explain("registration_unreachable", str(exc),
                       str(_l("The platform did not answer the registration in time."))) from exc
    if response.status_code not in (200, 201):
        raise _explain("registration_rejected", f"{response.status_code}: {response.text[:500]}",
                       str(_l("The platform refused the registration (%(status)s): %(text)s",
                              status=response.status_code, text=response.text[:300])))
    try:
        answer = response.json()
        client_id = str(answer["client_id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise _explain("registration_bad_answer", response.text[:500],
                       str(_l("The platform's answer to the registration had no client ID."))) from exc
    tool_config = answer.get(TOOL_CONFIGURATION) or {}
    deployment_id = tool_config.get("deployment_id")
    platform = add_platform(
        session, issuer=configuration.issuer, client_id=client_id,
        auth_login_url=configuration.authorization_endpoint, auth_token_url=configuration.token_endpoint,
        key_set_url=configuration.jwks_uri, deployment_ids=[str(deployment_id)] if deployment_id else [],
        name=f"{configuration.issuer} ({configuration.product_family})", auth_audience=configuration.token_audience,
        status=PlatformStatus.ACTIVE if auto_approve else PlatformStatus.PENDING,
    )
    store.delete("registration:" + pending_id)
    return platform
