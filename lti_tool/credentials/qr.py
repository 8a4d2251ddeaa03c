"""QR codes as inline SVG (segno: pure Python, no image library, nothing fetched)."""

from __future__ import annotations

import segno


def qr_svg(text: str) -> str:
    """`text` as a QR code in an <svg> element to put in a page as it is.

    The SVG is decorative (aria-hidden): the page prints the same address as text beside it."""
    code = segno.make(text, error="m")
    svg = code.svg_inline(scale=4, border=2, svgclass="qr-code", omitsize=True)
    return svg.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1)
