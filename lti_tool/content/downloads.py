"""Templates to take home: each pack's `downloads/*.md` built into an editable ODT and a tagged PDF.

A source is Markdown with a YAML front matter (`title`, `module`). It is built into the module's
`media/downloads/` folder, where the pages link it (`[…](media/downloads/<name>.odt)`) and the
media route serves it. Both files are accessible: the document language and title are set, the
headings are real headings (ODT heading styles with outline levels; PDF structure elements H1–H3),
and the PDF is tagged (StructTreeRoot, MarkInfo) because Chromium prints it from semantic HTML with
`tagged=True`. Nothing here is committed as a binary: `make downloads` builds them.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from odf import dc, meta
from odf.opendocument import OpenDocumentText
from odf.style import (
    DefaultStyle,
    ParagraphProperties,
    Style,
    TableCellProperties,
    TableColumnProperties,
    TableProperties,
    TextProperties,
)
from odf.table import Table, TableCell, TableColumn, TableHeaderRows, TableRow
from odf.text import H, List, ListItem, P, Span

SOURCE_FOLDER = "downloads"
OUTPUT_FOLDER = Path("media") / "downloads"
FORMATS = (".odt", ".pdf")
# Country per content language, for the ODT's default paragraph style (fo:country).
COUNTRIES = {"da": "DK", "sv": "SE", "en": "GB"}
CHECKBOX = "☐ "

_markdown = MarkdownIt("commonmark", {"html": False, "typographer": True}).enable(["table"])


class DownloadError(ValueError):
    """A download's source cannot be built: which file and why."""


@dataclass(frozen=True)
class Download:
    """One template: its source, the module whose media folder holds it, and its metadata."""

    source: Path
    programme_folder: Path
    module: str
    title: str
    language: str
    body: str

    @property
    def name(self) -> str:
        """The template's file name without suffix; the built files share it."""
        return self.source.stem

    @property
    def folder(self) -> Path:
        """Where its built files go: the module's media/downloads folder."""
        return self.programme_folder / self.module / OUTPUT_FOLDER

    def output(self, suffix: str) -> Path:
        """The built file with `suffix` (.odt or .pdf)."""
        return self.folder / f"{self.name}{suffix}"

    @property
    def link(self) -> str:
        """How a page of the module links the file, without its suffix."""
        return f"{OUTPUT_FOLDER.as_posix()}/{self.name}"


def read_download(source: Path) -> Download:
    """A source file: front matter (title, module) and Markdown body; the language is the pack's."""
    text = source.read_text(encoding="utf-8")
    if not text.startswith("---\n") or "\n---\n" not in text[4:]:
        raise DownloadError(f"{source}: starts with a '---' front matter block (title, module)")
    head, body = text[4:].split("\n---\n", 1)
    front = yaml.safe_load(head) or {}
    programme_folder = source.parent.parent
    programme = yaml.safe_load((programme_folder / "programme.yaml").read_text(encoding="utf-8")) or {}
    title, module = front.get("title"), front.get("module")
    if not isinstance(title, str) or not isinstance(module, str):
        raise DownloadError(f"{source}: the front matter needs 'title' and 'module'")
    if not (programme_folder / module / "module.yaml").is_file():
        raise DownloadError(f"{source}: module {module!r} has no folder in {programme_folder.name}")
    return Download(source=source, programme_folder=programme_folder, module=module, title=title,
                    language=str(programme.get("language", "da")), body=body)


def find_downloads(content_dir: str | Path) -> list[Download]:
    """Every pack's download sources under `content_dir`, in a stable order."""
    return [read_download(p) for p in sorted(Path(content_dir).glob(f"*/{SOURCE_FOLDER}/*.md"))]


# --- HTML (printed to a tagged PDF by Chromium) ---

_PRINT_CSS = """
@page { size: A4; margin: 18mm 16mm; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 10.5pt; line-height: 1.4;
       color: #111; }
h1 { font-size: 17pt; margin: 0 0 8pt; }
h2 { font-size: 13pt; margin: 14pt 0 4pt; page-break-after: avoid; }
h3 { font-size: 11pt; margin: 10pt 0 3pt; page-break-after: avoid; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0 8pt; table-layout: fixed; }
th, td { border: 1px solid #555; padding: 4pt 5pt; text-align: left; vertical-align: top; }
th { background: #e8e8e8; }
td:empty::after { content: "\\00a0"; }
tr { page-break-inside: avoid; }
td:empty { height: 2.2em; }
li { margin: 2pt 0; }
ul.checklist { list-style: none; padding-left: 0.4em; }
"""


