"""Recording a validated launch: its learner, course, link, grade column and the launch row, in one
transaction; and purging launches long expired."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Executable,
    Row,
    Table,
    Text,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lti_tool.content.model import Catalog
from lti_tool.grading.outbox import enqueue_opening_score
from lti_tool.launch.live import LinkRef, LiveLaunch
from lti_tool.launch.locale import interface_language
from lti_tool.lti.launch import Launch, ServiceClaims
from lti_tool.lti.roles import is_enrolled_learner
from lti_tool.models import (
    Context,
    GradeTarget,
    LaunchRecord,
    Platform,
    ResourceLink,
    ScoreMessage,
    User,
    utcnow,
)
from lti_tool.progress.rules import ActivityRecord
from lti_tool.progress.service import placement_from_custom
from lti_tool.progress.state import placement_for, records_by_module

# --- recording a launch ------------------------------------------------------------------------
# One SELECT reads the rows a launch would write (learner, course, link, grade column); a row that
# is missing or differs gets its INSERT … ON CONFLICT DO UPDATE, whose UPDATE again runs only when
# a column would change (a concurrent launch may have written it meanwhile). A returning learner's
# unchanged launch is then two statements: that SELECT and the launch record. The statements are
# built once per database, with bound parameters, so SQLAlchemy compiles each of them once.

_USERS, _CONTEXTS, _LINKS, _TARGETS, _SCORES, _LAUNCHES, _PLATFORMS = (
    cast(Table, model.__table__)
    for model in (User, Context, ResourceLink, GradeTarget, ScoreMessage, LaunchRecord, Platform))


def _insert_for(dialect_name: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can take ON CONFLICT DO UPDATE, for the database the session is bound to."""
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    if dialect_name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"no upsert for the {dialect_name} dialect")


def _param(key: str, column: ColumnElement[Any]) -> BindParameter[Any]:
    return bindparam(key, type_=column.type)


def _changed(*pairs: tuple[ColumnElement[Any], ColumnElement[Any]]) -> ColumnElement[bool]:
    """Whether any stored value differs from the one this launch brings (NULLs compared as values)."""
    return or_(*(stored.is_distinct_from(given) for stored, given in pairs))


def _as_text(column: ColumnElement[Any]) -> ColumnElement[str]:
    # JSON compared as its text: PostgreSQL's json type has no equality. Both sides are the same
    # serializer's output for dictionaries with sorted keys, so one value has one text.
    return sql_cast(column, Text)


_NOW = _param("now", _USERS.c.last_seen_at)
_DEPLOYMENT = _param("deployment_pk", _CONTEXTS.c.deployment_id)
_CONTEXT_KEY = _param("context_key", _CONTEXTS.c.context_id)
_LINK_KEY = _param("link_key", _LINKS.c.resource_link_id)


def _user_upsert(dialect_name: str) -> Executable:
    users = _USERS
    stmt = _insert_for(dialect_name, users).values(
        platform_id=_param("platform_id", users.c.platform_id), sub=_param("sub", users.c.sub),
        name=_param("name", users.c.name), email=_param("email", users.c.email),
        locale=_param("locale", users.c.locale), created_at=_NOW, last_seen_at=_NOW)
    new = stmt.excluded
    # last_seen_at is compared to the minute: written at most once a minute per learner.
    unseen = users.c.last_seen_at < _param("minute", users.c.last_seen_at)
    # Keep only what the platform chose to send this time (data minimisation): a name it no
    # longer sends is removed.
    return stmt.on_conflict_do_update(
        index_elements=[users.c.platform_id, users.c.sub],
        set_={"name": new.name, "email": new.email, "locale": new.locale,
              "last_seen_at": case((unseen, new.last_seen_at), else_=users.c.last_seen_at)},
        where=or_(_changed((users.c.name, new.name), (users.c.email, new.email), (users.c.locale, new.locale)),
                  unseen))


