"""pylti1p3's ToolConf backed by the database: many platforms, many client_ids per issuer.

Performance: every login and launch needs its platform's registration. The rows change rarely
(an operator's action), so each process keeps what it read for a few seconds
(`PLATFORM_CACHE_SECONDS`) as plain, immutable snapshots. A change made through this process
clears its cache at commit (and whatever else registered with `when_platforms_change`); other
instances see it when their entries expire.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pylti1p3.deployment import Deployment as LtiDeployment
from pylti1p3.registration import Registration
from pylti1p3.tool_config.abstract import ToolConfAbstract
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session

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


class RegistrationCache:
    """(issuer, client_id, deployment_id) → snapshots, per database, for a few seconds."""

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_engine: weakref.WeakKeyDictionary[Engine, dict[tuple[str, str | None, str | None],
                                                                tuple[float, _Found]]] = weakref.WeakKeyDictionary()

    def get(self, engine: Engine, key: tuple[str, str | None, str | None]) -> _Found | None:
        entry = self._by_engine.get(engine, {}).get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, engine: Engine, key: tuple[str, str | None, str | None], found: _Found, seconds: float) -> None:
        if seconds <= 0:
            return
        with self._lock:
            entries = self._by_engine.setdefault(engine, {})
            if len(entries) >= self.MAX_ENTRIES:
                entries.clear()
            entries[key] = (time.monotonic() + seconds, found)

    def clear(self) -> None:
        with self._lock:
            self._by_engine.clear()


REGISTRATIONS = RegistrationCache()
_CHANGED = "platforms_changed"
# What this process forgets when a commit through it changed platforms or deployments.
_FORGET: list[Callable[[], None]] = [REGISTRATIONS.clear]


def when_platforms_change(forget: Callable[[], None]) -> None:
    """Call `forget` after every commit, through this process, that changed platforms or deployments."""
    _FORGET.append(forget)


@event.listens_for(Session, "before_flush")
def _note_platform_changes(session: Session, *_: Any) -> None:
    if any(isinstance(o, Platform | Deployment) for o in (*session.new, *session.dirty, *session.deleted)):
        session.info[_CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_platform_changes(state: ORMExecuteState) -> None:
    mapper = state.bind_mapper
    if (state.is_update or state.is_delete) and mapper is not None and mapper.class_ in (Platform, Deployment):
        state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _forget_changed_platforms(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        for forget in _FORGET:
            forget()


@event.listens_for(Session, "after_rollback")
def _keep_after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)


class DatabaseToolConf(ToolConfAbstract):  # type: ignore[type-arg]
    def __init__(self, session: Session, signing_key: SigningKey | None, cache_seconds: float = 0) -> None:
        self._session = session
        self._signing_key = signing_key
        self._cache_seconds = cache_seconds
        self.platform: PlatformSnapshot | None = None

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False  # every lookup goes by (issuer, client_id)

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def _cached(self, key: tuple[str, str | None, str | None]) -> tuple[Engine, _Found | None]:
        engine = self._session.get_bind()
        assert isinstance(engine, Engine)
        return engine, REGISTRATIONS.get(engine, key) if self._cache_seconds > 0 else None

    def find_platform(self, iss: str, client_id: str | None) -> PlatformSnapshot | None:
        key = (iss, client_id, None)
        engine, found = self._cached(key)
        if found is not None:
            return found[0]
        query = select(Platform).where(Platform.issuer == iss)
        if client_id:
            query = query.where(Platform.client_id == client_id)
        platforms = list(self._session.scalars(query.limit(2)))
        # Without a client_id (optional in the login request) the issuer must be unambiguous.
        platform = PlatformSnapshot.of(platforms[0]) if len(platforms) == 1 else None
        REGISTRATIONS.put(engine, key, (platform, None), self._cache_seconds)
        return platform

    def find_platform_and_deployment(
        self, iss: str, client_id: str, deployment_id: str | None
    ) -> _Found:
        """`find_platform(iss, client_id)` and, in the same query (performance: a launch needs
        both), that platform's deployment `deployment_id` if it exists."""
        if not deployment_id:
            return self.find_platform(iss, client_id), None
        key = (iss, client_id, deployment_id)
        engine, found = self._cached(key)
        if found is not None:
            return found
        rows = self._session.execute(
            select(Platform, Deployment.id, Deployment.active)
            .outerjoin(
                Deployment,
                (Deployment.platform_id == Platform.id) & (Deployment.deployment_id == deployment_id),
            )
            .where(Platform.issuer == iss, Platform.client_id == client_id)
            .limit(2)
        ).all()
        found = (None, None)
        if len(rows) == 1:
            platform, pk, active = rows[0]
            found = (PlatformSnapshot.of(platform),
                     DeploymentSnapshot(pk, deployment_id, bool(active)) if pk is not None else None)
        REGISTRATIONS.put(engine, key, found, self._cache_seconds)
        return found

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
