"""Badge images with the credential baked in, and reading them back, as OB 3.0 bakes them.

- PNG: an `iTXt` chunk with the keyword `openbadgecredential` holding the VC-JWT, before IEND.
- SVG: an `<openbadges:credential>` element (namespace https://purl.imsglobal.org/ob/v3p0) right
  inside the root, holding the VC-JWT as text.

Reading treats every image as hostile: the size is capped by the caller, PNG chunks are walked
by their lengths with CRCs checked and nothing decompressed beyond a cap, and SVG is parsed by
defusedxml (no DTDs, entities or external references).
"""

from __future__ import annotations

import struct
import zlib
from html import escape
from xml.etree.ElementTree import Element  # noqa: S405 - only the type; parsing is defusedxml's

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

OB_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
PNG_KEYWORD = b"openbadgecredential"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_CREDENTIAL_CHARS = 64 * 1024


class BadImage(ValueError):
    """The image is not a PNG or SVG we can read, or holds no Open Badges 3.0 credential."""


# --- baking -------------------------------------------------------------------------------------

def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bake_png(png: bytes, credential: str) -> bytes:
    """`png` with an iTXt `openbadgecredential` chunk carrying `credential`, placed before IEND."""
    if not png.startswith(PNG_SIGNATURE) or png[-12:-8] != b"\x00\x00\x00\x00" or png[-8:-4] != b"IEND":
        raise BadImage("not a PNG ending in IEND")
    # iTXt: keyword, NUL, compression flag 0, method 0, empty language tag, NUL, empty translated keyword, NUL, text.
    itxt = PNG_KEYWORD + b"\x00\x00\x00" + b"\x00" + b"\x00" + credential.encode("utf-8")
    return png[:-12] + _chunk(b"iTXt", itxt) + png[-12:]


def badge_png(size: int = 128) -> bytes:
    """A plain badge picture (a ring in the tool's colour) as PNG, drawn without an image library."""
    centre, outer, inner = (size - 1) / 2, size / 2 - 2, size / 2 - 14
    teal, white = b"\x0b\x55\x63\xff", b"\xff\xff\xff\x00"
    rows = []
    for y in range(size):
        row = bytearray(b"\x00")  # filter type: none
        for x in range(size):
            distance = ((x - centre) ** 2 + (y - centre) ** 2) ** 0.5
            row += teal if inner <= distance <= outer or distance <= inner - 10 else white
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
            + _chunk(b"IEND", b""))


def badge_svg(title: str, subtitle: str, credential: str) -> str:
    """A badge as SVG with `credential` baked in (`<openbadges:credential>`)."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="{OB_NAMESPACE}" viewBox="0 0 240 240" '
        f'width="240" height="240" role="img" aria-labelledby="badge-title">'
        f"<openbadges:credential><![CDATA[{credential}]]></openbadges:credential>"
        f'<title id="badge-title">{escape(title)}</title>'
        '<circle cx="120" cy="120" r="112" fill="#0b5563"/>'
        '<circle cx="120" cy="120" r="96" fill="none" stroke="#ffffff" stroke-width="4"/>'
        f'<text x="120" y="112" text-anchor="middle" font-family="sans-serif" font-size="15" fill="#ffffff">'
        f"{escape(title[:28])}</text>"
        f'<text x="120" y="140" text-anchor="middle" font-family="sans-serif" font-size="12" fill="#ffffff">'
        f"{escape(subtitle[:34])}</text></svg>"
    )


# --- reading ------------------------------------------------------------------------------------

def extract(data: bytes) -> str:
    """The credential baked into a PNG or SVG image; BadImage when there is none or it is broken."""
    if data.startswith(PNG_SIGNATURE):
        return _from_png(data)
    head = data[:512].lstrip()
    if head.startswith(b"<?xml") or head.startswith(b"<svg") or head.startswith(b"<!--"):
        return _from_svg(data)
    raise BadImage("neither PNG nor SVG")


def _from_png(data: bytes) -> str:
    position = len(PNG_SIGNATURE)
    while position + 12 <= len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind = data[position + 4:position + 8]
        end = position + 8 + length
        if length > len(data) or end + 4 > len(data):
            raise BadImage("a PNG chunk runs past the end of the file")
        body = data[position + 8:end]
        (crc,) = struct.unpack(">I", data[end:end + 4])
        if zlib.crc32(kind + body) != crc:
            raise BadImage("a PNG chunk's checksum is wrong")
        if kind == b"iTXt" and body.startswith(PNG_KEYWORD + b"\x00"):
            return _itxt_text(body[len(PNG_KEYWORD) + 1:])
        if kind == b"IEND":
            break
        position = end + 4
    raise BadImage("no openbadgecredential chunk in the PNG")


def _itxt_text(rest: bytes) -> str:
    if len(rest) < 2:
        raise BadImage("a truncated iTXt chunk")
    compressed, _method = rest[0], rest[1]
    # Skip the language tag and the translated keyword (two NUL-terminated fields).
    parts = rest[2:].split(b"\x00", 2)
    if len(parts) != 3:
        raise BadImage("a malformed iTXt chunk")
    text = parts[2]
    if compressed:
        inflater = zlib.decompressobj()
        try:
            text = inflater.decompress(text, MAX_CREDENTIAL_CHARS + 1)
        except zlib.error as exc:
            raise BadImage("the iTXt text does not decompress") from exc
    if len(text) > MAX_CREDENTIAL_CHARS:
        raise BadImage("the baked credential is too long")
    try:
        return text.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise BadImage("the baked credential is not UTF-8") from exc


def _from_svg(data: bytes) -> str:
    try:
        root: Element = fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise BadImage("the SVG does not parse safely") from exc
    found = root.find(f"{{{OB_NAMESPACE}}}credential")
    if found is None:
        raise BadImage("no openbadges:credential element in the SVG")
    text = (found.text or "").strip() or found.get("verify", "").strip()
    if not text or len(text) > MAX_CREDENTIAL_CHARS:
        raise BadImage("the SVG's credential is empty or too long")
    return text
