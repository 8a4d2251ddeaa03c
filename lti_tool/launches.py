"""Recording validated launches and finding them again by the launch id carried in URLs."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Insert,
    Integer,
    Table,
    Text,
    and_,
    bindparam,
    delete,
    exists,
    insert,
    or_,
    select,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from lti_tool.content.model import Catalog
from lti_tool.errors import SessionExpired, StateMismatch
from lti_tool.grading.outbox import enqueue_opening_score
from lti_tool.lti.launch import Launch, LaunchInput, LaunchValidator, claim_text
from lti_tool.lti.login import LoginRedirect, begin_login
from lti_tool.lti.platform_keys import PlatformKeys
from lti_tool.lti.roles import is_enrolled_learner
from lti_tool.lti.toolconf import DatabaseToolConf
from lti_tool.models import Context, GradeTarget, LaunchRecord, ResourceLink, ScoreMessage, User, utcnow
from lti_tool.platforms import ToolInfo
from lti_tool.progress.service import bind_from_custom
from lti_tool.store import KeyValueStore
from lti_tool.tokens import same_token


@dataclass(frozen=True)
class _Written:
    """What a launch's claims write into its user, course, link and grade-column rows: derived
    once, for the upserts and for the known-launch shortcut that checks the rows still hold it."""

    name: str | None
    email: str | None
    locale: str
    context_label: str | None
    context_title: str | None
    link_title: str | None
    custom: dict[str, str]  # keys sorted: one stored text for one set of parameters
    lineitem: str | None  # None: the claim is absent, and the stored one stays
    lineitems: str | None
    scopes: list[str]

    @property
    def target_label(self) -> str:
        return (self.link_title or "Integrationsløft")[:255]


def _written(launch: Launch) -> _Written:
    ags = launch.ags
    return _Written(
        name=launch.name, email=launch.email, locale=launch.locale,
        context_label=claim_text(launch.context.get("label"), 255),
        context_title=claim_text(launch.context.get("title"), 512),
        link_title=claim_text(launch.resource_link.get("title"), 512),
        custom=dict(sorted(launch.custom.items())),
        lineitem=str(ags["lineitem"]) if ags.get("lineitem") else None,
        lineitems=str(ags["lineitems"]) if ags.get("lineitems") else None,
        scopes=[str(s) for s in ags.get("scope") or []],
    )


def _upsert_user(session: Session, launch: Launch, written: _Written, now: datetime) -> User:
    user = session.scalars(
        select(User).where(User.platform_id == launch.platform_id, User.sub == launch.sub)
    ).first()
    if user is None:
        user = User(platform_id=launch.platform_id, sub=launch.sub, created_at=now)
        session.add(user)
    # Keep only what the platform chose to send this time (data minimisation).
    user.name = written.name
    user.email = written.email
    user.locale = written.locale
    user.last_seen_at = now
    return user


def _upsert_context(session: Session, launch: Launch, written: _Written) -> Context | None:
    context_id = launch.context.get("id")
    if not context_id:
        return None
    context = session.scalars(
        select(Context).where(
            Context.deployment_id == launch.deployment_pk, Context.context_id == str(context_id)
        )
    ).first()
    if context is None:
        context = Context(deployment_id=launch.deployment_pk, context_id=str(context_id))
        session.add(context)
    context.label = written.context_label
    context.title = written.context_title
    return context


def _upsert_resource_link(
    session: Session, launch: Launch, written: _Written, context: Context | None, catalog: Catalog | None
) -> ResourceLink | None:
    link_id = launch.resource_link.get("id")
    if not link_id or context is None:
        return None
    link = None
    if context.id is not None:
        link = session.scalars(
            select(ResourceLink).where(
                ResourceLink.context_id == context.id,
                ResourceLink.resource_link_id == str(link_id),
            )
        ).first()
    if link is None:
        link = ResourceLink(resource_link_id=str(link_id), custom={})
        link.context_id = context.id
        session.add(link)
    link.title = written.link_title
    custom = written.custom
    # The platform's custom parameters (set by deep linking) place the link when it is new, when
    # they change, or while it opens nothing; a placement an instructor picked by hand stays until
    # then. So an unchanged launch writes nothing here, and the known-launch shortcut (which
    # skips this) and the full path give every learner the same placement.
    rebind = link.id is None or link.custom != custom or not link.programme_id
    if link.custom != custom or list(link.custom or {}) != list(custom):
        link.custom = custom
        flag_modified(link, "custom")  # also for a new key order alone: the shortcut compares the text
    if rebind and catalog is not None:
        bind_from_custom(link, catalog)
    return link


def _upsert_grade_target(session: Session, launch: Launch, written: _Written,
                         link: ResourceLink) -> GradeTarget | None:
    """Remember the link's AGS endpoints (AGS 2.0 §3.1: lineitem only when one is coupled)."""
    if not (written.lineitem or written.lineitems):
        return None
    target = session.scalars(select(GradeTarget).where(GradeTarget.resource_link_id == link.id)).first()
    if target is None:
        target = GradeTarget(resource_link_id=link.id, platform_id=launch.platform_id, score_maximum=100.0)
        session.add(target)
    before = (target.lineitem_url, target.lineitems_url, target.scopes, target.label)
    if written.lineitem:
        target.lineitem_url = written.lineitem
    target.lineitems_url = written.lineitems or target.lineitems_url
    target.scopes = written.scopes
    target.label = written.target_label
    # Performance: stamp the row only when the endpoints changed. Stamping it on every launch
    # made each learner's launch UPDATE (and row-lock until commit) this one row per link,
    # which serialised a class launching at once; nothing reads the time of an unchanged row.
    if target.id is None or (target.lineitem_url, target.lineitems_url, target.scopes, target.label) != before:
        target.updated_at = utcnow()
    return target