def _context_upsert(dialect_name: str) -> Executable:
    contexts = _CONTEXTS
    stmt = _insert_for(dialect_name, contexts).values(
        deployment_id=_DEPLOYMENT, context_id=_CONTEXT_KEY, label=_param("context_label", contexts.c.label),
        title=_param("context_title", contexts.c.title), created_at=_NOW)
    new = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[contexts.c.deployment_id, contexts.c.context_id],
        set_={"label": new.label, "title": new.title},
        where=_changed((contexts.c.label, new.label), (contexts.c.title, new.title)))


_CONTEXT_ID = (select(_CONTEXTS.c.id)
               .where(_CONTEXTS.c.deployment_id == _DEPLOYMENT, _CONTEXTS.c.context_id == _CONTEXT_KEY))


def _link_upsert(dialect_name: str) -> Executable:
    links = _LINKS
    stmt = _insert_for(dialect_name, links).values(
        context_id=_CONTEXT_ID.scalar_subquery(), resource_link_id=_LINK_KEY,
        title=_param("link_title", links.c.title), custom=_param("custom", links.c.custom),
        programme_id=_param("programme_id", links.c.programme_id),
        module_id=_param("module_id", links.c.module_id), created_at=_NOW)
    new = stmt.excluded
    new_custom = _as_text(links.c.custom).is_distinct_from(_as_text(new.custom))
    # The platform's custom parameters (set by deep linking) place the link when it is new, when
    # they change, or while it opens nothing; a placement an instructor picked by hand stays until
    # then. programme_id is NULL in the new values when the parameters name no content.
    rebind = and_(new.programme_id.is_not(None), or_(new_custom, links.c.programme_id.is_(None)))
    return stmt.on_conflict_do_update(
        index_elements=[links.c.context_id, links.c.resource_link_id],
        set_={"title": new.title, "custom": new.custom,
              "programme_id": case((rebind, new.programme_id), else_=links.c.programme_id),
              "module_id": case((rebind, new.module_id), else_=links.c.module_id)},
        where=or_(_changed((links.c.title, new.title)), new_custom,
                  and_(links.c.programme_id.is_(None), new.programme_id.is_not(None))))


_LINK_ID = (select(_LINKS.c.id).join(_CONTEXTS, _CONTEXTS.c.id == _LINKS.c.context_id)
            .where(_CONTEXTS.c.deployment_id == _DEPLOYMENT, _CONTEXTS.c.context_id == _CONTEXT_KEY,
                   _LINKS.c.resource_link_id == _LINK_KEY))


def _grade_target_upsert(dialect_name: str) -> Executable:
    """The link's AGS endpoints (AGS 2.0 §3.1: lineitem only when one is coupled)."""
    targets = _TARGETS
    stmt = _insert_for(dialect_name, targets).values(
        resource_link_id=_LINK_ID.scalar_subquery(), platform_id=_param("platform_id", targets.c.platform_id),
        lineitem_url=_param("lineitem", targets.c.lineitem_url),
        lineitems_url=_param("lineitems", targets.c.lineitems_url), scopes=_param("scopes", targets.c.scopes),
        label=_param("target_label", targets.c.label), updated_at=_NOW)
    new = stmt.excluded
    # An absent claim keeps the stored endpoint (the delivery may have found the line item itself).
    lineitem = func.coalesce(new.lineitem_url, targets.c.lineitem_url)
    lineitems = func.coalesce(new.lineitems_url, targets.c.lineitems_url)
    # updated_at moves only with the endpoints: rewriting this one row per link on every launch
    # would row-lock it until commit and serialise a class launching at once.
    return stmt.on_conflict_do_update(
        index_elements=[targets.c.resource_link_id],
        set_={"lineitem_url": lineitem, "lineitems_url": lineitems, "scopes": new.scopes, "label": new.label,
              "updated_at": new.updated_at},
        where=or_(_changed((targets.c.lineitem_url, lineitem), (targets.c.lineitems_url, lineitems),
                           (targets.c.label, new.label)),
                  _as_text(targets.c.scopes).is_distinct_from(_as_text(new.scopes))))


