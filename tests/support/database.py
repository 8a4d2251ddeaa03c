"""A database session per test that is rolled back afterwards, and a clock a test can move.

The recipe is SQLAlchemy 2.0's "joining a session into an external transaction": the test's
connection opens an outer transaction, and Flask-SQLAlchemy's session works inside it with
`join_transaction_mode="create_savepoint"`, so a service's own `commit()` only releases a
SAVEPOINT. Rolling the outer transaction back at the end leaves the tables as they were
(indico's testing/fixtures/database.py does the same for its `db`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import scoped_session, sessionmaker

from lti_tool.extensions import db as extension


class _JoinedSession(FlaskSession):
    """Flask-SQLAlchemy's session, on the test's connection for every table.

    Flask-SQLAlchemy picks an engine per table and so ignores `bind=`; a test has one connection."""

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any) -> Any:
        return bind if bind is not None else self.bind


def savepoints_on_sqlite(engine: Engine) -> None:
    """Let SQLite nest SAVEPOINTs in a real outer transaction.

    pysqlite begins a transaction only before a write and never before a SAVEPOINT, so a RELEASE
    would commit; SQLAlchemy's documented work-around takes BEGIN over from the driver."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")


@contextmanager
def rolled_back(app: Flask) -> Iterator[scoped_session[Any]]:
    """Inside `app`'s context, `db.session` on one connection whose work is undone at the end."""
    with app.app_context():
        connection = extension.engine.connect()
        outer = connection.begin()
        factory = sessionmaker(class_=_JoinedSession, db=extension, bind=connection,
                               join_transaction_mode="create_savepoint")
        original = extension.session
        extension.session = scoped_session(factory)
        try:
            yield extension.session
        finally:
            extension.session.remove()
            extension.session = original
            outer.rollback()
            connection.close()


class Clock:
    """An aware UTC time that stands still until a test moves it; call it for the time."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move on by `timedelta(**delta)` and return the new time."""
        self.now += timedelta(**delta)
        return self.now

    def set(self, moment: datetime) -> datetime:
        """Jump to `moment` (aware)."""
        assert moment.tzinfo is not None, "the clock keeps aware times"
        self.now = moment
        return self.now
