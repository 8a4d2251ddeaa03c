"""The tool's icon: at /favicon.ico, where browsers look by name, and linked from every page."""

from __future__ import annotations

import re
import struct


def test_favicon_answers_with_a_cached_icon(agent):
    response = agent.get("/favicon.ico", allow_redirects=False)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/vnd.microsoft.icon"
    # An ICO directory with one 32×32 image, a PNG inside (every current browser reads these).
    reserved, kind, count = struct.unpack("<HHH", response.content[:6])
    assert (reserved, kind, count) == (0, 1, 1)
    width, height = response.content[6], response.content[7]
    size, offset = struct.unpack("<II", response.content[14:22])
    assert (width, height) == (32, 32)
    assert response.content[offset:offset + 8] == b"\x89PNG\r\n\x1a\n" and offset + size == len(response.content)
    cache = response.headers["Cache-Control"]
    assert "public" in cache
    assert int(re.search(r"max-age=(\d+)", cache).group(1)) >= 7 * 24 * 3600


def test_pages_link_the_icon(agent):
    page = agent.get("/no/such/page")  # any page from base.html; the error page needs no launch
    links = re.findall(r'<link rel="icon" href="([^"]+)"', page.text)
    assert "/favicon.ico" in links
    svg = next(href for href in links if href.endswith(".svg"))
    answer = agent.get(svg)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("image/svg+xml")
