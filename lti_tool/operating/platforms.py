"""Registering platforms by hand and the operator's changes to them.

This module is the one writer of platforms and deployments: each change is published to the
shared store right after its commit (`_published`), so every instance uses it at its next login,
launch and page (see lti_tool.lti.toolconf)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from lti_tool.errors import NotFound
from lti_tool.lti.toolconf import publish_platform
from lti_tool.models import (
    Context,
    Deployment,
    GradeTarget,
    LaunchRecord,
    Platform,
    PlatformStatus,
    ResourceLink,
    RosterSnapshot,
    ScoreMessage,
)
from lti_tool.operating.gdpr import purge_platform
from lti_tool.runtime import runtime
from lti_tool.text import parsed_url


def _published(session: Session, issuer: str, client_id: str) -> None:
    """Publish a committed change of the platform (issuer, client_id) to every instance."""
    publish_platform(session, runtime().store, issuer, client_id)


class PlatformError(ValueError):
    """A registration that cannot be stored; the message says why."""


class PlatformAlreadyRegistered(PlatformError):
    """A new registration names an issuer and client ID the tool already has."""


URL_MAX_LENGTH = 1024
ID_MAX_LENGTH = 255


def _check_url(name: str, url: str) -> None:
    parsed = parsed_url(url)
    if parsed is None or parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise PlatformError(f"{name} must be an http(s) URL, got {url!r}")
    if len(url) > URL_MAX_LENGTH:  # the column's size: PostgreSQL refuses a longer one (a 500)
        raise PlatformError(f"{name} is longer than {URL_MAX_LENGTH} characters")


def add_platform(
    session: Session,
    *,
    issuer: str,
    client_id: str,
    auth_login_url: str,
    auth_token_url: str,
    key_set_url: str,
    deployment_ids: list[str],
    name: str | None = None,
    auth_audience: str | None = None,
    status: PlatformStatus = PlatformStatus.ACTIVE,
    new_only: bool = False,
) -> Platform:
    """Create a platform with its deployments, or add deployments to an existing one.

    With `new_only` (dynamic registration) an existing issuer and client ID is refused instead.
    """
    for field, url in (
        ("auth login URL", auth_login_url),
        ("auth token URL", auth_token_url),
        ("key set URL", key_set_url),
    ):
        _check_url(field, url)
    if not issuer or not client_id:
        raise PlatformError("issuer and client ID are required")
    if len(issuer) > ID_MAX_LENGTH or len(client_id) > ID_MAX_LENGTH:
        raise PlatformError(f"issuer and client ID may have at most {ID_MAX_LENGTH} characters")
    platform = session.scalars(
        select(Platform).where(Platform.issuer == issuer, Platform.client_id == client_id)
    ).first()
    if platform is not None and new_only:
        # Refused, not updated and not put back to pending: the client ID comes from the
        # platform's answer, and several customers share one issuer (Canvas cloud), so updating
        # would let one swap another's key set, and re-pending would let one take another's
        # working registration offline. The operator changes an existing platform in the console.
        raise PlatformAlreadyRegistered(f"{issuer} client {client_id} is already platform {platform.id}")
    if any(len(d) > ID_MAX_LENGTH for d in deployment_ids) or len(auth_audience or "") > URL_MAX_LENGTH:
        raise PlatformError(f"deployment IDs may have at most {ID_MAX_LENGTH} characters, the audience "
                            f"{URL_MAX_LENGTH}")
    if platform is None:
        platform = Platform(issuer=issuer, client_id=client_id, status=status)
        session.add(platform)
    platform.auth_login_url = auth_login_url
    platform.auth_token_url = auth_token_url
    platform.key_set_url = key_set_url
    # Re-adding a platform to add deployments must not clear an audience set earlier.
    platform.auth_audience = auth_audience or platform.auth_audience
    issuer_parts = parsed_url(issuer)
    platform.name = (name or platform.name or (issuer_parts.netloc if issuer_parts else "") or issuer)[:ID_MAX_LENGTH]
    known = {d.deployment_id for d in platform.deployments}
    for deployment_id in deployment_ids:
        if deployment_id and deployment_id not in known:
            platform.deployments.append(Deployment(deployment_id=deployment_id))
    session.commit()
    _published(session, issuer, client_id)
    return platform


def unused_name(session: Session, name: str) -> str:
    """`name`, or `name 2`, `name 3`… when a platform has it: the operator tells registrations apart by name.

    Two registrations from one LMS (a Moodle registers the tool once per tool type) would
    otherwise both read "Moodle (moodle.aarhus.dk)". Not a unique constraint: the operator may
    rename a platform to anything, and two registrations finishing at the same moment may share one.
    """
    taken = set(session.scalars(select(Platform.name)))
    candidate, number = name[:ID_MAX_LENGTH], 1
    while candidate in taken:
        number += 1
        suffix = f" {number}"
        candidate = name[:ID_MAX_LENGTH - len(suffix)] + suffix
    return candidate


def list_platforms(session: Session) -> list[Platform]:
    """Every platform, oldest first."""
    return list(session.scalars(select(Platform).order_by(Platform.id)))


def remove_platform(session: Session, platform_id: int) -> bool:
    """Delete a platform and everything that came through it (see lti_tool.operating.gdpr.purge_platform)."""
    return purge(session, platform_id) is not None


def purge(session: Session, platform_id: int) -> dict[str, int] | None:
    """lti_tool.operating.gdpr.purge_platform, published: how many rows of each kind went, or None when
    there is no such platform."""
    platform = session.get(Platform, platform_id)
    if platform is None:
        return None
    issuer, client_id = platform.issuer, platform.client_id
    counts = purge_platform(session, platform_id)
    _published(session, issuer, client_id)
    return counts


class PlatformNotFound(NotFound):
    """The operator asked for a platform that is not registered (or was purged)."""

    reason = "platform_not_found"
    message = _l("No such platform is registered.")
    hint = _l("Go back to the list of platforms in the operator console.")


def get_platform(session: Session, platform_id: int) -> Platform:
    """The platform with its deployments loaded; raises PlatformNotFound."""
    platform = session.get(Platform, platform_id, options=[selectinload(Platform.deployments)])
    if platform is None:
        raise PlatformNotFound(f"no platform {platform_id}")
    return platform


# Which status each operator action moves a platform from, and to.
_PENDING, _ACTIVE = PlatformStatus.PENDING, PlatformStatus.ACTIVE
_DISABLED = PlatformStatus.DISABLED
TRANSITIONS: dict[str, tuple[frozenset[PlatformStatus], PlatformStatus]] = {
    "approve": (frozenset({_PENDING}), _ACTIVE),
    "disable": (frozenset({_PENDING, _ACTIVE}), _DISABLED),
    "enable": (frozenset({_DISABLED}), _ACTIVE),
}


def change_status(session: Session, platform_id: int, action: str) -> Platform:
    """Approve a pending platform, disable one, or enable a disabled one again."""
    platform = get_platform(session, platform_id)
    if action not in TRANSITIONS:
        raise PlatformError(f"unknown action {action!r}")
    allowed_from, to = TRANSITIONS[action]
    if platform.status not in allowed_from:
        raise PlatformError(f"cannot {action} a platform that is {platform.status}")
    platform.status = to
    session.commit()
    _published(session, platform.issuer, platform.client_id)
    return platform


def update_platform(session: Session, platform_id: int, *, name: str, auth_login_url: str,
                    auth_token_url: str, key_set_url: str, auth_audience: str | None) -> Platform:
    """Change a platform's name and endpoints; issuer and client ID identify it and stay."""
    platform = get_platform(session, platform_id)
    for field, url in (("auth login URL", auth_login_url), ("auth token URL", auth_token_url),
                       ("key set URL", key_set_url)):
        _check_url(field, url.strip())
    if auth_audience and auth_audience.strip():
        _check_url("token audience", auth_audience.strip())
    if not name.strip():
        raise PlatformError("the name is required")
    platform.name = name.strip()[:255]
    platform.auth_login_url = auth_login_url.strip()
    platform.auth_token_url = auth_token_url.strip()
    platform.key_set_url = key_set_url.strip()
    platform.auth_audience = (auth_audience or "").strip() or None
    session.commit()
    _published(session, platform.issuer, platform.client_id)
    return platform