def _launch_insert() -> Executable:
    """The launch record, with the ids of the learner and link rows the upserts wrote or found
    (an upsert that changed nothing returns no row)."""
    launches = _LAUNCHES
    values: dict[str, ColumnElement[Any]] = {
        "id": _param("launch_id", launches.c.id), "deployment_id": _DEPLOYMENT,
        "user_id": _USERS.c.id, "context_id": _CONTEXTS.c.id, "resource_link_id": _LINKS.c.id,
        "message_type": _param("message_type", launches.c.message_type), "roles": _param("roles", launches.c.roles),
        "locale": _param("locale", launches.c.locale), "claims": _param("claims", launches.c.claims),
        "created_at": _NOW, "expires_at": _param("expires_at", launches.c.expires_at),
    }
    columns = [column.name for column in launches.columns]
    rows = (_USERS.outerjoin(_CONTEXTS, and_(_CONTEXTS.c.deployment_id == _DEPLOYMENT,
                                             _CONTEXTS.c.context_id == _CONTEXT_KEY))
            .outerjoin(_LINKS, and_(_LINKS.c.context_id == _CONTEXTS.c.id, _LINKS.c.resource_link_id == _LINK_KEY)))
    source = (select(*[values[name].label(name) for name in columns]).select_from(rows)
              .where(_USERS.c.platform_id == _param("platform_id", _USERS.c.platform_id),
                     _USERS.c.sub == _param("sub", _USERS.c.sub)))
    return insert(launches).from_select(columns, source).returning(launches.c.user_id, launches.c.resource_link_id)


# A graded, placed link whose learner has no score queued for it yet owes them an opening score.
_OPENING_SCORE_DUE = (
    select(_TARGETS.c.id).join(_LINKS, _LINKS.c.id == _TARGETS.c.resource_link_id)
    .where(_TARGETS.c.resource_link_id == _param("link_pk", _TARGETS.c.resource_link_id),
           _LINKS.c.programme_id.is_not(None),
           ~exists().where(_SCORES.c.grade_target_id == _TARGETS.c.id,
                           _SCORES.c.user_id == _param("user_pk", _SCORES.c.user_id)))
)


# What is stored of the rows this launch writes, NULLs for a row not there yet; and whether the
# learner's opening score for the link is queued already.
_ONE = select(literal(1).label("one")).subquery("one")
_STORED = (
    select(
        _USERS.c.id.label("user_pk"), _USERS.c.name, _USERS.c.email, _USERS.c.locale, _USERS.c.last_seen_at,
        _CONTEXTS.c.id.label("context_pk"), _CONTEXTS.c.label.label("context_label"),
        _CONTEXTS.c.title.label("context_title"),
        _LINKS.c.id.label("link_pk"), _LINKS.c.title.label("link_title"), _LINKS.c.custom, _LINKS.c.programme_id,
        _LINKS.c.module_id,
        _TARGETS.c.id.label("target_pk"), _TARGETS.c.lineitem_url, _TARGETS.c.lineitems_url, _TARGETS.c.scopes,
        _TARGETS.c.label.label("target_label"),
        exists().where(_SCORES.c.grade_target_id == _TARGETS.c.id, _SCORES.c.user_id == _USERS.c.id)
        .label("opening_queued"),
        _PLATFORMS.c.name.label("platform_name"), _PLATFORMS.c.issuer.label("platform_issuer"),
        _PLATFORMS.c.client_id.label("platform_client_id"), _PLATFORMS.c.auth_login_url.label("platform_login_url"),
    )
    .select_from(
        _ONE.outerjoin(_PLATFORMS, _PLATFORMS.c.id == _param("platform_id", _PLATFORMS.c.id))
        .outerjoin(_USERS, and_(_USERS.c.platform_id == _param("platform_id", _USERS.c.platform_id),
                                    _USERS.c.sub == _param("sub", _USERS.c.sub)))
        .outerjoin(_CONTEXTS, and_(_CONTEXTS.c.deployment_id == _DEPLOYMENT, _CONTEXTS.c.context_id == _CONTEXT_KEY))
        .outerjoin(_LINKS, and_(_LINKS.c.context_id == _CONTEXTS.c.id, _LINKS.c.resource_link_id == _LINK_KEY))
        .outerjoin(_TARGETS, _TARGETS.c.resource_link_id == _LINKS.c.id)
    )
)


