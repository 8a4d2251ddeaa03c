"""What the demo LMS's pages and CLI share: its store, its own address, the tool's keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app

from lti_tool.demo_lms.platform import DemoUrls
from lti_tool.lti.http import http_session
from lti_tool.lti.platform_keys import PlatformKeys
from lti_tool.store import KeyValueStore


@dataclass
class LmsServices:
    """What the LMS's pages and CLI share: its store, its own address and the tool's keys."""

    store: KeyValueStore
    settings: Mapping[str, Any]

    @property
    def urls(self) -> DemoUrls:
        """The demo LMS's endpoint URLs, built from its LMS_BASE_URL."""
        return DemoUrls(str(self.settings["LMS_BASE_URL"]).rstrip("/"))

    @property
    def tool_url(self) -> str:
        """The tool's base URL (TOOL_BASE_URL), without a trailing slash."""
        return str(self.settings["TOOL_BASE_URL"]).rstrip("/")

    @property
    def secret(self) -> str:
        """The LMS's SECRET_KEY: signs its cookies, login hints and access tokens, encrypts its private key."""
        return str(self.settings["SECRET_KEY"])

    def tool_keys(self) -> PlatformKeys:
        """The tool's published keys, fetched over HTTP from its JWKS URL like any LMS does."""
        return PlatformKeys(self.store, http_session(self.settings["HTTP_TIMEOUT"]),
                            ttl=self.settings["PLATFORM_JWKS_TTL"],
                            min_refetch=self.settings["PLATFORM_JWKS_MIN_REFETCH"])


def services() -> LmsServices:
    """The current LMS app's services."""
    result: LmsServices = current_app.extensions["demo_lms"]
    return result
