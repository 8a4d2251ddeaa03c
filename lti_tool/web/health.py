"""Liveness and readiness: is the process up; can it reach its database, its store and schema;
does it have a signing key (without one no launch, deep link or score can be signed)."""

from __future__ import annotations

from dataclasses import dataclass

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import Config
from sqlalchemy import text
from sqlalchemy.orm import Session

from config.settings import ConfigError
from lti_tool.extensions import db
from lti_tool.lti.keys import has_current_key
from lti_tool.store import KeyValueStore


@dataclass(frozen=True)
class Readiness:
    """What the readiness check found, with `detail` naming every problem."""

    database: bool
    store: bool
    migrations_current: bool
    detail: str
    signing_key: bool = False

    @property
    def ready(self) -> bool:
        """Whether the instance can serve: database, store, schema and signing key all in order."""
        return self.database and self.store and self.migrations_current and self.signing_key


def _scripts(app: Flask) -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", app.extensions["migrate"].directory)
    return ScriptDirectory.from_config(config)


def _schema_ok(app: Flask, current: str | None) -> tuple[bool, str]:
    """Ready when the schema is this code's head, or newer than this code knows: during a rolling
    upgrade the migration runs first and the old instances keep serving (migrations only add)."""
    scripts = _scripts(app)
    head = scripts.get_current_head()
    if current == head:
        return True, ""
    known = {rev.revision for rev in scripts.walk_revisions()}
    if current is not None and current not in known:
        return True, ""
    return False, f"schema at {current}, code expects {head}: run `flask db upgrade`"


def readiness(app: Flask, session: Session, store: KeyValueStore) -> Readiness:
    """Check the database, the schema's revision, the signing key and the store; failures go into `detail`, not up."""
    problems = []
    database = migrations_current = store_ok = key_ok = False
    try:
        connection = session.connection()
        connection.execute(text("SELECT 1"))
        database = True
        current = MigrationContext.configure(connection).get_current_revision()
        migrations_current, problem = _schema_ok(app, current)
        if problem:
            problems.append(problem)
        elif not (key_ok := has_current_key(session)):
            problems.append("no signing key: run `flask keys ensure`")
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; the reason is reported
        problems.append(f"database: {exc.__class__.__name__}: {exc}"[:300])
    finally:
        session.rollback()
    try:
        store_ok = store.ping()
    except Exception as exc:  # noqa: BLE001
        problems.append(f"store: {exc.__class__.__name__}: {exc}"[:300])
    return Readiness(database, store_ok, migrations_current, "; ".join(problems), key_ok)


def require_ready(app: Flask) -> None:
    """Stop a production start-up with a clear message when a dependency is missing."""
    with app.app_context():
        state = readiness(app, db.session(), app.extensions["integrationsloeft"].store)
        db.session.remove()
    if not state.ready:
        raise ConfigError(f"Integrationsløft cannot start: {state.detail}")
