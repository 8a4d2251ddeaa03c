"""Registering platforms by hand and describing the tool to LMS administrators."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_tool.lti import claims
from lti_tool.models import Deployment, Platform, PlatformStatus


class PlatformError(ValueError):
    """A registration that cannot be stored; the message says why."""


def _check_url(name: str, url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise PlatformError(f"{name} must be an http(s) URL, got {url!r}")


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
) -> Platform:
    """Create a platform with its deployments, or add deployments to an existing one."""
    for field, url in (
        ("auth login URL", auth_login_url),
        ("auth token URL", auth_token_url),
        ("key set URL", key_set_url),
    ):
        _check_url(field, url)
    if not issuer or not client_id:
        raise PlatformError("issuer and client ID are required")
    platform = session.scalars(
        select(Platform).where(Platform.issuer == issuer, Platform.client_id == client_id)
    ).first()
    if platform is None:
        platform = Platform(issuer=issuer, client_id=client_id, status=status)
        session.add(platform)
    platform.auth_login_url = auth_login_url
    platform.auth_token_url = auth_token_url
    platform.key_set_url = key_set_url
    platform.auth_audience = auth_audience or None
    platform.name = name or platform.name or urlparse(issuer).netloc or issuer
    known = {d.deployment_id for d in platform.deployments}
    for deployment_id in deployment_ids:
        if deployment_id and deployment_id not in known:
            platform.deployments.append(Deployment(deployment_id=deployment_id))
    session.commit()
    return platform


def list_platforms(session: Session) -> list[Platform]:
    return list(session.scalars(select(Platform).order_by(Platform.id)))


def remove_platform(session: Session, platform_id: int) -> bool:
    platform = session.get(Platform, platform_id)
    if platform is None:
        return False
    session.delete(platform)
    session.commit()
    return True


@dataclass(frozen=True)
class ToolInfo:
    """Every value an LMS administrator pastes when registering the tool by hand."""

    base_url: str

    @property
    def login_url(self) -> str:
        return self.base_url + "/lti/login"

    @property
    def launch_url(self) -> str:
        return self.base_url + "/lti/launch"

    @property
    def jwks_url(self) -> str:
        return self.base_url + "/.well-known/jwks.json"

    @property
    def deep_linking_url(self) -> str:
        return self.base_url + "/lti/launch"

    @property
    def registration_url(self) -> str:
        return self.base_url + "/lti/register"

    @property
    def domain(self) -> str:
        return urlparse(self.base_url).netloc

    @property
    def redirect_uris(self) -> list[str]:
        return [self.launch_url]

    @property
    def scopes(self) -> list[str]:
        return [
            claims.SCOPE_LINEITEM,
            claims.SCOPE_RESULT_READONLY,
            claims.SCOPE_SCORE,
            claims.SCOPE_NRPS,
        ]

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("Tool URL / target link URI", self.launch_url),
            ("Initiate login URL", self.login_url),
            ("Redirection URI(s)", "\n".join(self.redirect_uris)),
            ("Public keyset URL (JWKS)", self.jwks_url),
            ("Deep linking URL", self.deep_linking_url),
            ("Dynamic registration URL", self.registration_url),
            ("Domain", self.domain),
            ("Services (scopes)", " ".join(self.scopes)),
            ("Custom parameters", "(none needed; deep linking sets module=<id>)"),
        ]
