"""The launch side of validation: the OIDC login and the launch POST, checked by the pylti1p3
adapter in lti_tool.lti and then recorded, or parked until platform storage confirms the state.

Thin on purpose: every check of a token lives in lti_tool.lti (the only package that imports
pylti1p3); this module only wires the adapter to the store, the settings and the recording.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from lti_tool.content.model import Catalog
from lti_tool.errors import SessionExpired, StateMismatch
from lti_tool.launch.record import RecordedLaunch, record_launch
from lti_tool.lti.launch import Launch, LaunchInput, LaunchValidator
from lti_tool.lti.login import LoginRedirect, begin_login
from lti_tool.lti.platform_keys import PlatformKeys
from lti_tool.lti.tool_info import ToolInfo
from lti_tool.lti.toolconf import DatabaseToolConf
from lti_tool.store import KeyValueStore
from lti_tool.tokens import same_token


@dataclass(frozen=True)
class PendingStorageCheck:
    """A validated launch waiting for the browser to prove, via platform storage, its state."""

    pending_id: str
    state: str
    storage_target: str
    platform_origin: str

    TTL = 120

    @classmethod
    def park(cls, store: KeyValueStore, launch: Launch, state: str) -> PendingStorageCheck:
        """Keep a validated launch briefly while the page reads the state back from platform storage."""
        pending_id = secrets.token_urlsafe(24)
        store.set("pending-launch:" + pending_id, {"claims": launch.claims, "platform_id": launch.platform_id,
                                                   "deployment_pk": launch.deployment_pk, "state": state}, cls.TTL)
        return cls(pending_id, state, launch.storage_target or "_parent", launch.platform_origin or "*")


def complete_storage_check(session: Session, store: KeyValueStore, pending_id: str, value: str, *,
                           lifetime: int, catalog: Catalog | None) -> RecordedLaunch:
    """Record (and commit) a parked launch once the page read the same state back from the platform."""
    parked = store.pop("pending-launch:" + pending_id) if pending_id else None
    if parked is None:
        raise SessionExpired("parked launch unknown, expired or already completed", reason="storage_check_expired")
    if not same_token(str(value), str(parked["state"])):
        raise StateMismatch("platform storage did not hold this launch's state", reason="storage_state_mismatch")
    launch = Launch(claims=parked["claims"], platform_id=parked["platform_id"], deployment_pk=parked["deployment_pk"])
    return record_launch(session, launch, lifetime, catalog)


def accept_launch(
    session: Session,
    data: LaunchInput,
    *,
    store: KeyValueStore,
    platform_keys: PlatformKeys,
    settings: Mapping[str, Any],
    catalog: Catalog | None = None,
) -> RecordedLaunch | PendingStorageCheck:
    """Validate a launch POST and record it (committed); raises a named ToolError when it is refused.

    Without the state cookie (a framed page whose browser blocks third-party cookies), a login
    that used platform storage yields a PendingStorageCheck: the page must read the state back
    from the platform before the launch is recorded."""
    signing = None  # the launch itself needs no tool key
    validator = LaunchValidator(
        DatabaseToolConf(session, signing, store),
        store,
        platform_keys,
        leeway=int(settings["JWT_LEEWAY"]),
        max_token_bytes=int(settings["MAX_ID_TOKEN_BYTES"]),
        state_lifetime=int(settings["LOGIN_STATE_LIFETIME"]),
    )
    launch = validator.validate(data)
    if not launch.bound_by_cookie:
        return PendingStorageCheck.park(store, launch, str(data.state))
    return record_launch(session, launch, int(settings["LAUNCH_LIFETIME"]), catalog)


def start_login(
    session: Session, params: dict[str, str], *, store: KeyValueStore, base_url: str, state_lifetime: int,
) -> LoginRedirect:
    """Answer an OIDC login initiation with the redirect to the platform."""
    info = ToolInfo(base_url)
    return begin_login(
        params,
        DatabaseToolConf(session, None, store),
        store,
        redirect_uri=info.launch_url,
        tool_base_url=base_url,
        state_lifetime=state_lifetime,
    )


