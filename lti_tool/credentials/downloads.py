"""What the learner's pages do with credentials: issue one for this launch's learner, and hand
it out as JSON, as the VC-JWT, or as a badge image with the credential baked in."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from lti_tool.content.model import Catalog, Module, Programme
from lti_tool.credentials import baking
from lti_tool.credentials.service import (
    CredentialNotFound,
    Settings,
    credential_json,
    current_credential,
    issue_credential,
)
from lti_tool.errors import NotFound
from lti_tool.launch.live import LiveLaunch
from lti_tool.models import IssuedCredential

FORMATS = ("json", "jwt", "svg", "png")


@dataclass(frozen=True)
class Download:
    """A file to send: its bytes, media type and name."""

    body: bytes
    mimetype: str
    filename: str


def _achievement(catalog: Catalog, programme_id: str, module_id: str | None) -> tuple[Programme, Module | None]:
    programme = catalog.programmes.get(programme_id)
    if programme is None:
        raise NotFound(f"programme {programme_id!r}")
    if module_id is None:
        return programme, None
    module = programme.module(module_id)
    if module is None:
        raise NotFound(f"module {module_id!r} not in {programme_id!r}")
    return programme, module


def issue_for_launch(session: Session, catalog: Catalog, launch: LiveLaunch, settings: Mapping[str, Any], *,
                     programme_id: str, module_id: str | None, holder_name: str, confirmed: bool) -> IssuedCredential:
    """Issue the launch's learner a credential for a completed programme (or module)."""
    if module_id is not None and not settings.get("CREDENTIALS_PER_MODULE"):
        raise NotFound("credentials per module are off")
    programme, module = _achievement(catalog, programme_id, module_id)
    return issue_credential(session, Settings.of(settings), user_id=launch.user_id, programme=programme,
                            module=module, language=launch.locale, holder_name=holder_name, confirmed=confirmed)


def download(session: Session, launch: LiveLaunch, *, programme_id: str, module_id: str | None,
             fmt: str) -> Download:
    """The launch's learner's credential in `fmt` (json, jwt, svg or png)."""
    record = current_credential(session, launch.user_id, programme_id, module_id)
    if record is None or record.jwt is None or fmt not in FORMATS:
        raise CredentialNotFound(f"{programme_id}/{module_id} as {fmt}")
    stem = "-".join(part for part in ("open-badge", programme_id, module_id) if part)
    if fmt == "json":
        body = json.dumps(credential_json(record), ensure_ascii=False, indent=2).encode()
        return Download(body, "application/json", f"{stem}.json")
    if fmt == "jwt":
        return Download(record.jwt.encode(), "application/vc+jwt", f"{stem}.jwt")
    if fmt == "svg":
        svg = baking.badge_svg(record.achievement_name, record.holder_name or "", record.jwt)
        return Download(svg.encode(), "image/svg+xml", f"{stem}.svg")
    return Download(baking.bake_png(baking.badge_png(), record.jwt), "image/png", f"{stem}.png")
