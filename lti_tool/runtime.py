"""The per-app services the HTTP layer and CLI share: the store, the platform keys, HTTP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy.orm import Session

from lti_tool.content.model import Catalog
from lti_tool.content.registry import ContentRegistry
from lti_tool.extensions import db
from lti_tool.grading.delivery import DeliveryReport, WorkerThread, deliver_due
from lti_tool.lti.http import http_session
from lti_tool.lti.keys import signing_key
from lti_tool.lti.platform_keys import PlatformKeys
from lti_tool.lti.services import PlatformAuth, ServiceClient, TokenClient
from lti_tool.models import Platform
from lti_tool.store import KeyValueStore
from lti_tool.teaching.roster import refresh_due_rosters


@dataclass
class Runtime:
    """The services of one app, built once by `install` and kept in `app.extensions`."""

    store: KeyValueStore
    settings: dict[str, Any]
    content: ContentRegistry

    def catalog(self) -> Catalog:
        """The content catalogue of the content packs (programmes, and the problems found)."""
        return self.content.catalog()

    def platform_keys(self) -> PlatformKeys:
        """A cache of the platforms' public keys, fetched from their JWKS URLs."""
        return PlatformKeys(
            self.store,
            http_session(self.settings["HTTP_TIMEOUT"]),
            ttl=self.settings["PLATFORM_JWKS_TTL"],
            min_refetch=self.settings["PLATFORM_JWKS_MIN_REFETCH"],
        )

    def http(self) -> Any:
        """A fresh HTTP session with the configured timeout."""
        return http_session(self.settings["HTTP_TIMEOUT"])

    def token_client(self, session: Session) -> TokenClient:
        """A client for OAuth2 access tokens, signing its assertions with the tool's current key."""
        key = signing_key(session, str(self.settings["SECRET_KEY"]))
        return TokenClient(self.store, self.http(), key)

    def service_client(self, session: Session, platform: Platform) -> ServiceClient:
        """A client for `platform`'s LTI services (AGS, NRPS), authorised through `token_client`."""
        auth = PlatformAuth(platform.id, platform.client_id, platform.auth_token_url, platform.auth_audience)
        return ServiceClient(self.token_client(session), self.http(), auth)

    def deliver_scores(self, session: Session, batch: int = 50) -> DeliveryReport:
        """One grade-worker round: send due scores, then refresh rosters that are due."""
        report = deliver_due(session, self.token_client(session), self.http(), batch=batch)
        refresh_due_rosters(session, lambda platform: self.service_client(session, platform))  # off any request
        return report

    @property
    def base_url(self) -> str:
        """The tool's public base URL, without a trailing slash."""
        return str(self.settings["TOOL_BASE_URL"]).rstrip("/")


def install(app: Flask, store: KeyValueStore) -> Runtime:
    """Build the app's `Runtime` on `store` and keep it in `app.extensions`."""
    content = ContentRegistry(app.config["CONTENT_DIR"])
    runtime = Runtime(store=store, settings=app.config, content=content)
    app.extensions["integrationsloeft"] = runtime
    return runtime


def delivery_round(app: Flask, batch: int = 50) -> Callable[[], DeliveryReport]:
    """One grade-worker round of `app`, in its own app context and session, for run_rounds.

    The session is removed after every round, failed or not, so the next one starts on a
    connection the pool has checked (a broken one is dropped, and the round reconnects)."""

    def one_round() -> DeliveryReport:
        with app.app_context():
            try:
                rt: Runtime = app.extensions["integrationsloeft"]
                return rt.deliver_scores(db.session(), batch=batch)
            finally:
                db.session.remove()

    return one_round


def start_worker_thread(app: Flask) -> None:
    """The embedded default: deliver grades from a thread of the web process."""

    worker = WorkerThread(delivery_round(app))
    app.extensions["grade_worker"] = worker
    worker.start()


def runtime() -> Runtime:
    """The current app's `Runtime`, as `install` left it."""
    result: Runtime = current_app.extensions["integrationsloeft"]
    return result
