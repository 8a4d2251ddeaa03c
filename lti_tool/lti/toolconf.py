"""pylti1p3's ToolConf backed by the database: many platforms, many client_ids per issuer.

The registrations are kept in the shared store, not in a process: one read by every instance.
Performance: a login or launch then costs one store GET (about 0.04 ms) instead of one query
(about 0.4 ms of CPU here). The database stays the truth: platforms.py, the one writer, publishes
each registration it changed and the origins that may frame the tool, right after its commit, on
every instance at once. A lookup that misses reads the database and only *adds* its answer, so it
never overwrites what a writer published meanwhile; `KEPT_SECONDS` bounds anything changed around
platforms.py (SQL by hand).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pylti1p3.deployment import Deployment as LtiDeployment
from pylti1p3.registration import Registration
from pylti1p3.tool_config.abstract import ToolConfAbstract
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.lti.keys import SigningKey
from lti_tool.models import Deployment, Platform, PlatformStatus
from lti_tool.store import KeyValueStore
from lti_tool.text import origin

KEPT_SECONDS = 300
FRAME_ANCESTORS_KEY = "frame-ancestors"


@dataclass(frozen=True)
class PlatformSnapshot:
    """A platform registration as read once for a login or launch, detached from any session."""

    id: int
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    auth_audience: str | None
    status: PlatformStatus

    @property
    def is_active(self) -> bool:
        """Whether the operator has approved the platform and not disabled it."""
        return self.status == PlatformStatus.ACTIVE

    @classmethod
    def of(cls, values: Sequence[Any]) -> PlatformSnapshot:
        """The snapshot of a row, or stored list, that starts with `COLUMNS`."""
        pk, issuer, client_id, login_url, token_url, key_set_url, audience, status = values[:len(COLUMNS)]
        return cls(pk, issuer, client_id, login_url, token_url, key_set_url, audience, PlatformStatus(status))


COLUMNS = (Platform.id, Platform.issuer, Platform.client_id, Platform.auth_login_url, Platform.auth_token_url,
           Platform.key_set_url, Platform.auth_audience, Platform.status)


@dataclass(frozen=True)
class DeploymentSnapshot:
    """One deployment of a platform, as read with the platform."""

    id: int
    deployment_id: str
    active: bool


_Found = tuple[PlatformSnapshot | None, DeploymentSnapshot | None]


def registration_key(issuer: str, client_id: str) -> str:
    """The store key of one registration (issuer and client ID are up to 255 characters each)."""
    return "platform:" + hashlib.sha256(f"{issuer}\n{client_id}".encode()).hexdigest()


def read_registration(session: Session, issuer: str, client_id: str) -> dict[str, Any] | None:
    """A platform's registration and its deployments as the store keeps them, from the database."""
    rows = session.execute(
        select(*COLUMNS, Deployment.deployment_id, Deployment.id, Deployment.active)
        .outerjoin(Deployment, Deployment.platform_id == Platform.id)
        .where(Platform.issuer == issuer, Platform.client_id == client_id)
    ).all()
    if not rows:
        return None
    values: list[tuple[Any, ...]] = [tuple(row) for row in rows]
    *platform, status = values[0][:len(COLUMNS)]
    deployments = {deployment_id: [pk, bool(active)]
                   for deployment_id, pk, active in (row[len(COLUMNS):] for row in values) if deployment_id is not None}
    return {"platform": [*platform, PlatformStatus(status).value], "deployments": deployments}


def registered_origins(session: Session) -> list[str]:
    """The origins of the active platforms' issuers and OIDC endpoints, from the database."""
    origins = set()
    rows = session.execute(
        select(Platform.issuer, Platform.auth_login_url).where(Platform.status == PlatformStatus.ACTIVE)
    )
    for row in rows:
        for url in row:
            found = origin(url)
            if found is not None:  # an address urllib cannot parse frames nothing
                origins.add(found)
    return sorted(origins)


def framing_origins(session: Session, store: KeyValueStore) -> list[str]:
    """`registered_origins`, as platforms.py last published them (read and kept on a miss)."""
    found = store.get(FRAME_ANCESTORS_KEY)
    if not isinstance(found, list):
        found = registered_origins(session)
        store.add(FRAME_ANCESTORS_KEY, found, KEPT_SECONDS)
    return [str(value) for value in found]


def publish_platform(session: Session, store: KeyValueStore, issuer: str, client_id: str) -> None:
    """After a commit that changed a platform or its deployments: every instance's next login,
    launch and page use the change. A removed platform is published as gone."""
    store.set(registration_key(issuer, client_id),
              read_registration(session, issuer, client_id) or {"platform": None}, KEPT_SECONDS)
    store.set(FRAME_ANCESTORS_KEY, registered_origins(session), KEPT_SECONDS)


