"""Revocation through a W3C Bitstring Status List (v1.0): one list, one bit per credential.

Each credential names its bit (`BitstringStatusListEntry`); the list itself is a credential we
serve and sign. Indices are drawn at random from a list of 131,072 bits, the size the
specification recommends, so a credential's position says nothing about when it was issued or
to whom (herd privacy). A set bit means revoked.
"""

from __future__ import annotations

import base64
import gzip
import secrets
from collections.abc import Iterable
from typing import Any

LIST_ID = 1
LIST_SIZE = 131_072  # bits: 16 KiB, the specification's minimum for herd privacy
STATUS_PURPOSE = "revocation"


def status_list_url(base_url: str, list_id: int = LIST_ID) -> str:
    """Where the status list credential is served."""
    return f"{base_url.rstrip('/')}/credentials/status/{list_id}"


def status_entry(base_url: str, index: int) -> dict[str, str]:
    """The `credentialStatus` of a credential whose bit is `index`."""
    url = status_list_url(base_url)
    return {"id": f"{url}#{index}", "type": "BitstringStatusListEntry", "statusPurpose": STATUS_PURPOSE,
            "statusListIndex": str(index), "statusListCredential": url}


def random_index(taken: set[int]) -> int:
    """A free index in the list, drawn at random."""
    if len(taken) >= LIST_SIZE:
        raise RuntimeError("the status list is full")
    while True:
        index = secrets.randbelow(LIST_SIZE)
        if index not in taken:
            return index


def encode_list(revoked: Iterable[int]) -> str:
    """The list as the specification encodes it: GZIP, then multibase base64url ("u", no padding).

    Bit 0 is the most significant bit of the first byte."""
    bits = bytearray(LIST_SIZE // 8)
    for index in revoked:
        bits[index // 8] |= 0x80 >> (index % 8)
    # mtime=0: the same list always encodes to the same text.
    packed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).decode().rstrip("=")


def bit_is_set(encoded: str, index: int) -> bool:
    """Read one bit of an encoded list (what a verifier does with the list credential)."""
    if not encoded.startswith("u"):
        raise ValueError("not multibase base64url")
    raw = encoded[1:]
    packed = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    bits = gzip.decompress(packed)
    if not 0 <= index < len(bits) * 8:
        raise ValueError("index outside the list")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(base_url: str, issuer: dict[str, Any], valid_from: str,
                           revoked: Iterable[int]) -> dict[str, Any]:
    """The BitstringStatusListCredential for our one list (signed by the caller as a VC-JWT)."""
    url = status_list_url(base_url)
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": valid_from,
        "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList",
                              "statusPurpose": STATUS_PURPOSE, "encodedList": encode_list(revoked)},
    }
