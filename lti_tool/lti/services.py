"""Clients for the LTI Advantage services: OAuth2 tokens, AGS 2.0 and NRPS 2.0.

pylti1p3's ServiceConnector fetches a token per connector instance and ignores `expires_in`
(Canvas rate-limits tools that do that) and sets no timeouts. Here tokens are cached in the
shared store per platform and scope set until shortly before they expire, a 401 refreshes the
token once, and every call goes through the pooled session with timeouts.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests

from lti_tool.lti import claims
from lti_tool.lti.keys import SigningKey
from lti_tool.store import KeyValueStore
from lti_tool.text import MAX_SERVICE_URL, parsed_url, storable_text

TOKEN_MARGIN = 60  # seconds before expiry when a cached token is no longer used
stats = {"token_fetches": 0, "token_hits": 0}


class ServiceError(Exception):
    """A service call failed. `retry` says whether trying again later can help, `retry_after`
    how many seconds the platform asked us to wait first (its Retry-After header), if it did."""

    def __init__(self, message: str, *, status: int | None = None, retry: bool = True,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry = retry
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).

    None when there is no usable header; a date in the past means "now" (0)."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" or an obsolete zone: HTTP dates are always GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True)
class PlatformAuth:
    """What a token request to one platform needs: its client ID, token URL and assertion audience."""

    platform_id: int
    client_id: str
    token_url: str
    audience: str | None


class TokenClient:
    """OAuth2 access tokens for the platforms' services, cached per platform and scope set."""

    def __init__(self, store: KeyValueStore, http: requests.Session, signing_key: SigningKey) -> None:
        self._store = store
        self._http = http
        self._key = signing_key
        # Performance: tokens this client has already read or fetched, so a worker round (one
        # client) reads the shared store once per platform and scope set, not once per score.
        self._held: dict[str, tuple[str, float]] = {}

    @staticmethod
    def _cache_key(auth: PlatformAuth, scopes: tuple[str, ...]) -> str:
        digest = hashlib.sha256(" ".join(sorted(scopes)).encode()).hexdigest()[:16]
        return f"token:{auth.platform_id}:{digest}"

    def token(self, auth: PlatformAuth, scopes: tuple[str, ...], *, refresh: bool = False) -> str:
        """A token for `scopes` at the platform, cached until shortly before it expires.

        With `refresh`, a new one is fetched even when one is cached (the platform refused it)."""
        key = self._cache_key(auth, scopes)
        if not refresh:
            held = self._held.get(key)
            if held and held[1] - TOKEN_MARGIN > time.time():
                stats["token_hits"] += 1
                return held[0]
            cached = self._store.get(key)
            if cached and cached["expires_at"] - TOKEN_MARGIN > time.time():
                stats["token_hits"] += 1
                self._held[key] = (str(cached["access_token"]), float(cached["expires_at"]))
                return str(cached["access_token"])
        return self._fetch(auth, scopes, key)

    def _fetch(self, auth: PlatformAuth, scopes: tuple[str, ...], key: str) -> str:
        """Client credentials grant with a signed JWT assertion (Security Framework §4.1)."""
        stats["token_fetches"] += 1
        now = int(time.time())
        assertion = self._key.sign({
            "iss": auth.client_id, "sub": auth.client_id, "aud": auth.audience or auth.token_url,
            "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex,
        })
        try:
            response = self._http.post(auth.token_url, data={
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
                "scope": " ".join(scopes),
            })
        except requests.RequestException as exc:
            raise ServiceError(f"token request failed: {exc}") from exc
        if response.status_code != 200:
            # A refused token is retried too (with back-off): right after a key rotation the
            # platform may still hold our old JWKS, and it refetches on its own.
            retry = True
            raise ServiceError(f"token endpoint answered {response.status_code}: {response.text[:300]}",
                               status=response.status_code, retry=retry,
                               retry_after=retry_after_seconds(response.headers.get("Retry-After")))
        try:
            body = response.json()
            token = str(body["access_token"])
            # Kept at most a day, at least a second: Redis refuses an absurd expiry, and int() an infinite one.
            lifetime = min(max(int(body.get("expires_in", 3600)), 1), 86400)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError, OverflowError) as exc:
            raise ServiceError("token endpoint sent no access_token", retry=True) from exc
        if not (token.isascii() and token.isprintable()):  # it goes into an HTTP header as it is
            raise ServiceError("token endpoint sent an access_token that is not printable ASCII", retry=True)
        expires_at = time.time() + lifetime
        self._store.set(key, {"access_token": token, "expires_at": expires_at}, lifetime)
        self._held[key] = (token, expires_at)
        return token


