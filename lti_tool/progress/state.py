"""What a link opens and where a learner stands, read from the database.

The grade outbox reads these to compute the score it sends, and the service that changes a
learner's work (progress/service.py) enqueues those scores: the reads sit here, below both, so
the two import each other in one direction only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from lti_tool.content.model import Catalog, Module, Programme
from lti_tool.models import ActivityState
from lti_tool.progress import rules

# --- what a resource link opens ------------------------------------------------------------

@dataclass(frozen=True)
class Placement:
    """The programme a link opens and the modules of it the link shows (one, or all of them)."""

    programme: Programme
    modules: tuple[Module, ...]

    @property
    def whole_programme(self) -> bool:
        """True when the link shows every module of a programme that has more than one."""
        return len(self.modules) == len(self.programme.modules) and len(self.modules) > 1

    def module(self, module_id: str) -> Module | None:
        """The module with this id among those the link shows, or None."""
        return next((m for m in self.modules if m.id == module_id), None)


class PlacedLink(Protocol):
    """What a link opens, as a ResourceLink row or a live launch's LinkRef holds it."""

    @property
    def programme_id(self) -> str | None:
        """The programme's id, or None when the link opens nothing yet."""
        ...

    @property
    def module_id(self) -> str | None:
        """The one module's id, or None when the link opens the whole programme."""
        ...


def placement_for(link: PlacedLink | None, catalog: Catalog) -> Placement | None:
    """What the link opens in the catalog; None when it opens nothing (yet) or content that is gone."""
    if link is None or not link.programme_id:
        return None
    programme = catalog.programmes.get(link.programme_id)
    if programme is None:
        return None
    if link.module_id:
        module = programme.module(link.module_id)
        return Placement(programme, (module,)) if module else None
    return Placement(programme, programme.modules)


# --- reading state -------------------------------------------------------------------------

_STATES = cast(Table, ActivityState.__table__)
# Built once, from the table's columns: compiled once, and run without the ORM's machinery.
_RECORDS = select(_STATES.c.module_id, _STATES.c.activity_id, _STATES.c.status, _STATES.c.score,
                  _STATES.c.passed, _STATES.c.attempts).where(
    _STATES.c.user_id == bindparam("user_id"), _STATES.c.module_id.in_(bindparam("module_ids", expanding=True)))


def records_by_module(session: Session, user_id: int,
                      module_ids: Sequence[str]) -> dict[str, dict[str, rules.ActivityRecord]]:
    """The learner's activity records, by module and activity.

    Performance: the columns the rules read, not ActivityState objects (every learner page
    and every launch reads them). The session still flushes pending changes first."""
    by_module: dict[str, dict[str, rules.ActivityRecord]] = {m: {} for m in module_ids}
    rows = session.execute(_RECORDS, {"user_id": user_id, "module_ids": list(module_ids)})
    for module_id, activity_id, status, score, passed, attempts in rows:
        by_module.setdefault(module_id, {})[activity_id] = rules.ActivityRecord(
            status=status, score=score, passed=passed, attempts=attempts)
    return by_module


def module_statuses(session: Session, user_id: int, modules: Sequence[Module]) -> dict[str, rules.ModuleStatus]:
    """The learner's status in each module, by module id, computed from the stored activity states."""
    records = records_by_module(session, user_id, [m.id for m in modules])
    return {m.id: rules.module_status(m, records[m.id]) for m in modules}


def activity_records(session: Session, user_id: int, module: Module) -> dict[str, rules.ActivityRecord]:
    """The learner's record of each activity in the module, by activity id."""
    return records_by_module(session, user_id, [module.id])[module.id]
