"""When the tool's own dependencies fail: 503 with Retry-After and a localised page, never a 500;
the log line and the metrics name the dependency; pages that do not need it keep working."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from config.settings import database_uri
from lti_tool import create_app
from lti_tool.demo_lms import platform as demo
from lti_tool.extensions import db
from tests.conftest import (
    LiveServer,
    attach_demo_lms,
    create_schema,
    drop_schema,
    free_port,
    migrate_and_seed,
    settings_for,
    start_live,
)
from tests.support.agent import text_of
from tests.support.logs import records_of
from tests.support.tcp_proxy import TcpProxy

TRY_AGAIN = {
    "da": "Prøv igen om et øjeblik",
    "sv": "Försök igen om en stund",
    "en": "Try again in a moment",
}


@pytest.fixture
def web_log() -> Iterator[list[logging.LogRecord]]:
    """The lti_tool.web logger's records."""
    with records_of("lti_tool.web") as records:
        yield records


def launched_beside_an_lms(app: Flask, tmp_path: Path) -> tuple[LiveServer, str]:
    """Serve `app` with a demo LMS of its own and launch Jonas into a module: the server and the
    learner's home address."""
    server = start_live(app, int(app.config["TOOL_BASE_URL"].rsplit(":", 1)[1]), "embedded")
    attach_demo_lms(server, tmp_path / "lms")
    home = server.agent().launch("jonas", "vejle-int", "rl-nyankomne")
    assert home.ok
    return server, home.url


def metric(app: Flask, line_start: str) -> float:
    """The value of one metrics line (0 when the series does not exist yet)."""
    text = app.test_client().get("/metrics").get_data(as_text=True)
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def closed_port() -> int:
    return free_port()  # bound and released: nothing listens there


def assert_unavailable(response: Any, language: str) -> None:
    status = getattr(response, "status_code", None)
    body = response.get_data(as_text=True) if hasattr(response, "get_data") else response.text
    assert status == 503, (status, text_of(body)[:300])
    assert response.headers["Retry-After"] == "30"
    assert TRY_AGAIN[language] in text_of(body)
    assert "dependency_unavailable" in body


def login_params(base_url: str) -> dict[str, str]:
    return {"iss": demo.DemoUrls(base_url).issuer, "login_hint": "jonas", "client_id": demo.CLIENT_ID,
            "target_link_uri": base_url + "/lti/launch", "lti_message_hint": "x"}


# --- Redis ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["da", "sv", "en"])
def test_login_with_redis_unreachable_is_a_localised_503(tmp_path: Path, web_log, language: str) -> None:
    base_url = "http://127.0.0.1:5996"
    # Set up while the store still works (the platform is published to it), then Redis goes.
    migrate_and_seed(create_app(settings_for("embedded", tmp_path, base_url)), demo_lms_url=base_url)
    app = create_app(settings_for("embedded", tmp_path, base_url,
                                  REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0"))
    client = app.test_client()
    series = 'integrationsloeft_dependency_unavailable_total{component="web",dependency="redis"}'
    before = metric(app, series)

    response = client.get("/lti/login", query_string=login_params(base_url), headers={"Accept-Language": language})

    assert_unavailable(response, language)
    assert metric(app, series) == before + 1
    [line] = [r for r in web_log if "dependency_unavailable" in r.getMessage()]
    assert line.levelno == logging.WARNING and "redis unavailable" in line.getMessage()
    assert line.exc_info is None  # an outage is not a bug: no traceback per request
    # What does not need Redis keeps working.
    assert client.get("/healthz").status_code == 200
    assert client.get("/.well-known/jwks.json").status_code == 200
    assert client.get("/lti/register").status_code == 200


# --- the database --------------------------------------------------------------------------------

def test_learner_pages_with_the_sqlite_database_gone_are_a_503_and_come_back(tmp_path: Path, web_log) -> None:
    port = free_port()
    app = create_app(settings_for("embedded", tmp_path, f"http://127.0.0.1:{port}"))
    migrate_and_seed(app)
    server, home_url = launched_beside_an_lms(app, tmp_path)
    try:
        agent = server.agent()
        database = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
        moved = database.with_name("moved-away.db")
        database.rename(moved)
        database.mkdir()  # a path SQLite cannot open as a database
        with app.app_context():
            db.engine.dispose()  # no pooled connection still holds the old file open

        for language in ("da", "sv"):
            assert_unavailable(agent.get(home_url, headers={"Accept-Language": language}), language)
        assert agent.get("/healthz").status_code == 200
        assert any("database unavailable" in r.getMessage() for r in web_log)

        database.rmdir()
        moved.rename(database)
        assert agent.get(home_url).status_code == 200  # back without a restart
    finally:
        server.stop()


def pg_settings(instance: Path, base_url: str, schema: str, url: str, **overrides: Any) -> dict[str, Any]:
    """Embedded settings on PostgreSQL (at `url`, perhaps through a proxy) in a schema of their own."""
    return settings_for("embedded", instance, base_url, SQLALCHEMY_DATABASE_URI=database_uri(url),
                        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"options": f"-csearch_path={schema}",
                                                                    "connect_timeout": 5},
                                                   "pool_pre_ping": True},
                        **overrides)


@pytest.fixture
def pg_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL not set")
    return url


@pytest.fixture
def pg_schema(pg_url: str) -> Iterator[str]:
    schema = create_schema()
    yield schema
    drop_schema(schema)


def test_learner_pages_with_postgresql_gone_are_a_503_and_come_back(tmp_path: Path, pg_url, pg_schema,
                                                                     web_log) -> None:
    proxy = TcpProxy.for_url(pg_url, 5432).start()
    port = free_port()
    app = create_app(pg_settings(tmp_path, f"http://127.0.0.1:{port}", pg_schema, proxy.url(pg_url)))
    migrate_and_seed(app)
    server, home_url = launched_beside_an_lms(app, tmp_path)
    try:
        agent = server.agent()
        proxy.stop()  # PostgreSQL is gone: open connections cut, new ones refused

        for language in ("da", "en"):
            assert_unavailable(agent.get(home_url, headers={"Accept-Language": language}), language)
        assert agent.get("/healthz").status_code == 200
        ready = agent.get("/readyz")
        assert ready.status_code == 503 and ready.json()["database"] is False
        assert any("database unavailable" in r.getMessage() for r in web_log)

        proxy.start()  # back, as after a restart: the app reconnects by itself
        assert agent.get(home_url).status_code == 200
    finally:
        server.stop()
        proxy.stop()
        with app.app_context():
            db.engine.dispose()


def test_an_unexpected_error_is_still_a_500(make_app, web_log) -> None:
    """Only unreachable dependencies are 503: a bug stays a 500 with its traceback in the log."""
    app = make_app()

    @app.get("/boom-" + uuid.uuid4().hex[:6])
    def boom() -> str:
        raise RuntimeError("a bug")

    path = next(r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/boom-"))
    response = app.test_client().get(path)
    assert response.status_code == 500
    assert "Retry-After" not in response.headers
    assert any(r.exc_info for r in web_log)
