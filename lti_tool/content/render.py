"""Markdown to safe HTML: CommonMark with tables, raw HTML escaped, then sanitised by nh3."""

from __future__ import annotations

import posixpath
from urllib.parse import quote

import nh3
from markdown_it import MarkdownIt

from lti_tool.text import parsed_url

_markdown = MarkdownIt("commonmark", {"html": False, "typographer": True}).enable(["table", "strikethrough"])

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td", "caption",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align", "scope"},
    "td": {"align"},
    "ol": {"start"},
}


def _rewrite_media(url: str, media_base: str) -> str:
    """Relative links inside a pack point at the tool's media route; others stay as they are."""
    parsed = parsed_url(url)
    if parsed is None:  # a broken address in a content file links nowhere, rather than break the page
        return "#"
    if parsed.scheme or parsed.netloc or url.startswith(("#", "/")):
        return url
    clean = posixpath.normpath(parsed.path)
    if clean.startswith("..") or clean.startswith("/"):
        return "#"
    return media_base.rstrip("/") + "/" + quote(clean)


def render_markdown(text: str, media_base: str = "") -> str:
    """Render a course designer's Markdown to HTML that is safe to show to learners."""
    tokens = _markdown.parse(text or "")
    for token in tokens:
        for child in token.children or ():
            if child.type == "link_open" and media_base:
                child.attrSet("href", _rewrite_media(str(child.attrGet("href") or ""), media_base))
            if child.type == "image" and media_base:
                child.attrSet("src", _rewrite_media(str(child.attrGet("src") or ""), media_base))
    html = _markdown.renderer.render(tokens, _markdown.options, {})
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
    # A table too wide for a phone scrolls in its own region (words in cells never break), not the
    # page. Added after sanitising: raw HTML is escaped, so every <table> here is Markdown's own.
    return clean.replace("<table>", '<div class="table-scroll"><table>').replace("</table>", "</table></div>")


def render_inline(text: str, media_base: str = "") -> str:
    """One line of Markdown (quiz options, labels, hints) without a wrapping paragraph; relative
    links point at the pack's media route as in `render_markdown` (a hint may link a template)."""
    tokens = _markdown.parseInline(text or "")
    for token in tokens:
        for child in token.children or ():
            if child.type == "link_open" and media_base:
                child.attrSet("href", _rewrite_media(str(child.attrGet("href") or ""), media_base))
    html = _markdown.renderer.render(tokens, _markdown.options, {})
    return nh3.clean(html, tags={"strong", "em", "code", "a", "del"}, attributes={"a": {"href"}},
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")
