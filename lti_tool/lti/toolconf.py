"""pylti1p3's ToolConf backed by the database: many platforms, many client_ids per issuer.

Every login and launch reads its platform's row (one indexed SELECT) instead of keeping it per
process: a platform disabled or changed through any instance applies on every instance at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pylti1p3.deployment import Deployment as LtiDeployment
from pylti1p3.registration import Registration
from pylti1p3.tool_config.abstract import ToolConfAbstract
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.lti.keys import SigningKey
from lti_tool.models import Deployment, Platform, PlatformStatus


@dataclass(frozen=True)
class PlatformSnapshot:
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
        return self.status == PlatformStatus.ACTIVE

    @classmethod
    def of(cls, row: Platform) -> PlatformSnapshot:
        return cls(row.id, row.issuer, row.client_id, row.auth_login_url, row.auth_token_url,
                   row.key_set_url, row.auth_audience, row.status)


@dataclass(frozen=True)
class DeploymentSnapshot:
    id: int
    deployment_id: str
    active: bool


_Found = tuple[PlatformSnapshot | None, DeploymentSnapshot | None]


class DatabaseToolConf(ToolConfAbstract):  # type: ignore[type-arg]
    def __init__(self, session: Session, signing_key: SigningKey | None) -> None:
        self._session = session
        self._signing_key = signing_key
        self.platform: PlatformSnapshot | None = None

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False  # every lookup goes by (issuer, client_id)

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def find_platform(self, iss: str, client_id: str | None) -> PlatformSnapshot | None:
        query = select(Platform).where(Platform.issuer == iss)
        if client_id:
            query = query.where(Platform.client_id == client_id)
        platforms = list(self._session.scalars(query.limit(2)))
        # Without a client_id (optional in the login request) the issuer must be unambiguous.
        return PlatformSnapshot.of(platforms[0]) if len(platforms) == 1 else None

    def find_platform_and_deployment(
        self, iss: str, client_id: str, deployment_id: str | None
    ) -> _Found:
        """`find_platform(iss, client_id)` and, in the same query (performance: a launch needs
        both), that platform's deployment `deployment_id` if it exists."""
        if not deployment_id:
            return self.find_platform(iss, client_id), None
        rows = self._session.execute(
            select(Platform, Deployment.id, Deployment.active)
            .outerjoin(
                Deployment,
                (Deployment.platform_id == Platform.id) & (Deployment.deployment_id == deployment_id),
            )
            .where(Platform.issuer == iss, Platform.client_id == client_id)
            .limit(2)
        ).all()
        if len(rows) != 1:
            return None, None
        platform, pk, active = rows[0]
        return (PlatformSnapshot.of(platform),
                DeploymentSnapshot(pk, deployment_id, bool(active)) if pk is not None else None)

    def registration_for(self, platform: PlatformSnapshot) -> Registration:
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
        return self.find_registration_by_params(iss, "", *args, **kwargs)

    def find_registration_by_params(
        self, iss: str, client_id: str, *args: Any, **kwargs: Any
    ) -> Registration:
        platform = self.find_platform(iss, client_id or None)
        self.platform = platform
        return self.registration_for(platform) if platform else None  # type: ignore[return-value]

    def find_deployment(self, iss: str, deployment_id: str) -> LtiDeployment | None:
        return self.find_deployment_by_params(iss, deployment_id, "")

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str, *args: Any, **kwargs: Any
    ) -> LtiDeployment | None:
        record = self.find_deployment_record(iss, deployment_id, client_id)
        return LtiDeployment().set_deployment_id(deployment_id) if record else None

    def find_deployment_record(self, iss: str, deployment_id: str, client_id: str) -> Deployment | None:
        return self._session.scalars(
            select(Deployment)
            .join(Platform)
            .where(
                Platform.issuer == iss,
                Platform.client_id == client_id,
                Deployment.deployment_id == deployment_id,
            )
        ).first()
