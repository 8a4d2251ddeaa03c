"""LTI Dynamic Registration 1.0: the tool's side of the exchange, and its configuration JSON.

The same client metadata is shown on the operator's "register by hand" page, so an
administrator registering manually pastes exactly what dynamic registration would have sent.
"""

from __future__ import annotations

from typing import Any

from lti_tool.lti import claims
from lti_tool.platforms import ToolInfo

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