_StoredRow = Row[*tuple[Any, ...]]


def _user_differs(stored: _StoredRow, new: dict[str, Any]) -> bool:
    # As the upsert's WHERE: last_seen_at is written at most once a minute.
    return (stored.user_pk is None or stored.last_seen_at < new["minute"]
            or (stored.name, stored.email, stored.locale) != (new["name"], new["email"], new["locale"]))


def _context_differs(stored: _StoredRow, new: dict[str, Any]) -> bool:
    return (stored.context_pk is None
            or (stored.context_label, stored.context_title) != (new["context_label"], new["context_title"]))


def _link_differs(stored: _StoredRow, new: dict[str, Any]) -> bool:
    return (stored.link_pk is None or stored.link_title != new["link_title"] or stored.custom != new["custom"]
            or (stored.programme_id is None and new["programme_id"] is not None))


def _grade_target_differs(stored: _StoredRow, new: dict[str, Any]) -> bool:
    # An absent endpoint keeps the stored one, as in the upsert.
    return (stored.target_pk is None or stored.target_label != new["target_label"] or stored.scopes != new["scopes"]
            or (new["lineitem"] is not None and stored.lineitem_url != new["lineitem"])
            or (new["lineitems"] is not None and stored.lineitems_url != new["lineitems"]))


@dataclass(frozen=True)
class _Statements:
    user: Executable
    context: Executable
    link: Executable
    grade_target: Executable
    launch: Executable


@functools.cache
def _statements(dialect_name: str) -> _Statements:
    return _Statements(_user_upsert(dialect_name), _context_upsert(dialect_name), _link_upsert(dialect_name),
                       _grade_target_upsert(dialect_name), _launch_insert())


def _parameters(launch: Launch, lifetime: int, now: datetime, catalog: Catalog | None) -> dict[str, Any]:
    """The values every statement of a launch binds, by the parameter names above."""
    context_key, custom = launch.context_key, launch.custom
    programme_id, module_id = (placement_from_custom(custom, catalog) if catalog is not None else None) or (None, None)
    link_title = launch.link_title
    return {
        "now": now, "minute": now.replace(second=0, microsecond=0),
        "platform_id": launch.platform_id, "deployment_pk": launch.deployment_pk,
        "sub": launch.sub, "name": launch.name, "email": launch.email,
        "locale": interface_language(launch.platform_locale),
        "context_key": context_key, "context_label": launch.context_label, "context_title": launch.context_title,
        # a link is recorded only within a course
        "link_key": launch.link_key if context_key else None,
        "link_title": link_title, "custom": custom,
        "programme_id": programme_id, "module_id": module_id,
        "lineitem": launch.lineitem_url, "lineitems": launch.lineitems_url, "scopes": launch.ags_scopes,
        "target_label": (link_title or "Integrationsløft")[:255],
        "launch_id": secrets.token_urlsafe(32), "message_type": launch.message_type, "roles": launch.roles,
        "claims": launch.service_claims(), "expires_at": now + timedelta(seconds=lifetime),
    }


