"""The per-app services the HTTP layer and CLI share: the store, the platform keys, HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from lti_tool.content.model import Catalog
from lti_tool.content.registry import ContentRegistry
from lti_tool.lti.http import http_session
from lti_tool.lti.platform_keys import PlatformKeys
from lti_tool.store import KeyValueStore


@dataclass
class Runtime:
    store: KeyValueStore
    settings: dict[str, Any]
    content: ContentRegistry

    def catalog(self) -> Catalog:
        return self.content.catalog()

    def platform_keys(self) -> PlatformKeys:
        return PlatformKeys(
            self.store,
            http_session(self.settings["HTTP_TIMEOUT"]),
            ttl=self.settings["PLATFORM_JWKS_TTL"],
            min_refetch=self.settings["PLATFORM_JWKS_MIN_REFETCH"],
        )

    @property
    def base_url(self) -> str:
        return str(self.settings["TOOL_BASE_URL"]).rstrip("/")


def install(app: Flask, store: KeyValueStore) -> Runtime:
    content = ContentRegistry(app.config["CONTENT_DIR"])
    runtime = Runtime(store=store, settings=app.config, content=content)  # type: ignore[arg-type]
    app.extensions["integrationsloeft"] = runtime
    return runtime


def runtime() -> Runtime:
    result: Runtime = current_app.extensions["integrationsloeft"]
    return result
