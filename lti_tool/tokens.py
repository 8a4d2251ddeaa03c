"""Secrets from requests (CSRF tokens, states, bearer tokens) compared in constant time.

`hmac.compare_digest` raises TypeError for a str with characters outside ASCII, and anyone can
send those: compared as UTF-8 bytes, they are simply not equal.
"""

from __future__ import annotations

import hmac


def same_token(sent: str, expected: str) -> bool:
    """True when `sent` is `expected`, in time that does not depend on where they differ."""
    return hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))