class ServiceClient:
    """Authorised calls to one platform's service endpoints."""

    def __init__(self, tokens: TokenClient, http: requests.Session, auth: PlatformAuth) -> None:
        self._tokens = tokens
        self._http = http
        self._auth = auth

    def call(self, method: str, url: str, scopes: tuple[str, ...], *, accept: str,
             json_body: dict[str, Any] | None = None, content_type: str | None = None,
             params: dict[str, str] | None = None) -> requests.Response:
        """One request with a bearer token; a 401 refreshes the token and tries once more.

        Returns the platform's answer whatever its status; ServiceError when it does not answer."""
        for attempt in range(2):
            token = self._tokens.token(self._auth, scopes, refresh=attempt > 0)
            headers = {"Authorization": f"Bearer {token}", "Accept": accept}
            if content_type:
                headers["Content-Type"] = content_type
            try:
                response = self._http.request(method, url, json=json_body, headers=headers, params=params)
            except requests.Timeout as exc:
                raise ServiceError(f"{method} {url} timed out") from exc
            except requests.RequestException as exc:
                raise ServiceError(f"{method} {url} failed: {exc}") from exc
            if response.status_code != 401:
                return response
        return response  # still 401 after one refresh


def scores_url(lineitem_url: str) -> str:
    """AGS §3.4: the score service is the line item URL with /scores appended to its path."""
    parts = parsed_url(lineitem_url)
    if parts is None:  # the platform's line item URL is broken: resending will not mend it
        raise ServiceError(f"line item URL {lineitem_url!r} is not a URL", retry=False)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + "/scores", parts.query, parts.fragment))


LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
MEMBERSHIP_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?', re.IGNORECASE)


def _next_page(url: str, response: requests.Response, first_url: str, what: str) -> str | None:
    """The `Link: rel="next"` page (AGS §3.2, NRPS §2.4.2), resolved against this page, only on the
    first page's origin: each request carries our access token, which no other host may see."""
    match = _NEXT_LINK.search(response.headers.get("Link", ""))  # header names are case-insensitive
    if not match:
        return None
    try:
        following = urljoin(url, str(match.group(1)))
        same_origin = urlsplit(following)[:2] == urlsplit(first_url)[:2]
    except ValueError as exc:  # an address urllib cannot parse
        raise ServiceError(f"{what}'s next page is not a URL", retry=False) from exc
    if not same_origin:
        raise ServiceError(f"{what}'s next page {following} is on another host", retry=False)
    return following


def find_line_item(client: ServiceClient, lineitems_url: str, *, resource_id: str, resource_link_id: str,
                   max_pages: int = 50) -> str | None:
    """The link's own line item in the container: the one with both its resourceLinkId and our
    resourceId, on any page (AGS 2.0 §3.2, pages linked by `Link: rel="next"`).

    The query filters are only a hint that platforms may ignore, so every item is checked: another
    link's column with the same resourceId must never receive this link's scores.
    """
    scopes = (claims.SCOPE_LINEITEM,)
    url: str | None = lineitems_url
    params: dict[str, str] | None = {"resource_link_id": resource_link_id, "resource_id": resource_id}
    for _ in range(max_pages):
        if url is None:
            break
        response = client.call("GET", url, scopes, accept=LINEITEMS_TYPE, params=params)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            _raise_for(response, "listing line items")
        for item in _json_of(response, "listing line items") or []:
            # As text: some platforms give ids as numbers.
            if (isinstance(item, dict) and item.get("id") and str(item.get("resourceId")) == resource_id
                    and str(item.get("resourceLinkId")) == resource_link_id):
                return _line_item_url(item["id"])
        url = _next_page(url, response, lineitems_url, "the line item container")
        params = None  # the next page's URL carries its own query
    if url is not None:
        # Not found in the pages read, but there are more: creating one now could duplicate it.
        raise ServiceError(f"the line item container has more than {max_pages} pages", retry=False)
    return None


