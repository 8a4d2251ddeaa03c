"""LTI Deep Linking 2.0: the catalogue choice becomes a signed LtiDeepLinkingResponse (§4.2)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from lti_tool.content.model import Catalog, Module, Programme
from lti_tool.lti import claims
from lti_tool.lti.keys import SigningKey, signing_key

SCORE_MAXIMUM = 100.0
TAG = "integrationsloeft"


@dataclass(frozen=True)
class DeepLinkingSettings:
    """The platform's deep-linking settings claim (Deep Linking 2.0 §4.4.1), as the tool uses it."""

    return_url: str
    accept_types: tuple[str, ...]
    targets: tuple[str, ...]
    accept_multiple: bool
    data: str | None

    @classmethod
    def from_claim(cls, claim: dict[str, Any]) -> DeepLinkingSettings:
        """Read the settings claim; missing fields become empty, `accept_multiple` defaults to true."""
        return cls(
            return_url=str(claim.get("deep_link_return_url") or ""),
            accept_types=tuple(str(t) for t in claim.get("accept_types") or ()),
            targets=tuple(str(t) for t in claim.get("accept_presentation_document_targets") or ()),
            accept_multiple=claim.get("accept_multiple", True) is not False,
            data=str(claim["data"]) if claim.get("data") is not None else None,
        )

    @property
    def accepts_links(self) -> bool:
        """Whether the placement accepts LTI resource links, the only items the tool returns."""
        return "ltiResourceLink" in self.accept_types

    @property
    def presentation(self) -> str:
        """The document target for the links: iframe when allowed or unspecified, else the first offered."""
        return "iframe" if "iframe" in self.targets or not self.targets else self.targets[0]


def _item(url: str, title: str, text: str, custom: dict[str, str], resource_id: str, target: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "ltiResourceLink",
        "title": title,
        "text": text,
        "url": url,
        "custom": custom,
        # Without a lineItem, Moodle gives the link no gradebook column: always send one.
        "lineItem": {"scoreMaximum": SCORE_MAXIMUM, "label": title, "resourceId": resource_id, "tag": TAG},
    }
    if target in ("iframe", "window"):
        item[target] = {"width": 1000, "height": 800} if target == "iframe" else {"targetName": "_blank"}
    return item


def content_items(catalog: Catalog, choices: list[str], *, launch_url: str, target: str,
                  locale: str) -> list[dict[str, Any]]:
    """`programme:<id>` for a whole programme (one link, one grade), `module:<id>` for a module."""
    items = []
    for choice in choices:
        kind, _, ident = choice.partition(":")
        if kind == "programme" and ident in catalog.programmes:
            programme: Programme = catalog.programmes[ident]
            items.append(_item(launch_url, programme.title_in(locale), programme.summary_in(locale),
                               {"programme": programme.id}, programme.id, target))
        elif kind == "module":
            module: Module | None = catalog.module(ident)
            if module is not None:
                items.append(_item(launch_url, module.title, module.summary, {"module": module.id}, module.id, target))
    return items


def response_token(key: SigningKey, *, client_id: str, platform_issuer: str, deployment_id: str,
                   settings: DeepLinkingSettings, items: list[dict[str, Any]], message: str | None) -> str:
    """The signed response; `data` is echoed unchanged as §4.2.2 requires."""
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": client_id,
        "aud": platform_issuer,
        "iat": now,
        "exp": now + 600,
        "nonce": uuid.uuid4().hex,
        claims.DEPLOYMENT_ID: deployment_id,
        claims.MESSAGE_TYPE: claims.MSG_DEEP_LINKING_RESPONSE,
        claims.VERSION: claims.LTI_VERSION,
        claims.DL_CONTENT_ITEMS: items,
    }
    if settings.data is not None:
        body[claims.DL_DATA] = settings.data
    if message:
        body[claims.DL_MSG] = message
    return key.sign(body)


def signed_answer(session: Session, secret_key: str, catalog: Catalog, settings: DeepLinkingSettings,
                  choices: list[str], *, cancelled: bool, launch_url: str, locale: str, client_id: str,
                  platform_issuer: str, deployment_id: str, message: Callable[[int], str]) -> str:
    """The signed LtiDeepLinkingResponse for the catalogue choices (none when cancelled, or when
    the platform accepts no links; only the first when it accepts one); `message(n)` is the
    localised note for n items added."""
    if cancelled or not settings.accepts_links:
        choices = []
    if not settings.accept_multiple:
        choices = choices[:1]
    items = content_items(catalog, choices, launch_url=launch_url, target=settings.presentation, locale=locale)
    return response_token(signing_key(session, secret_key), client_id=client_id, platform_issuer=platform_issuer,
                          deployment_id=deployment_id, settings=settings, items=items, message=message(len(items)))
