"""OIDC third-party initiated login (LTI 1.3 Core §5.1.1, Security Framework §5.1.1).

pylti1p3's OIDCLogin finds the registration; the state record is ours: state, nonce, issuer,
client_id and target_link_uri are kept together in the shared store, so the launch can check
that the id_token answers *this* login and can consume it exactly once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from pylti1p3.contrib.flask.oidc_login import FlaskOIDCLogin
from pylti1p3.contrib.flask.request import FlaskRequest
from pylti1p3.exception import OIDCException

from lti_tool.errors import InactivePlatform, LoginRejected, UnknownPlatform
from lti_tool.lti.toolconf import DatabaseToolConf
from lti_tool.store import KeyValueStore
from lti_tool.text import origin

STATE_COOKIE_PREFIX = "lti1p3-"


def state_key(state: str) -> str:
    """The store key of a login's state record."""
    return "state:" + state


@dataclass(frozen=True)
class LoginRedirect:
    """Where to send the browser after a login, and what the launch needs to recognise it."""

    url: str
    state: str
    nonce: str
    cookie_name: str
    cookie_max_age: int
    # LTI client-side postMessage storage (Platform Storage §2): the frame to store state in,
    # when the platform offers it (Canvas sends `post_message_forwarding`).
    storage_target: str | None
    platform_origin: str


class _Login(FlaskOIDCLogin):
    """Only registration lookup is used from the library."""


def begin_login(
    params: dict[str, str],
    toolconf: DatabaseToolConf,
    store: KeyValueStore,
    *,
    redirect_uri: str,
    tool_base_url: str,
    state_lifetime: int,
) -> LoginRedirect:
    """Validate the login initiation and return the platform authorization redirect."""
    for required in ("iss", "login_hint", "target_link_uri"):
        if not params.get(required):
            raise LoginRejected(f"login without {required}", reason=f"login_missing_{required}")
    target = params["target_link_uri"]
    if not target.startswith(tool_base_url.rstrip("/") + "/"):
        # Never send the browser on to somewhere that is not this tool.
        raise LoginRejected(f"target_link_uri {target!r} outside the tool", reason="login_bad_target")

    request = FlaskRequest(request_data=params, cookies={}, session={}, request_is_secure=False)
    login = _Login(request, toolconf)
    try:
        registration = login.validate_oidc_login()
    except OIDCException as exc:
        raise UnknownPlatform(
            f"login from unknown platform iss={params['iss']!r} client_id={params.get('client_id')!r}"
        ) from exc
    platform = toolconf.platform
    assert platform is not None
    if not platform.is_active:
        raise InactivePlatform(f"platform {platform.id} is {platform.status}")

    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    record: dict[str, Any] = {
        "nonce": nonce,
        "iss": registration.get_issuer(),
        "client_id": registration.get_client_id(),
        "target_link_uri": target,
        "storage_target": params.get("lti_storage_target") or None,
        # Platform storage messages go to the frame the platform serves from its OIDC endpoint's
        # origin (Canvas: sso.canvaslms.com), not necessarily the issuer's. The endpoint is an
        # http(s) address (platforms.add_platform checks it), so it always has one.
        "platform_origin": origin(str(registration.get_auth_login_url())) or "",
    }
    store.set(state_key(state), record, state_lifetime)

    query = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": registration.get_client_id(),
        "redirect_uri": redirect_uri,
        "state": state,
        "nonce": nonce,
        "login_hint": params["login_hint"],
    }
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    auth_url = str(registration.get_auth_login_url())
    separator = "&" if "?" in auth_url else "?"
    return LoginRedirect(
        url=auth_url + separator + urlencode(query),
        state=state,
        nonce=nonce,
        cookie_name=STATE_COOKIE_PREFIX + state,
        cookie_max_age=state_lifetime,
        storage_target=record["storage_target"],
        platform_origin=record["platform_origin"],
    )