@dataclass(frozen=True)
class PendingStorageCheck:
    """A validated launch waiting for the browser to prove, via platform storage, its state."""

    pending_id: str
    state: str
    storage_target: str
    platform_origin: str

    TTL = 120

    @classmethod
    def park(cls, store: KeyValueStore, launch: Launch, state: str) -> PendingStorageCheck:
        pending_id = secrets.token_urlsafe(24)
        store.set("pending-launch:" + pending_id, {"claims": launch.claims, "platform_id": launch.platform_id,
                                                   "deployment_pk": launch.deployment_pk, "state": state}, cls.TTL)
        return cls(pending_id, state, launch.storage_target or "_parent", launch.platform_origin or "*")


def complete_storage_check(session: Session, store: KeyValueStore, pending_id: str, value: str, *,
                           lifetime: int, catalog: Catalog | None) -> RecordedLaunch:
    """Record a parked launch once the page read the same state back from the platform (no commit)."""
    parked = store.pop("pending-launch:" + pending_id) if pending_id else None
    if parked is None:
        raise SessionExpired("parked launch unknown, expired or already completed", reason="storage_check_expired")
    if not same_token(str(value), str(parked["state"])):
        raise StateMismatch("platform storage did not hold this launch's state", reason="storage_state_mismatch")
    launch = Launch(claims=parked["claims"], platform_id=parked["platform_id"], deployment_pk=parked["deployment_pk"])
    return record_launch_retrying(session, store, launch, lifetime, catalog)


# Performance: a returning learner, through the same link, with the same name, course, custom
# parameters and grade column, changes nothing the upserts below would write. Such a launch is
# recognised by a digest of exactly those claims, kept in the shared store with the row ids it
# led to, and costs one INSERT instead of ten statements. The INSERT checks that the rows still
# exist and still hold what these claims would write: an erasure, a removed deployment, or
# another launch that changed a shared row in between (a link's custom parameters changed and
# changed back, a name changed and changed back) sends the launch down the full path. The entry
# lives an hour, which is also how stale `users.last_seen_at` may become.
KNOWN_LAUNCH_TTL = 3600
_LAUNCHES = cast(Table, LaunchRecord.__table__)


def _known_launch_key(launch: Launch, catalog: Catalog | None) -> str:
    ags = launch.ags
    written = [
        launch.platform_id, launch.deployment_pk, launch.sub, launch.name, launch.email, launch.locale,
        launch.context.get("id"), launch.context.get("label"), launch.context.get("title"),
        launch.resource_link.get("id"), launch.resource_link.get("title"), launch.custom,
        ags.get("lineitem"), ags.get("lineitems"), ags.get("scope"),
        # an opening score is due only to enrolled learners, and the binding follows the content
        is_enrolled_learner(launch.roles), catalog.digest if catalog is not None else "",
    ]
    digest = hashlib.sha256(json.dumps(written, sort_keys=True, default=str).encode()).hexdigest()
    return "known-launch:" + digest


@dataclass(frozen=True)
class _KnownRows:
    user_id: int
    context_id: int | None
    resource_link_id: int | None
    grade_target_id: int | None


def _launch_values(launch: Launch, rows: _KnownRows, lifetime: int, now: datetime) -> dict[str, Any]:
    return {
        "id": secrets.token_urlsafe(32),
        "deployment_id": launch.deployment_pk,
        "user_id": rows.user_id,
        "context_id": rows.context_id,
        "resource_link_id": rows.resource_link_id,
        "message_type": launch.message_type,
        "roles": launch.roles,
        "locale": launch.locale,
        "claims": launch.service_claims(),
        "created_at": now,
        "expires_at": now + timedelta(seconds=lifetime),
    }