def add_deployment(session: Session, platform_id: int, deployment_id: str) -> Deployment:
    """Add a deployment ID to a platform (Moodle shows it in the tool's settings)."""
    platform = get_platform(session, platform_id)
    deployment_id = deployment_id.strip()
    if not deployment_id or len(deployment_id) > 255:
        raise PlatformError("a deployment ID of 1 to 255 characters is required")
    if any(d.deployment_id == deployment_id for d in platform.deployments):
        raise PlatformError(f"deployment {deployment_id!r} is already registered")
    deployment = Deployment(deployment_id=deployment_id)
    platform.deployments.append(deployment)
    session.commit()
    _published(session, platform.issuer, platform.client_id)
    return deployment


def remove_deployment(session: Session, platform_id: int, deployment_pk: int) -> None:
    """Remove a deployment with its courses and launches; learners' progress stays with them."""
    platform = get_platform(session, platform_id)
    deployment = next((d for d in platform.deployments if d.id == deployment_pk), None)
    if deployment is None:
        raise PlatformNotFound(f"no deployment {deployment_pk} on platform {platform_id}")
    # Explicit deletes, children first: SQLite does not enforce ON DELETE CASCADE here.
    contexts = select(Context.id).where(Context.deployment_id == deployment.id)
    links = select(ResourceLink.id).where(ResourceLink.context_id.in_(contexts))
    targets = select(GradeTarget.id).where(GradeTarget.resource_link_id.in_(links))
    for statement in (
        delete(ScoreMessage).where(ScoreMessage.grade_target_id.in_(targets)),
        delete(GradeTarget).where(GradeTarget.id.in_(targets)),
        delete(LaunchRecord).where(LaunchRecord.deployment_id == deployment.id),
        delete(ResourceLink).where(ResourceLink.id.in_(links)),
        delete(RosterSnapshot).where(RosterSnapshot.context_id.in_(contexts)),
        delete(Context).where(Context.id.in_(contexts)),
    ):
        session.execute(statement, execution_options={"synchronize_session": False})
    platform.deployments.remove(deployment)
    session.commit()
    _published(session, platform.issuer, platform.client_id)

