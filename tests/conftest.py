"""Fixtures: the tool served live on 127.0.0.1 and the demo LMS on localhost, on each backend.

The two are different sites, as a municipality's Moodle and the consortium's tool are: the LMS is
an app of its own with its own database, store, keys and cookies, and reaches the tool only over
HTTP. `embedded` (SQLite and the file store) always runs; `services` (PostgreSQL and Redis) runs
when TEST_DATABASE_URL and TEST_REDIS_URL are set, as CI does. Each live app gets its own
PostgreSQL schema and Redis key prefix, so test runs never see each other's data.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flask_migrate
import psycopg
import pytest
from flask import Flask
from hypothesis import settings as hypothesis_settings
from sqlalchemy.orm import scoped_session
from werkzeug.serving import BaseWSGIServer, make_server

from config import TestConfig
from config.settings import database_uri
from lti_tool import create_app
from lti_tool.demo_lms.app import create_lms_app
from lti_tool.demo_lms.cli import setup_lms
from lti_tool.demo_lms.database import lms_db
from lti_tool.demo_lms.tool_side import register_demo_lms
from lti_tool.extensions import db
from lti_tool.lti import keys as tool_keys
from tests.support.agent import Agent
from tests.support.console import Console, make_operator
from tests.support.database import Clock, rolled_back, savepoints_on_sqlite
from tests.support.external_platform import ExternalPlatform
from tests.support.lms import LMS_APP
from tests.support.ports import unused_port

# CI explores the same examples on every run (a submission must not fail on a new random draw);
# a developer's runs draw new ones, and their finds become fixed tests.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

HAVE_SERVICES = bool(os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_REDIS_URL"))
BACKENDS = ["embedded", "services"] if HAVE_SERVICES else ["embedded"]


def free_port() -> int:
    """A free loopback port, never the same twice in a run (see tests/support/ports.py)."""
    return unused_port()


def _pg_conninfo() -> str:
    return os.environ["TEST_DATABASE_URL"]


def create_schema() -> str:
    schema = "t_" + uuid.uuid4().hex[:10]
    with psycopg.connect(_pg_conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema


def drop_schema(schema: str) -> None:
    with psycopg.connect(_pg_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def settings_for(backend: str, instance: Path, base_url: str, *, schema: str | None = None,
                 redis_prefix: str | None = None, **overrides: Any) -> dict[str, Any]:
    settings = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    settings.update(INSTANCE_PATH=str(instance), TOOL_BASE_URL=base_url)
    if backend == "services":
        settings["SQLALCHEMY_DATABASE_URI"] = database_uri(_pg_conninfo())
        settings["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "connect_args": {"options": f"-csearch_path={schema}"}, "pool_pre_ping": True}
        settings["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
        settings["REDIS_PREFIX"] = redis_prefix or f"il-test-{uuid.uuid4().hex[:8]}:"
    settings.update(overrides)
    return settings


def lms_settings(backend: str, instance: Path, lms_url: str, tool_url: str, *, schema: str | None = None,
                 **overrides: Any) -> dict[str, Any]:
    """The demo LMS's own settings: its own SQLite file or PostgreSQL schema, store and secret."""
    settings: dict[str, Any] = {"INSTANCE_PATH": str(instance), "LMS_BASE_URL": lms_url, "TOOL_BASE_URL": tool_url,
                                "SECRET_KEY": "demo-lms-test-secret", "HTTP_TIMEOUT": (5.0, 5.0)}
    if backend == "services":
        settings["SQLALCHEMY_DATABASE_URI"] = database_uri(_pg_conninfo())
        settings["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "connect_args": {"options": f"-csearch_path={schema}"}, "pool_pre_ping": True}
        settings["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
        settings["REDIS_PREFIX"] = f"lms-test-{uuid.uuid4().hex[:8]}:"
    settings.update(overrides)
    return settings


@dataclass
class LiveServer:
    app: Flask
    base_url: str
    backend: str
    server: BaseWSGIServer
    lms_app: Flask | None = None
    lms_url: str = ""
    lms_server: BaseWSGIServer | None = None

    def agent(self) -> Agent:
        return Agent(self.base_url, self.lms_url)

    def lms_context(self) -> Any:
        """The demo LMS's app context, to read its gradebook as a test of what reached it."""
        assert self.lms_app is not None
        return self.lms_app.app_context()

    def stop(self) -> None:
        for server in (self.server, self.lms_server):
            if server is not None:
                server.shutdown()
                server.server_close()


def start_live(app: Flask, port: int, backend: str) -> LiveServer:
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return LiveServer(app=app, base_url=f"http://127.0.0.1:{port}", backend=backend, server=server)


def start_lms(lms_app: Flask, port: int) -> BaseWSGIServer:
    """Serve a demo LMS on 127.0.0.1; browsers and the tests reach it as `localhost`."""
    server = make_server("127.0.0.1", port, lms_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def serve_lms(live: LiveServer, lms_app: Flask, port: int) -> None:
    """Serve the demo LMS beside a live tool."""
    live.lms_app, live.lms_url, live.lms_server = lms_app, f"http://localhost:{port}", start_lms(lms_app, port)


def migrate_and_seed(app: Flask, *, demo_lms_url: str | None = None) -> None:
    """Migrations; with the demo LMS also the rest of the documented set-up: a signing key and the
    demo LMS as a platform (`flask keys ensure`, `flask demo setup`)."""
    with app.app_context():
        flask_migrate.upgrade()
        if demo_lms_url:
            tool_keys.ensure_key(db.session(), app.config["SECRET_KEY"])
            register_demo_lms(demo_lms_url)


def set_up_lms(lms_app: Flask) -> None:
    with lms_app.app_context():
        setup_lms()


def attach_demo_lms(server: LiveServer, instance: Path) -> None:
    """A demo LMS of its own (embedded) beside a live tool started by a test, registered both ways."""
    lms_url = f"http://localhost:{free_port()}"
    lms_app = create_lms_app(lms_settings("embedded", instance, lms_url, server.base_url))
    set_up_lms(lms_app)
    migrate_and_seed(server.app, demo_lms_url=lms_url)
    serve_lms(server, lms_app, int(lms_url.rsplit(":", 1)[1]))
    server.app.extensions[LMS_APP] = lms_app


@contextmanager
def serving_content(content: Path, instance: Path) -> Iterator[LiveServer]:
    """A live tool serving the packs in `content` (a test's own copy), beside a demo LMS of its own."""
    port = free_port()
    app = create_app(settings_for("embedded", instance / "tool", f"http://127.0.0.1:{port}",
                                  CONTENT_DIR=str(content)))
    migrate_and_seed(app)
    live = start_live(app, port, "embedded")
    attach_demo_lms(live, instance / "lms")
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="session", params=BACKENDS)
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    backend = request.param
    schema = create_schema() if backend == "services" else None
    lms_schema = create_schema() if backend == "services" else None
    port, lms_port = free_port(), free_port()
    base_url, lms_url = f"http://127.0.0.1:{port}", f"http://localhost:{lms_port}"
    app = create_app(settings_for(backend, tmp_path_factory.mktemp(backend), base_url, schema=schema,
                                  DEMO_LMS_URL=lms_url))
    lms_app = create_lms_app(lms_settings(backend, tmp_path_factory.mktemp(f"lms-{backend}"), lms_url, base_url,
                                          schema=lms_schema))
    migrate_and_seed(app, demo_lms_url=lms_url)
    set_up_lms(lms_app)
    server = start_live(app, port, backend)
    serve_lms(server, lms_app, lms_port)
    app.extensions[LMS_APP] = lms_app  # for tests that look into the LMS's gradebook (tests/support/lms.py)
    yield server
    server.stop()
    if schema and lms_schema:
        with app.app_context():
            db.engine.dispose()
        with lms_app.app_context():
            lms_db.engine.dispose()
        drop_schema(schema)
        drop_schema(lms_schema)


@pytest.fixture
def app(live: LiveServer) -> Iterator[Flask]:
    with live.app.app_context():
        yield live.app


@pytest.fixture
def agent(live: LiveServer) -> Agent:
    return live.agent()


@pytest.fixture
def runner(live: LiveServer) -> Any:
    return live.app.test_cli_runner()


@pytest.fixture
def external(live: LiveServer, runner: Any) -> Iterator[ExternalPlatform]:
    """A platform outside the project, registered with `flask platforms add`."""
    platform = ExternalPlatform()
    result = runner.invoke(args=platform.cli_args())
    assert result.exit_code == 0, result.output
    yield platform
    platform.close()


def _new_learner() -> str:
    """A member of the large demo course that no other test can take (see demo_lms/directory.py)."""
    return f"stor-kursus-x{uuid.uuid4().hex[:12]}"


@pytest.fixture
def fresh_learner() -> str:
    """A learner of the large demo course no other test has used.

    Made up for this test, not one of the course's synthetic members: it is not on the roster the
    LMS lists (NRPS), and joins the tool's dashboard as someone enrolled since the roster was read."""
    return _new_learner()


@pytest.fixture
def make_learner() -> Callable[[], str]:
    """Fresh learners on demand, for a test that needs several (each as `fresh_learner`)."""
    return _new_learner


@pytest.fixture(scope="session", params=BACKENDS)
def db_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The tool on each backend, migrated and with the demo LMS registered, but neither served.

    The demo LMS (embedded: it is another site, whatever the tool's backend) only signs claims."""
    backend = request.param
    schema = create_schema() if backend == "services" else None
    base_url, lms_url = "http://127.0.0.1:5999", "http://localhost:5998"
    app = create_app(settings_for(backend, tmp_path_factory.mktemp(f"db-{backend}"), base_url,
                                  schema=schema, DEMO_LMS_URL=lms_url))
    lms_app = create_lms_app(lms_settings("embedded", tmp_path_factory.mktemp(f"db-lms-{backend}"), lms_url,
                                          base_url))
    set_up_lms(lms_app)
    migrate_and_seed(app, demo_lms_url=lms_url)
    app.extensions[LMS_APP] = lms_app
    with app.app_context():
        db.engine.dispose()  # connections made from here on get the SQLite SAVEPOINT set-up
        savepoints_on_sqlite(db.engine)
    yield app
    with app.app_context():
        db.engine.dispose()
    if schema:
        drop_schema(schema)


@pytest.fixture
def db_session(db_app: Flask) -> Iterator[scoped_session[Any]]:
    """`db.session` in the app context of `db_app`, all of whose work is rolled back after the test."""
    with rolled_back(db_app) as session:
        yield session


@pytest.fixture
def clock() -> Clock:
    """The time for services that take `now=` or `clock=`: it stands still until `advance`d."""
    return Clock()


@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., Flask]:
    """A fresh, migrated app on SQLite in a temporary folder (for CLI and service tests)."""

    def factory(**overrides: Any) -> Flask:
        settings = settings_for("embedded", tmp_path / uuid.uuid4().hex[:6], "http://127.0.0.1:5999", **overrides)
        app = create_app(settings)
        migrate_and_seed(app)
        return app

    return factory


@pytest.fixture
def serve() -> Iterator[Callable[[Flask], str]]:
    """Serve an app from `make_app` on a free port; returns its base URL (stopped after the test)."""
    servers: list[LiveServer] = []

    def start(app: Flask) -> str:
        servers.append(start_live(app, free_port(), "embedded"))
        return servers[-1].base_url

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def console(live: LiveServer, app: Flask) -> Console:
    """A signed-in operator of the live app's console (each backend)."""
    client = Console(live.base_url)
    assert client.sign_in(make_operator(app)).status_code == 302
    return client
