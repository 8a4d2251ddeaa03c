"""What the tool tells an LMS about itself: the URLs, domain and scopes an administrator pastes when
registering it by hand, and that dynamic registration sends.

It sits in the LTI adapter, apart from the platform service, so that the launch, the console and
registration can read it without importing the operator's services."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from lti_tool.lti import claims


@dataclass(frozen=True)
class ToolInfo:
    """Every value an LMS administrator pastes when registering the tool by hand."""

    base_url: str

    @property
    def login_url(self) -> str:
        """The OIDC third-party initiated login URL."""
        return self.base_url + "/lti/login"

    @property
    def launch_url(self) -> str:
        """The launch URL (target link URI and redirect URI)."""
        return self.base_url + "/lti/launch"

    @property
    def jwks_url(self) -> str:
        """Where the tool publishes its public keys."""
        return self.base_url + "/.well-known/jwks.json"

    @property
    def deep_linking_url(self) -> str:
        """Where deep-linking requests are sent: the launch URL, which handles both messages."""
        return self.base_url + "/lti/launch"

    @property
    def registration_url(self) -> str:
        """Where an LMS administrator starts dynamic registration."""
        return self.base_url + "/lti/register"

    @property
    def domain(self) -> str:
        """The host (and port, if any) of the tool's base URL."""
        return urlparse(self.base_url).netloc

    @property
    def redirect_uris(self) -> list[str]:
        """The URLs the platform may post id_tokens to."""
        return [self.launch_url]

    @property
    def scopes(self) -> list[str]:
        """The LTI service scopes the tool asks for: line items, results, scores and the roster."""
        return [
            claims.SCOPE_LINEITEM,
            claims.SCOPE_RESULT_READONLY,
            claims.SCOPE_SCORE,
            claims.SCOPE_NRPS,
        ]

    def rows(self) -> list[tuple[str, str]]:
        """The values as (label, value) pairs, labelled as LMS registration forms name them."""
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
