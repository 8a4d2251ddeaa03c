"""The organisation that issues certificates and credentials, as the settings name it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Issuer:
    """The consortium running the tool: printed on certificates, the `Profile` of a credential."""

    name: str
    url: str
    address: str


def issuer_from(settings: Mapping[str, Any]) -> Issuer:
    """The issuer from ISSUER_NAME / ISSUER_URL / ISSUER_ADDRESS; the URL defaults to the tool's own."""
    base_url = str(settings["TOOL_BASE_URL"]).rstrip("/")
    return Issuer(name=str(settings.get("ISSUER_NAME") or settings.get("TOOL_NAME") or ""),
                  url=str(settings.get("ISSUER_URL") or base_url),
                  address=str(settings.get("ISSUER_ADDRESS") or ""))
