"""The text/plain forms of rich output, for frontends that show no HTML or images.

A terminal (`jupyter console`), nbconvert's text exporters and a notebook viewed as text show an
output's text/plain. `<HTML>` tells them nothing, so:

- HTML becomes its text: paragraphs, headings, list items and line breaks on lines of their own,
  a table as aligned columns (one row a line), scripts and styles dropped, entities decoded;
- an image is described by its type, size in pixels (read from its header) and bytes;
- an SVG image by its size and title.

Pure functions of their input, with nothing but the standard library (html.parser, struct).
"""

from __future__ import annotations

import re
import struct
from html import unescape
from html.parser import HTMLParser

__all__ = ["html_text", "image_text", "svg_text"]

MAX_TEXT = 100_000  # characters of HTML text kept (a huge page is cut, with a mark)

_BLOCK = frozenset(
    {
        *("address", "article", "aside", "blockquote", "body", "caption", "dd", "details", "div", "dl"),
        *("dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6"),
        *("header", "hr", "html", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table"),
        *("tbody", "thead", "tfoot", "ul"),
    }
)
_SKIP = frozenset({"script", "style", "head", "template"})
_SPACES = re.compile(r"[ \t\r\n\f]+")


class _Text(HTMLParser):
    """Collects the text of an HTML fragment as lines, with tables laid out as columns."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line: list[str] = []
        self.skip = 0
        self.pre = 0
        self.tables: list[list[list[str]]] = []  # open tables: rows of cells
        self.cell: list[str] | None = None
        self.items: list[int] = []  # open lists: the next number (0 for an unordered list)
        self.mark = ""  # what starts the current line: a list item's indent and mark

    # the text being written: a table cell's, or the current line's
    def _out(self) -> list[str]:
        return self.cell if self.cell is not None else self.line

    def _break(self) -> None:
        text = "".join(self.line)
        text = text.rstrip() if self.pre else _SPACES.sub(" ", text).strip()
        if text or self.mark:
            self.lines.append(self.mark + text)
        self.line = []
        self.mark = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
            return
        if tag == "br":
            if self.cell is not None:
                self.cell.append(" ")
            else:
                self._break()
            return
        if tag in ("td", "th") and self.tables:
            self._end_cell()
            self.cell = []
            return
        if tag == "tr" and self.tables:
            self._end_cell()
            self.tables[-1].append([])
            return
        if tag == "table":
            self._break()
            self.tables.append([])
            return
        if tag in ("ul", "ol"):
            self._break()
            self.items.append(1 if tag == "ol" else 0)
            return
        if tag == "li":
            self._break()
            mark = "-"
            if self.items and self.items[-1]:
                mark = f"{self.items[-1]}."
                self.items[-1] += 1
            self.mark = f"{'  ' * max(0, len(self.items) - 1)}{mark} "
            return
        if tag == "pre":
            self._break()
            self.pre += 1
            return
        if tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self._out().append(f"[{alt}]")
            return
        if tag in _BLOCK:
            if self.cell is not None:
                self.cell.append(" ")
            else:
                self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if tag in ("td", "th"):
            self._end_cell()
            return
        if tag == "table" and self.tables:
            self._end_cell()
            rows = [r for r in self.tables.pop() if r]
            self._break()
            self.lines.extend(_columns(rows))
            return
        if tag in ("ul", "ol") and self.items:
            self.items.pop()
        if tag in _BLOCK and self.cell is None:
            self._break()
        if tag == "pre":
            self.pre = max(0, self.pre - 1)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre and self.cell is None:
            parts = data.split("\n")
            self.line.append(parts[0])
            for part in parts[1:]:
                self.lines.append("".join(self.line).rstrip())
                self.line = [part]
            return
        self._out().append(data)

    def _end_cell(self) -> None:
        if self.cell is None:
            return
        text = _SPACES.sub(" ", "".join(self.cell)).strip()
        self.cell = None
        if not self.tables:
            return
        rows = self.tables[-1]
        if not rows:
            rows.append([])
        rows[-1].append(text)

    def text(self) -> str:
        self._end_cell()
        while self.tables:
            self.lines.extend(_columns([r for r in self.tables.pop() if r]))
        self._break()
        return "\n".join(self.lines)


def _columns(rows: list[list[str]]) -> list[str]:
    """Rows of cells as lines with the columns aligned (two spaces between columns)."""
    if not rows:
        return []
    width = max(len(r) for r in rows)
    sizes = [max((len(r[i]) for r in rows if i < len(r)), default=0) for i in range(width)]
    lines = []
    for row in rows:
        cells = [cell.ljust(sizes[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return lines


def html_text(html: str) -> str:
    """The text a reader sees in `html`; `(HTML)` when it has none (an empty div, a canvas)."""
    parser = _Text()
    try:
        parser.feed(html[: MAX_TEXT * 4])
        parser.close()
        text = parser.text()
    except Exception:  # html.parser copes with nearly anything; a plain fallback otherwise
        text = _SPACES.sub(" ", unescape(re.sub(r"<[^>]*>", " ", html))).strip()
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + "\n[...]"
    return text or "(HTML)"


_SVG_TAG = re.compile(r"<svg\b[^>]*>", re.S)
_ATTRIBUTE = r"\b{}\s*=\s*[\"']([^\"']+)[\"']"
_SVG_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.S | re.I)


def svg_text(svg: str) -> str:
    """`SVG image 120×40: <its title>`, with what of size and title the SVG states."""
    tag = _SVG_TAG.search(svg[:4096])
    width = re.search(_ATTRIBUTE.format("width"), tag.group()) if tag else None
    height = re.search(_ATTRIBUTE.format("height"), tag.group()) if tag else None
    size = f" {width.group(1)}×{height.group(1)}" if width and height else ""
    title = _SVG_TITLE.search(svg)
    caption = _SPACES.sub(" ", unescape(re.sub(r"<[^>]*>", "", title.group(1)))).strip() if title else ""
    return f"[SVG image{size}{': ' + caption if caption else ''}]"


_NAMES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF"}


def image_text(mime: str, data: bytes) -> str:
    """`[PNG image 640×480, 12,345 bytes]`: the type, the size read from the header, the bytes."""
    size = _pixels(mime, data)
    dims = f" {size[0]}×{size[1]}" if size else ""
    return f"[{_NAMES.get(mime, mime)} image{dims}, {len(data):,} bytes]"


def _pixels(mime: str, data: bytes) -> tuple[int, int] | None:
    try:
        if mime == "image/png" and data[12:16] == b"IHDR":
            return struct.unpack(">II", data[16:24])
        if mime == "image/gif" and len(data) >= 10:
            return struct.unpack("<HH", data[6:10])
        if mime == "image/jpeg":
            return _jpeg_pixels(data)
    except struct.error:
        return None
    return None


def _jpeg_pixels(data: bytes) -> tuple[int, int] | None:
    """The size in a JPEG's start-of-frame segment, found by walking the segments."""
    i = 2
    n = len(data)
    while i + 9 < n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None