def find_or_create_line_item(client: ServiceClient, lineitems_url: str, *, resource_id: str,
                             resource_link_id: str, label: str, score_maximum: float, tag: str) -> str:
    """The line item for a link: found in the container (see find_line_item), or created there (AGS §3.2)."""
    found = find_line_item(client, lineitems_url, resource_id=resource_id, resource_link_id=resource_link_id)
    if found is not None:
        return found
    scopes = (claims.SCOPE_LINEITEM,)
    created = client.call("POST", lineitems_url, scopes, accept=LINEITEM_TYPE, content_type=LINEITEM_TYPE,
                          json_body={"label": label, "scoreMaximum": score_maximum, "resourceId": resource_id,
                                     "resourceLinkId": resource_link_id, "tag": tag})
    if created.status_code not in (200, 201):
        _raise_for(created, "creating a line item")
    item = _json_of(created, "creating a line item")
    if not isinstance(item, dict) or not item.get("id"):
        raise ServiceError("creating a line item: the answer has no id", retry=True)
    return _line_item_url(item["id"])


def _line_item_url(value: Any) -> str:
    """A line item's id (its URL), as the grade column stores it (grade_targets.lineitem_url)."""
    url = str(value)
    if len(url) > MAX_SERVICE_URL or not storable_text(url):
        raise ServiceError(f"the LMS gave a line item id that cannot be stored: {url[:100]!r}", retry=False)
    return url


def post_score(client: ServiceClient, lineitem_url: str, body: dict[str, Any]) -> requests.Response:
    """Post one score to the line item's score service (AGS §3.4); the caller reads the answer's status."""
    return client.call("POST", scores_url(lineitem_url), (claims.SCOPE_SCORE,), accept="application/json",
                       content_type=SCORE_TYPE, json_body=body)


def _json_of(response: requests.Response, doing: str) -> Any:
    """The body of an LMS answer as JSON; an answer that is not (or is nested absurdly deep) is the
    LMS's fault, retried like one, never an exception of ours."""
    try:
        return response.json()
    except (ValueError, RecursionError) as exc:
        raise ServiceError(f"{doing}: the answer is not JSON ({response.text[:100]!r})", retry=True) from exc


def _raise_for(response: requests.Response, doing: str) -> None:
    retry = response.status_code in (401, 408, 429) or response.status_code >= 500
    raise ServiceError(f"{doing}: {response.status_code} {response.text[:300]}", status=response.status_code,
                       retry=retry, retry_after=retry_after_seconds(response.headers.get("Retry-After")))


def roster(client: ServiceClient, memberships_url: str, *, max_pages: int = 100) -> list[dict[str, Any]]:
    """Every member of the context, following `Link: rel="next"` pages (NRPS 2.0 §2.4.2)."""
    members: list[dict[str, Any]] = []
    url: str | None = memberships_url
    pages = 0
    while url and pages < max_pages:
        response = client.call("GET", url, (claims.SCOPE_NRPS,), accept=MEMBERSHIP_TYPE)
        if response.status_code != 200:
            _raise_for(response, "reading the roster")
        page = _json_of(response, "reading the roster")
        if not isinstance(page, dict) or not isinstance(page.get("members", []), list):
            raise ServiceError("reading the roster: the answer is not a membership container", retry=True)
        members.extend(m for m in page.get("members", []) if isinstance(m, dict))
        url = _next_page(url, response, memberships_url, "the roster")
        pages += 1
    return members