def _checkbox_items(rendered: str) -> str:
    """`- [ ] text` items become a checklist with an empty box a person ticks on paper."""
    return rendered.replace("<li>[ ] ", f"<li>{CHECKBOX}").replace("<li>\n<p>[ ] ", f"<li>\n<p>{CHECKBOX}")


def to_html(download: Download) -> str:
    """The whole template as an HTML document: language, title, one h1, then the body's headings."""
    body = _checkbox_items(_markdown.render(download.body))
    body = body.replace(f"<ul>\n<li>{CHECKBOX}", f'<ul class="checklist">\n<li>{CHECKBOX}')
    return (f'<!doctype html><html lang="{download.language}"><head><meta charset="utf-8">'
            f"<title>{html.escape(download.title)}</title><style>{_PRINT_CSS}</style></head>"
            f"<body><main><h1>{html.escape(download.title)}</h1>{body}</main></body></html>")


# --- ODT ---

@dataclass
class _OdtStyles:
    headings: dict[int, Style]
    bold: Style
    italic: Style
    table: Style
    column: Style
    cell: Style
    body: Style


def _odt_styles(doc: OpenDocumentText, language: str) -> _OdtStyles:
    """The document's default language and the named styles: real "Heading 1–3" with outline levels."""
    country = COUNTRIES.get(language, "")
    default = DefaultStyle(family="paragraph")
    default.addElement(TextProperties(language=language, country=country, fontname="Liberation Sans",
                                      fontsize="11pt"))
    doc.styles.addElement(default)
    body = Style(name="Text_20_body", displayname="Text body", family="paragraph")
    body.addElement(ParagraphProperties(margintop="0cm", marginbottom="0.2cm"))
    doc.styles.addElement(body)
    heading = Style(name="Heading", family="paragraph", parentstylename="Text_20_body", nextstylename="Text_20_body")
    heading.addElement(ParagraphProperties(margintop="0.4cm", marginbottom="0.2cm", keepwithnext="always"))
    heading.addElement(TextProperties(fontweight="bold"))
    doc.styles.addElement(heading)
    headings = {}
    for level, size in ((1, "17pt"), (2, "13pt"), (3, "11.5pt")):
        style = Style(name=f"Heading_20_{level}", displayname=f"Heading {level}", family="paragraph",
                      parentstylename="Heading", nextstylename="Text_20_body", defaultoutlinelevel=str(level))
        style.addElement(TextProperties(fontsize=size, fontweight="bold"))
        doc.styles.addElement(style)
        headings[level] = style
    bold = Style(name="Strong_20_Emphasis", displayname="Strong Emphasis", family="text")
    bold.addElement(TextProperties(fontweight="bold"))
    italic = Style(name="Emphasis", family="text")
    italic.addElement(TextProperties(fontstyle="italic"))
    doc.styles.addElement(bold)
    doc.styles.addElement(italic)
    table = Style(name="Grid", family="table")
    table.addElement(TableProperties(width="17cm", align="left"))
    column = Style(name="GridColumn", family="table-column")
    column.addElement(TableColumnProperties(useoptimalcolumnwidth="true"))
    cell = Style(name="GridCell", family="table-cell")
    cell.addElement(TableCellProperties(border="0.5pt solid #555555", padding="0.1cm"))
    for automatic in (table, column, cell):
        doc.automaticstyles.addElement(automatic)
    return _OdtStyles(headings, bold, italic, table, column, cell, body)


def _inline(parent: Any, token: Token, styles: _OdtStyles) -> None:
    """An inline token's text into `parent`, with bold and italic spans."""
    stack: list[Any] = [parent]
    for child in token.children or ():
        if child.type in ("strong_open", "em_open"):
            span = Span(stylename=styles.bold if child.type == "strong_open" else styles.italic)
            stack[-1].addElement(span)
            stack.append(span)
        elif child.type in ("strong_close", "em_close") and len(stack) > 1:
            stack.pop()
        elif child.type in ("text", "code_inline"):
            stack[-1].addText(child.content.replace("[ ] ", CHECKBOX, 1) if child.content.startswith("[ ] ")
                              else child.content)
        elif child.type in ("softbreak", "hardbreak"):
            stack[-1].addText(" ")


def _blocks(tokens: list[Token]) -> Iterator[tuple[str, int, list[Token]]]:
    """Top-level blocks: (kind, heading level, their tokens from open to close)."""
    index = 0
    while index < len(tokens):
        token = tokens[index]
        depth, end = 0, index
        for end in range(index, len(tokens)):
            depth += tokens[end].nesting
            if depth == 0:
                break
        level = int(token.tag[1]) if token.type == "heading_open" else 0
        yield token.type.removesuffix("_open"), level, tokens[index:end + 1]
        index = end + 1


