"""A fresh install gets its signing key from an idempotent `flask keys ensure` that two instances
may run at once; /readyz is not ready without a key, and tells outsiders only ready or not;
HSTS in production."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from config.settings import ProductionConfig, config_from_env
from lti_tool import create_app
from lti_tool.credentials.keys import credential_signing_key
from lti_tool.extensions import db
from lti_tool.lti.keys import ensure_key
from lti_tool.models import CredentialKey, ToolKey
from tests.conftest import create_schema, drop_schema, migrate_and_seed
from tests.integration.test_dependency_failures import pg_settings


def current_keys(app: Flask) -> int:
    with app.app_context():
        try:
            return int(db.session.scalar(select(func.count()).where(ToolKey.retired_at.is_(None))) or 0)
        finally:
            db.session.remove()


def test_keys_ensure_is_idempotent_and_readyz_waits_for_a_key(make_app) -> None:
    app = make_app()  # migrated, no key: a fresh install
    client = app.test_client()
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.get_json()["signing_key"] is False
    assert "flask keys ensure" in not_ready.get_json()["detail"]

    runner = app.test_cli_runner()
    first = runner.invoke(args=["keys", "ensure"])
    assert first.exit_code == 0 and "Generated key" in first.output
    kid = first.output.split()[-1]
    again = runner.invoke(args=["keys", "ensure"])
    assert again.exit_code == 0 and again.output.strip() == f"Current key exists: {kid}"
    assert current_keys(app) == 1
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["signing_key"] is True
    assert client.get("/.well-known/jwks.json").get_json()["keys"][0]["kid"] == kid


def _at_once(app: Flask, current_kid: Callable[[], str], calls: int = 2) -> list[str]:
    """`calls` instances asking for the current key (`current_kid`) at the same moment; the kids
    they were given."""
    barrier = threading.Barrier(calls)
    kids: list[str] = []
    failures: list[BaseException] = []

    def instance() -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=60)
                kids.append(current_kid())
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=instance) for _ in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    return kids


@pytest.fixture
def pg_app(tmp_path: Path) -> Iterator[Flask]:
    import os

    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL not set")
    schema = create_schema()
    app = create_app(pg_settings(tmp_path, "http://127.0.0.1:5995", schema, url))
    migrate_and_seed(app)
    yield app
    with app.app_context():
        db.engine.dispose()
    drop_schema(schema)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_instances_ensuring_a_key_at_once_leave_exactly_one(backend: str, request: Any) -> None:
    app = request.getfixturevalue("make_app")() if backend == "sqlite" else request.getfixturevalue("pg_app")
    for _ in range(3):  # a race shows in some rounds, not in every one: run a few
        with app.app_context():
            db.session.query(ToolKey).delete()
            db.session.commit()
            db.session.remove()
        kids = _at_once(app, lambda: ensure_key(db.session(), app.config["SECRET_KEY"])[0].kid)
        assert current_keys(app) == 1
        assert len(set(kids)) == 1  # both instances were told the same key


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_instances_issuing_their_first_credential_at_once_make_one_key(backend: str, request: Any) -> None:
    """The first credential makes the credential key: two at once take turns and share one key."""
    app = request.getfixturevalue("make_app")() if backend == "sqlite" else request.getfixturevalue("pg_app")

    def credential_kid() -> str:
        return credential_signing_key(db.session(), app.config["SECRET_KEY"]).kid

    for _ in range(3):  # a race shows in some rounds, not in every one: run a few
        with app.app_context():
            db.session.query(CredentialKey).delete()
            db.session.commit()
            db.session.remove()
        kids = _at_once(app, credential_kid)
        with app.app_context():
            current = db.session.scalars(select(CredentialKey).where(CredentialKey.retired_at.is_(None))).all()
        assert [key.kid for key in current] == kids[:1]
        assert len(set(kids)) == 1  # both instances were told the same key


def test_readyz_tells_outsiders_only_ready_or_not(make_app) -> None:
    app = make_app(METRICS_TOKEN="token-for-the-monitoring")
    client = app.test_client()
    outside = {"REMOTE_ADDR": "8.8.8.8"}

    not_ready = client.get("/readyz", environ_base=outside)  # no key yet
    assert not_ready.status_code == 503 and not_ready.get_json() == {"ready": False}
    inside = client.get("/readyz", environ_base=outside,
                        headers={"Authorization": "Bearer token-for-the-monitoring"})
    assert inside.status_code == 503 and "flask keys ensure" in inside.get_json()["detail"]

    app.test_cli_runner().invoke(args=["keys", "ensure"])
    ready = client.get("/readyz", environ_base=outside)
    assert ready.status_code == 200 and ready.get_json() == {"ready": True}


def test_readyz_names_an_unreachable_store_to_internal_callers_only(make_app) -> None:
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    app.test_cli_runner().invoke(args=["keys", "ensure"])
    client = app.test_client()
    outside = client.get("/readyz", environ_base={"REMOTE_ADDR": "8.8.8.8"})
    assert outside.status_code == 503 and outside.get_json() == {"ready": False}
    assert "127.0.0.1:1" not in outside.get_data(as_text=True)
    inside = client.get("/readyz")  # from 127.0.0.1, an internal address
    assert inside.get_json()["store"] is False and "store" in inside.get_json()["detail"]


def test_hsts_is_sent_over_https_in_production(make_app) -> None:
    assert ProductionConfig.HSTS_SECONDS >= 180 * 24 * 3600
    assert config_from_env({"INTEGRATIONSLOEFT_ENV": "production"})["HSTS_SECONDS"] == ProductionConfig.HSTS_SECONDS
    client = make_app(HSTS_SECONDS=ProductionConfig.HSTS_SECONDS).test_client()
    secure = client.get("/healthz", base_url="https://lti.example")
    assert secure.headers["Strict-Transport-Security"] == f"max-age={ProductionConfig.HSTS_SECONDS}"
    assert "Strict-Transport-Security" not in client.get("/healthz", base_url="http://lti.example").headers
    # The embedded set-up (plain http on this machine) sends none.
    assert "Strict-Transport-Security" not in make_app().test_client().get(
        "/healthz", base_url="https://lti.example").headers
