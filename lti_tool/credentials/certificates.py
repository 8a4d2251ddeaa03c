"""The course certificate as printed and as checked by anyone holding its verification code.

The public check shows only what the paper already shows a reader: the holder's name, the
programme and the date. The code has 60 random bits and the page is rate-limited, so codes cannot
be harvested by guessing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from babel.numbers import format_decimal
from sqlalchemy.orm import Session

from lti_tool.content.model import Catalog, Programme
from lti_tool.credentials.issuer import Issuer, issuer_from
from lti_tool.credentials.qr import qr_svg
from lti_tool.credentials.service import current_credential
from lti_tool.launch.live import LiveLaunch
from lti_tool.models import Certificate, IssuedCredential
from lti_tool.progress import learning, rules
from lti_tool.progress.service import find_certificate

# What new_certificate_code makes, after find_certificate's normalising: XXXX-XXXX-XXXX.
_CODE_SHAPE = re.compile(r"^[A-Z2-9]{4}-?[A-Z2-9]{4}-?[A-Z2-9]{4}$")


class MalformedCode(ValueError):
    """What was given cannot be a verification code (a typo, or someone probing): a 400."""


@dataclass(frozen=True)
class PublicCertificate:
    """All the public verification page tells about a certificate."""

    holder_name: str | None
    programme_title: str
    issued_at: datetime


@dataclass(frozen=True)
class CertificatePage:
    """The learner's certificate page: the certificate (or how far they are) and how to check it."""

    programme: Programme
    certificate: Certificate | None
    status: rules.ProgrammeStatus
    issuer: Issuer
    hours: float | None
    hours_text: str
    verify_url: str
    qr_svg: str
    # The Open Badges 3.0 credential for the programme, once the learner asked for it.
    credential: IssuedCredential | None
    # What the name field offers before the learner confirms it (the LMS may send no name).
    suggested_name: str


def verification_url(base_url: str, code: str) -> str:
    """The public address that checks `code` (printed and in the QR code)."""
    return f"{base_url.rstrip('/')}/verify/{code}"


def certificate_page(session: Session, catalog: Catalog, launch: LiveLaunch, programme_id: str,
                     settings: Mapping[str, Any]) -> CertificatePage:
    """The learner's certificate (issued on first view once the programme is complete), its issuer,
    hours, verification address and QR code."""
    view = learning.certificate_page(session, catalog, launch, programme_id)
    issued: Certificate | None = view.certificate
    hours = issued.study_minutes / 60 if issued is not None and issued.study_minutes else None
    url = verification_url(str(settings["TOOL_BASE_URL"]), issued.code) if issued is not None else ""
    return CertificatePage(
        programme=view.programme, certificate=issued, status=view.status, issuer=issuer_from(settings),
        hours=hours,
        hours_text=format_decimal(round(hours, 1), locale=launch.locale) if hours else "",
        verify_url=url, qr_svg=qr_svg(url) if url else "",
        credential=current_credential(session, launch.user_id, programme_id) if issued is not None else None,
        suggested_name=(issued.holder_name if issued is not None else None) or launch.user_name or "")


def check_code(session: Session, code: str) -> PublicCertificate | None:
    """The public facts of the certificate with `code`; None when there is none.

    Raises MalformedCode for text that cannot be a code, before any query."""
    if len(code) > 32 or not _CODE_SHAPE.match(code.strip().upper().replace(" ", "")):
        raise MalformedCode(code[:32])
    found = find_certificate(session, code)
    if found is None:
        return None
    return PublicCertificate(holder_name=found.holder_name, programme_title=found.programme_title,
                             issued_at=found.issued_at)


@dataclass(frozen=True)
class ModulePage:
    """A module's page, and its credential when credentials per module are on."""

    overview: learning.ModuleOverview
    offers_credential: bool
    credential: IssuedCredential | None
    suggested_name: str


def module_page(session: Session, catalog: Catalog, launch: LiveLaunch, module_id: str,
                settings: Mapping[str, Any]) -> ModulePage:
    """The module the launch's link opens, with its credential once completed (CREDENTIALS_PER_MODULE)."""
    _, module = learning.reachable_module(catalog, launch, module_id)
    overview = learning.module_overview(session, launch.user_id, module)
    offers = bool(settings.get("CREDENTIALS_PER_MODULE")) and overview.status.state == rules.ModuleState.COMPLETED
    credential = current_credential(session, launch.user_id, module.programme_id, module.id) if offers else None
    return ModulePage(overview, offers, credential, launch.user_name or "")