@dataclass(frozen=True)
class RecordedLaunch:
    """What the landing needs of a launch just recorded; its pages read it with find_launch.

    `live` is the launch as find_launch would read it, when the rows read before the writes tell
    it: always but for a new course or a link the launch wrote (the database decides a placement).
    `records` are the learner's activity records in the programme the link opens, read in the
    launch's own transaction, when `live` names a placed link. The first page then needs neither a
    second read of what was just read nor a transaction of its own."""

    id: str
    message_type: str
    roles: list[str]
    live: LiveLaunch | None = None
    records: dict[str, dict[str, ActivityRecord]] | None = None


def _as_live(stored: _StoredRow, parameters: dict[str, Any], launch: Launch, user_id: int) -> LiveLaunch:
    """The live launch from the rows read before it was recorded and the values it wrote."""
    link = (LinkRef(stored.link_pk, stored.link_title, stored.programme_id, stored.module_id)
            if stored.link_pk is not None else None)
    course = parameters["context_title"] or parameters["context_label"]
    return LiveLaunch(
        id=parameters["launch_id"], roles=launch.roles, locale=parameters["locale"],
        services=ServiceClaims(parameters["claims"]), user_id=user_id, user_sub=launch.sub,
        user_name=parameters["name"], context_id=stored.context_pk,
        course_title=course if stored.context_pk is not None else None,
        resource_link=link, deployment_id=launch.deployment_id, platform_id=launch.platform_id,
        platform_name=stored.platform_name, platform_issuer=stored.platform_issuer,
        platform_client_id=stored.platform_client_id, platform_login_url=stored.platform_login_url,
    )


def record_launch(session: Session, launch: Launch, lifetime: int, catalog: Catalog | None, *,
                  clock: Callable[[], datetime] = utcnow) -> RecordedLaunch:
    """Store the user, course, link, grade column and the launch itself, and commit.

    Concurrent first launches of one course or learner need no retry: ON CONFLICT waits for the
    other insert and then updates (or leaves) its row."""
    now = clock()
    parameters = _parameters(launch, lifetime, now, catalog)
    # Core statements on the session's connection: the ORM's execution layer adds nothing here.
    connection = session.connection()
    statements = _statements(connection.dialect.name)
    stored = connection.execute(_STORED, parameters).one()
    link_written = False
    if _user_differs(stored, parameters):
        connection.execute(statements.user, parameters)
    if parameters["context_key"]:
        if _context_differs(stored, parameters):
            connection.execute(statements.context, parameters)
        if parameters["link_key"]:
            link_written = _link_differs(stored, parameters)
            if link_written:
                connection.execute(statements.link, parameters)
            graded = parameters["lineitem"] or parameters["lineitems"]
            if graded and _grade_target_differs(stored, parameters):
                connection.execute(statements.grade_target, parameters)
    user_id, link_id = connection.execute(statements.launch, parameters).one()
    if (link_id is not None and catalog is not None and is_enrolled_learner(launch.roles)
            and (parameters["lineitem"] or parameters["lineitems"]) and not stored.opening_queued):
        target_id = connection.scalar(_OPENING_SCORE_DUE, {"link_pk": link_id, "user_pk": user_id})
        if target_id is not None:
            enqueue_opening_score(session, catalog, session.get_one(User, user_id),
                                  session.get_one(ResourceLink, link_id), session.get_one(GradeTarget, target_id))
    new_course = parameters["context_key"] is not None and stored.context_pk is None
    live = None if new_course or link_written else _as_live(stored, parameters, launch, user_id)
    placement = placement_for(live.resource_link, catalog) if live is not None and catalog is not None else None
    records = (records_by_module(session, user_id, [m.id for m in placement.programme.modules])
               if placement is not None else None)
    session.commit()
    return RecordedLaunch(parameters["launch_id"], launch.message_type, launch.roles, live, records)


def purge_expired_launches(session: Session, older_than: timedelta = timedelta(days=30)) -> int:
    """Delete launch records that expired long ago; progress is kept elsewhere."""
    result = session.execute(delete(LaunchRecord).where(LaunchRecord.expires_at < utcnow() - older_than))
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