def _odt_table(tokens: list[Token], styles: _OdtStyles) -> Table:
    rows: list[tuple[bool, list[Token | None]]] = []
    in_head = False
    for token in tokens:
        if token.type in ("thead_open", "thead_close"):
            in_head = token.type == "thead_open"
        elif token.type == "tr_open":
            rows.append((in_head, []))
        elif token.type == "inline" and rows:
            rows[-1][1].append(token)
    width = max((len(cells) for _, cells in rows), default=1)
    table = Table(stylename=styles.table)
    table.addElement(TableColumn(numbercolumnsrepeated=width, stylename=styles.column))
    head = TableHeaderRows()
    if any(is_head for is_head, _ in rows):
        table.addElement(head)
    for is_head, cells in rows:
        row = TableRow()
        for cell_token in cells:
            cell = TableCell(stylename=styles.cell, valuetype="string")
            paragraph = P(stylename=styles.body)
            if cell_token is not None:
                if is_head:
                    span = Span(stylename=styles.bold)
                    _inline(span, cell_token, styles)
                    paragraph.addElement(span)
                else:
                    _inline(paragraph, cell_token, styles)
            cell.addElement(paragraph)
            row.addElement(cell)
        (head if is_head else table).addElement(row)
    return table


def _odt_list(tokens: list[Token], styles: _OdtStyles) -> List:
    outer = List()
    for token in tokens:
        if token.type == "list_item_open":
            item = ListItem()
            outer.addElement(item)
        elif token.type == "inline":
            paragraph = P(stylename=styles.body)
            _inline(paragraph, token, styles)
            item.addElement(paragraph)
    return outer


def to_odt(download: Download) -> OpenDocumentText:
    """The template as an OpenDocument text: title and language in its metadata, headings styled."""
    doc = OpenDocumentText()
    doc.meta.addElement(dc.Title(text=download.title))
    doc.meta.addElement(dc.Language(text=f"{download.language}-{COUNTRIES.get(download.language, '')}".rstrip("-")))
    doc.meta.addElement(meta.Generator(text="Integrationsløft make downloads"))
    styles = _odt_styles(doc, download.language)
    doc.text.addElement(H(outlinelevel=1, stylename=styles.headings[1], text=download.title))
    for kind, level, tokens in _blocks(_markdown.parse(download.body)):
        if kind == "heading":
            level = min(level, 3)
            heading = H(outlinelevel=level, stylename=styles.headings[level])
            _inline(heading, tokens[1], styles)
            doc.text.addElement(heading)
        elif kind == "paragraph":
            paragraph = P(stylename=styles.body)
            _inline(paragraph, tokens[1], styles)
            doc.text.addElement(paragraph)
        elif kind in ("bullet_list", "ordered_list"):
            doc.text.addElement(_odt_list(tokens, styles))
        elif kind == "table":
            doc.text.addElement(_odt_table(tokens, styles))
        elif kind == "blockquote":
            for token in tokens:
                if token.type == "inline":
                    paragraph = P(stylename=styles.body)
                    _inline(paragraph, token, styles)
                    doc.text.addElement(paragraph)
    return doc


# --- building ---

def build_odt(download: Download) -> Path:
    """Write the ODT next to the module's pages; returns its path."""
    download.folder.mkdir(parents=True, exist_ok=True)
    target = download.output(".odt")
    to_odt(download).save(str(target))
    return target


def build_pdfs(downloads: Iterable[Download], chromium: str) -> list[Path]:
    """Print each template's HTML to a tagged PDF with the Chromium at `chromium`; returns the paths.

    In a thread of its own: Playwright's sync API refuses a thread whose asyncio loop is running (a
    caller that itself drives a browser, as the browser tests do), and a new thread has none."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_print_pdfs, list(downloads), chromium).result()


def _print_pdfs(downloads: list[Download], chromium: str) -> list[Path]:
    # Imported here, not at the top: Playwright is a build and test dependency, and the tool that
    # serves the files (and imports this package) never needs it.
    from playwright.sync_api import sync_playwright

    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            for download in downloads:
                download.folder.mkdir(parents=True, exist_ok=True)
                page.set_content(to_html(download), wait_until="load")
                target = download.output(".pdf")
                page.pdf(path=str(target), format="A4", tagged=True, outline=True, print_background=True)
                written.append(target)
        finally:
            browser.close()
    return written


def build_all(content_dir: str | Path, chromium: str) -> list[Path]:
    """Build every pack's downloads (ODT and PDF); returns the files written."""
    downloads = find_downloads(content_dir)
    written = [build_odt(d) for d in downloads]
    return written + build_pdfs(downloads, chromium)