class DatabaseToolConf(ToolConfAbstract):  # type: ignore[type-arg]
    """pylti1p3's tool configuration, looked up per (issuer, client_id) in the store or database.

    The platform the last registration lookup found is left in `platform` for the login to check."""

    def __init__(self, session: Session, signing_key: SigningKey | None, store: KeyValueStore | None = None) -> None:
        self._session = session
        self._signing_key = signing_key
        self._store = store
        self.platform: PlatformSnapshot | None = None

    def check_iss_has_one_client(self, iss: str) -> bool:
        """Never: pylti1p3 must look every registration up by issuer and client_id."""
        return False  # every lookup goes by (issuer, client_id)

    def check_iss_has_many_clients(self, iss: str) -> bool:
        """Always, so that pylti1p3 passes the client_id to every lookup."""
        return True

    def registration(self, iss: str, client_id: str) -> dict[str, Any] | None:
        """The registration from the store, else from the database (then kept in the store)."""
        if self._store is None:
            return read_registration(self._session, iss, client_id)
        key = registration_key(iss, client_id)
        found = self._store.get(key)
        if found is None:
            found = read_registration(self._session, iss, client_id)
            if found is None:
                return None  # an unknown platform is not kept: anyone can send one
            self._store.add(key, found, KEPT_SECONDS)
        return found if found.get("platform") is not None else None

    def find_platform(self, iss: str, client_id: str | None) -> PlatformSnapshot | None:
        """The platform `(iss, client_id)`; without a client_id, the issuer's only platform, else None."""
        if client_id:
            found = self.registration(iss, client_id)
            return PlatformSnapshot.of(found["platform"]) if found else None
        # Without a client_id (optional in the login request) the issuer must be unambiguous.
        platforms = self._session.execute(select(*COLUMNS).where(Platform.issuer == iss).limit(2)).all()
        return PlatformSnapshot.of(tuple(platforms[0])) if len(platforms) == 1 else None

    def find_platform_and_deployment(
        self, iss: str, client_id: str, deployment_id: str | None
    ) -> _Found:
        """The platform `(iss, client_id)` and its deployment `deployment_id` if it has one."""
        found = self.registration(iss, client_id)
        if found is None:
            return None, None
        deployment = found["deployments"].get(deployment_id) if deployment_id else None
        return (PlatformSnapshot.of(found["platform"]),
                DeploymentSnapshot(int(deployment[0]), str(deployment_id), bool(deployment[1]))
                if deployment else None)

    def registration_for(self, platform: PlatformSnapshot) -> Registration:
        """`platform` as a pylti1p3 Registration, with the tool's private key when there is one."""
        reg = Registration()
        reg.set_issuer(platform.issuer)
        reg.set_client_id(platform.client_id)
        reg.set_auth_login_url(platform.auth_login_url)
        reg.set_auth_token_url(platform.auth_token_url)
        reg.set_key_set_url(platform.key_set_url)
        if platform.auth_audience:
            reg.set_auth_audience(platform.auth_audience)
        if self._signing_key is not None:
            reg.set_tool_private_key(self._signing_key.pem)
        return reg

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> Registration:
        """pylti1p3's lookup without a client_id: the issuer's only platform, or None."""
        return self.find_registration_by_params(iss, "", *args, **kwargs)

    def find_registration_by_params(
        self, iss: str, client_id: str, *args: Any, **kwargs: Any
    ) -> Registration:
        """pylti1p3's registration lookup; remembers the platform found in `platform`."""
        platform = self.find_platform(iss, client_id or None)
        self.platform = platform
        return self.registration_for(platform) if platform else None  # type: ignore[return-value]

    def find_deployment(self, iss: str, deployment_id: str) -> LtiDeployment | None:
        """pylti1p3's deployment lookup without a client_id: it matches only a platform whose client_id is empty."""
        return self.find_deployment_by_params(iss, deployment_id, "")

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str, *args: Any, **kwargs: Any
    ) -> LtiDeployment | None:
        """pylti1p3's deployment lookup: the deployment when the platform has it, else None."""
        record = self.find_deployment_record(iss, deployment_id, client_id)
        return LtiDeployment().set_deployment_id(deployment_id) if record else None

    def find_deployment_record(self, iss: str, deployment_id: str, client_id: str) -> Deployment | None:
        """The deployment row of platform `(iss, client_id)`, active or not, or None."""
        return self._session.scalars(
            select(Deployment)
            .join(Platform)
            .where(
                Platform.issuer == iss,
                Platform.client_id == client_id,
                Deployment.deployment_id == deployment_id,
            )
        ).first()
