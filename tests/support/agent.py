"""A browser-like HTTP agent: keeps cookies as Chromium does, follows redirects and submits
auto-submit forms, across the two sites of the tests (the tool on 127.0.0.1, the LMS on localhost)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from http.cookiejar import Cookie, DefaultCookiePolicy
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests
from requests.cookies import RequestsCookieJar

LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def site_of(url: str) -> str:
    """The site of an address for cookies: scheme and host (the tests' hosts have no registrable
    domain: 127.0.0.1 and localhost are two sites, as Chromium counts them)."""
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.hostname}"


class BrowserCookiePolicy(DefaultCookiePolicy):
    """What Chromium sends: `Secure` cookies over https and over http on loopback (a secure
    context), and on a cross-site POST only `SameSite=None` cookies (a missing SameSite is Lax)."""

    def __init__(self) -> None:
        super().__init__()
        self.cross_site = False

    def return_ok_secure(self, cookie: Cookie, request: Any) -> bool:
        if cookie.secure and request.type not in ("https", "wss"):
            return urlparse(request.get_full_url()).hostname in LOOPBACK
        return True

    def return_ok(self, cookie: Cookie, request: Any) -> bool:
        if not super().return_ok(cookie, request):
            return False
        if self.cross_site:
            samesite = cookie.get_nonstandard_attr("SameSite") or cookie.get_nonstandard_attr("samesite") or "Lax"
            return str(samesite).lower() == "none" and cookie.secure
        return True

FORM = re.compile(r'<form[^>]*method="post"[^>]*action="([^"]+)"[^>]*data-autosubmit[^>]*>(.*?)</form>', re.S)
FIELD = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


class BrowserSession(requests.Session):
    """requests copies the session's cookies into a jar of its own, with the default policy, for
    every request and redirect: give that jar the browser's policy."""

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        prepared = super().prepare_request(request)
        jar = RequestsCookieJar()
        jar.set_policy(self.cookies.get_policy())
        jar.update(prepared._cookies)  # type: ignore[attr-defined]
        prepared.headers.pop("Cookie", None)
        prepared._cookies = jar  # type: ignore[attr-defined]
        prepared.prepare_cookies(jar)
        return prepared


def text_of(page: str) -> str:
    """The visible text of a page, whitespace collapsed, for assertions."""
    page = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))).strip()


def landing_url(response: requests.Response) -> str:
    """Where a launch POST brought the browser: a learner's first page answers the POST itself
    (its Content-Location), staff pages follow a 303."""
    if response.status_code == 303:
        return response.headers["Location"]
    assert response.status_code == 200, (response.status_code, text_of(response.text))
    return response.headers["Content-Location"]


def autosubmit_form(page: str) -> tuple[str, dict[str, str]] | None:
    match = FORM.search(page)
    if not match:
        return None
    fields = {html.unescape(k): html.unescape(v) for k, v in FIELD.findall(match.group(2))}
    return html.unescape(match.group(1)), fields


@dataclass
class LoginStep:
    """Where the tool's login sent the browser: the platform's authorization request."""

    auth_url: str
    params: dict[str, str]

    @property
    def state(self) -> str:
        return self.params["state"]

    @property
    def nonce(self) -> str:
        return self.params["nonce"]


class Agent:
    """One browser: the tool's paths go to `base_url`, the demo LMS's (/demo-lms/…) to `lms_url`."""

    def __init__(self, base_url: str, lms_url: str = "") -> None:
        self.base_url = base_url
        self.lms_url = lms_url or base_url
        self.http = BrowserSession()
        self.cookies = BrowserCookiePolicy()
        self.http.cookies.set_policy(self.cookies)

    def url(self, path: str) -> str:
        if path.startswith("http"):
            return path
        return (self.lms_url if path.startswith("/demo-lms") else self.base_url) + path

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return self.http.get(self.url(path), timeout=30, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, data: dict[str, str] | None = None, *, initiator: str | None = None,
             **kwargs: object) -> requests.Response:
        """POST a form; `initiator` is the page that holds it: from another site, as a browser does,
        only SameSite=None cookies go with it."""
        url = self.url(path)
        self.cookies.cross_site = initiator is not None and site_of(initiator) != site_of(url)
        try:
            response = self.http.post(url, data=data, timeout=30, **kwargs)  # type: ignore[arg-type]
        finally:
            self.cookies.cross_site = False
        return self.as_address_bar_shows(response)

    def as_address_bar_shows(self, response: requests.Response) -> requests.Response:
        """A page that names its own address (a learner's launch answers with the first page)
        is where static/js/frame.js puts the browser: `response.url` becomes that address."""
        own = re.search(r'<body[^>]*data-canonical-url="([^"]+)"', response.text) if response.ok else None
        if own:
            assert response.headers.get("Content-Location") == html.unescape(own.group(1))
            response.url = self.url(html.unescape(own.group(1)))
        return response

    def follow_forms(self, response: requests.Response, limit: int = 5) -> requests.Response:
        for _ in range(limit):
            form = autosubmit_form(response.text) if response.ok else None
            if form is None:
                return response
            response = self.post(form[0], form[1], initiator=response.url)
        return response

    def sign_in(self, user_id: str) -> None:
        response = self.post("/demo-lms/sign-in", {"user_id": user_id})
        assert response.ok, response.text

    def launch(self, user_id: str, course_id: str, link_id: str | None = None, *,
               deep_link: bool = False, target: str = "iframe") -> requests.Response:
        """The whole LTI flow from the demo LMS, as a browser goes through it."""
        self.sign_in(user_id)
        params = {"target": target}
        if link_id:
            params["link_id"] = link_id
        if deep_link:
            params["deep_link"] = "1"
        response = self.get(f"/demo-lms/courses/{course_id}/initiate", params=params)
        return self.follow_forms(response)

    def start_login(self, params: dict[str, str]) -> LoginStep:
        """Send a login initiation to the tool and stop at its redirect to the platform."""
        response = self.get("/lti/login", params=params, allow_redirects=False)
        assert response.status_code == 302, (response.status_code, text_of(response.text))
        location = response.headers["Location"]
        parsed = urlparse(location)
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        return LoginStep(auth_url=f"{parsed.scheme}://{parsed.netloc}{parsed.path}", params=query)

    def post_launch(self, id_token: str, state: str, *, follow: bool = False) -> requests.Response:
        # The platform's page posts the id_token: a cross-site POST, as from a real LMS.
        return self.post("/lti/launch", {"id_token": id_token, "state": state}, allow_redirects=follow,
                         initiator=self.lms_url)