@functools.cache
def _insert_if_rows_unchanged_statement() -> Insert:
    """INSERT … SELECT … WHERE the user (not erased since), course, link and grade column still
    exist and hold what the upserts would write for these claims (see _write_launch_rows).

    Built once, with bound parameters, so SQLAlchemy compiles it once (a statement built from
    literals is compiled again on every launch)."""
    table = _LAUNCHES
    columns = [c.name for c in table.columns]
    params = {name: bindparam(name, type_=table.c[name].type) for name in columns}

    def same(column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
        return column.is_not_distinct_from(bindparam(name, type_=Text))

    def same_json(column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
        # As text: PostgreSQL's json type has no equality; both sides are json.dumps of the value.
        return sql_cast(column, Text) == bindparam(name, type_=Text)

    users, contexts, links, targets, scores = (cast(Table, model.__table__)
                                               for model in (User, Context, ResourceLink, GradeTarget, ScoreMessage))
    target_id = bindparam("grade_target_id", type_=Integer)
    lineitem, lineitems = bindparam("lineitem", type_=Text), bindparam("lineitems", type_=Text)
    user = exists().where(users.c.id == params["user_id"], same(users.c.sub, "sub"), same(users.c.name, "name"),
                          same(users.c.email, "email"), same(users.c.locale, "locale"))
    context = exists().where(contexts.c.id == params["context_id"], same(contexts.c.label, "context_label"),
                             same(contexts.c.title, "context_title"))
    link = exists().where(links.c.id == params["resource_link_id"], same(links.c.title, "link_title"),
                          same_json(links.c.custom, "custom"), links.c.programme_id.is_not(None))
    target = exists().where(targets.c.id == target_id, or_(lineitem.is_(None), targets.c.lineitem_url == lineitem),
                            or_(lineitems.is_(None), targets.c.lineitems_url == lineitems),
                            same_json(targets.c.scopes, "scopes"), same(targets.c.label, "target_label"))
    # A link placed by an instructor after the learner's last launch owes them an opening score.
    opening_score = exists().where(scores.c.grade_target_id == target_id, scores.c.user_id == params["user_id"])
    unchanged: list[ColumnElement[bool]] = [
        user, or_(params["context_id"].is_(None), context), or_(params["resource_link_id"].is_(None), link),
        or_(target_id.is_(None), and_(target, or_(bindparam("opening_score_due", type_=Boolean).is_(False),
                                                  opening_score)))]
    source = select(*[params[name].label(name) for name in columns]).where(and_(*unchanged))
    # RETURNING, not rowcount: psycopg reports -1 rows for an INSERT … SELECT.
    return insert(table).from_select(columns, source).returning(table.c.id)


def _insert_if_rows_unchanged(session: Session, values: dict[str, Any], rows: _KnownRows, launch: Launch,
                              catalog: Catalog | None) -> bool:
    written = _written(launch)
    parameters = {
        **values, "grade_target_id": rows.grade_target_id, "sub": launch.sub,
        "name": written.name, "email": written.email, "locale": written.locale,
        "context_label": written.context_label, "context_title": written.context_title,
        "link_title": written.link_title, "custom": json.dumps(written.custom),
        "lineitem": written.lineitem, "lineitems": written.lineitems, "scopes": json.dumps(written.scopes),
        "target_label": written.target_label,
        # the full path queues an opening score for an enrolled learner of a placed, graded link
        "opening_score_due": catalog is not None and is_enrolled_learner(launch.roles),
    }
    return session.execute(_insert_if_rows_unchanged_statement(), parameters).first() is not None


@dataclass(frozen=True)
class RecordedLaunch:
    """What the landing needs of a launch just recorded; its pages read it with find_launch."""

    id: str
    message_type: str
    roles: list[str]
    # The known-launch entry the full path wrote rows for, to remember once they are committed.
    to_remember: tuple[str, dict[str, Any]] | None = None


def commit_launch(session: Session, store: KeyValueStore, recorded: RecordedLaunch) -> None:
    """Commit a recorded launch, then remember its rows for the next launch with the same claims.

    Only after the commit: an entry for rows that were rolled back would let later launches skip
    the upserts (a new name, the opening score) for as long as it lives."""
    session.commit()
    if recorded.to_remember is not None:
        key, rows = recorded.to_remember
        store.set(key, rows, KNOWN_LAUNCH_TTL)


def _as_record(values: dict[str, Any], to_remember: tuple[str, dict[str, Any]] | None = None) -> RecordedLaunch:
    return RecordedLaunch(values["id"], values["message_type"], values["roles"], to_remember)


def record_launch(session: Session, store: KeyValueStore, launch: Launch, lifetime: int,
                  catalog: Catalog | None) -> RecordedLaunch:
    """Store the user, course, link and the launch itself; return the launch with its new id.

    The caller commits, with commit_launch. Performance: the first page is read in the same
    transaction, so a launch costs one BEGIN and one COMMIT."""
    now = utcnow()
    known_key = _known_launch_key(launch, catalog)
    known = store.get(known_key)
    if known is not None:
        rows = _KnownRows(**known)
        values = _launch_values(launch, rows, lifetime, now)
        if _insert_if_rows_unchanged(session, values, rows, launch, catalog):
            return _as_record(values)
        session.rollback()
    rows = _write_launch_rows(session, launch, now, catalog)
    values = _launch_values(launch, rows, lifetime, now)
    session.execute(insert(_LAUNCHES).values(values))
    return _as_record(values, (known_key, asdict(rows)))


def _write_launch_rows(session: Session, launch: Launch, now: datetime, catalog: Catalog | None) -> _KnownRows:
    """Upsert the user, course, link and grade column of a launch (no commit)."""
    written = _written(launch)
    user = _upsert_user(session, launch, written, now)
    context = _upsert_context(session, launch, written)
    session.flush()
    link = _upsert_resource_link(session, launch, written, context, catalog)
    session.flush()
    target = None
    if link is not None:
        target = _upsert_grade_target(session, launch, written, link)
        if target is not None and catalog is not None and is_enrolled_learner(launch.roles):
            session.flush()
            enqueue_opening_score(session, catalog, user, link, target)
    session.flush()
    return _KnownRows(user_id=user.id, context_id=context.id if context else None,
                      resource_link_id=link.id if link else None,
                      grade_target_id=target.id if target else None)


def purge_expired_launches(session: Session, older_than: timedelta = timedelta(days=30)) -> int:
    """Delete launch records that expired long ago; progress is kept elsewhere."""
    result = session.execute(delete(LaunchRecord).where(LaunchRecord.expires_at < utcnow() - older_than))
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def accept_launch(
    session: Session,
    data: LaunchInput,
    *,
    store: KeyValueStore,
    platform_keys: PlatformKeys,
    settings: Mapping[str, Any],
    catalog: Catalog | None = None,
) -> RecordedLaunch | PendingStorageCheck:
    """Validate a launch POST and record it (the caller commits); raises a named ToolError when it is refused.

    Without the state cookie (a framed page whose browser blocks third-party cookies), a login
    that used platform storage yields a PendingStorageCheck: the page must read the state back
    from the platform before the launch is recorded."""
    signing = None  # the launch itself needs no tool key
    validator = LaunchValidator(
        DatabaseToolConf(session, signing, store),
        store,
        platform_keys,
        leeway=int(settings["JWT_LEEWAY"]),
        max_token_bytes=int(settings["MAX_ID_TOKEN_BYTES"]),
        state_lifetime=int(settings["LOGIN_STATE_LIFETIME"]),
    )
    launch = validator.validate(data)
    if not launch.bound_by_cookie:
        return PendingStorageCheck.park(store, launch, str(data.state))
    return record_launch_retrying(session, store, launch, int(settings["LAUNCH_LIFETIME"]), catalog)


RECORD_ATTEMPTS = 4


def record_launch_retrying(session: Session, store: KeyValueStore, launch: Launch, lifetime: int,
                           catalog: Catalog | None) -> RecordedLaunch:
    """record_launch, tried again when concurrent first launches inserted a row first."""
    for attempt in range(RECORD_ATTEMPTS):
        try:
            return record_launch(session, store, launch, lifetime, catalog)
        except IntegrityError:
            # First launches of one course (or one learner) at once: another inserted a row
            # between our read and our insert. Read again; the launch itself was already
            # validated. A class launching a new link can collide on the user, then the course,
            # then the link: one try for each.
            session.rollback()
            if attempt == RECORD_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def start_login(
    session: Session, params: dict[str, str], *, store: KeyValueStore, base_url: str, state_lifetime: int,
) -> LoginRedirect:
    """Answer an OIDC login initiation with the redirect to the platform."""
    info = ToolInfo(base_url)
    return begin_login(
        params,
        DatabaseToolConf(session, None, store),
        store,
        redirect_uri=info.launch_url,
        tool_base_url=base_url,
        state_lifetime=state_lifetime,
    )


def form_token(secret_key: str, launch_id: str) -> str:
    """The CSRF token for forms of one launch: framed pages cannot rely on a session cookie."""
    return hmac.new(secret_key.encode(), b"launch-csrf:" + launch_id.encode(), hashlib.sha256).hexdigest()
