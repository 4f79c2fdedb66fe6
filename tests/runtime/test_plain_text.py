"""The text/plain forms of rich output (crucible_kernel/runtime/plain_text.py)."""

from __future__ import annotations

import struct
import zlib

import pytest

from crucible_kernel.runtime.plain_text import html_text, image_text, svg_text


def test_html_becomes_its_text_with_entities_decoded():
    assert html_text("<b>bold</b> &amp; <i>plain</i>&nbsp;text") == "bold & plain\xa0text"


def test_blocks_and_line_breaks_become_lines_and_scripts_and_styles_vanish():
    html = "<h1>Title</h1><p>First  paragraph\nwraps.</p><div>Second<br>line</div><script>x()</script><style>p{}</style>"
    assert html_text(html) == "Title\nFirst paragraph wraps.\nSecond\nline"


def test_a_table_becomes_aligned_rows():
    html = (
        "<table><tr><th>plugin</th><th>state</th></tr>"
        "<tr><td>discord-bridge</td><td>active</td></tr>"
        "<tr><td>weather</td><td><b>failed</b></td></tr></table>"
    )
    assert html_text(html) == "plugin          state\ndiscord-bridge  active\nweather         failed"


def test_a_table_among_text_keeps_its_place():
    html = "<p>Before</p><table><thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>After"
    assert html_text(html) == "Before\na\n1\nAfter"


def test_lists_are_marked_and_ordered_lists_numbered():
    html = "<ul><li>one</li><li>two<ol><li>first</li><li>second</li></ol></li></ul>"
    assert html_text(html) == "- one\n- two\n  1. first\n  2. second"


def test_pre_keeps_its_lines_and_images_their_alt_text():
    assert html_text("<pre>a  b\n  c</pre><img src='x.png' alt='a chart'>") == "a  b\n  c\n[a chart]"


@pytest.mark.parametrize("html", ["", "<div></div>", "<canvas id='c'></canvas>"])
def test_html_without_text_says_it_is_html(html):
    assert html_text(html) == "(HTML)"


def test_broken_html_still_gives_its_text():
    assert html_text("<table><tr><td>cell<td>next<p>para") == "cell  next para"
    assert html_text("<b>unclosed <i>tags") == "unclosed tags"


def test_svg_says_its_size_and_title():
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><title>Tokens &amp; time</title></svg>'
    assert svg_text(svg) == "[SVG image 120×40: Tokens & time]"
    assert svg_text("<svg height='10' width='20'/>") == "[SVG image 20×10]"
    assert svg_text("<svg/>") == "[SVG image]"


def png(width, height):
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    return (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    )


def test_images_are_described_by_type_pixels_and_bytes():
    data = png(640, 480)
    assert image_text("image/png", data) == f"[PNG image 640×480, {len(data):,} bytes]"
    gif = b"GIF89a" + struct.pack("<HH", 32, 16) + b"\x00" * 20
    assert image_text("image/gif", gif) == "[GIF image 32×16, 30 bytes]"
    jpeg = (
        b"\xff\xd8"
        + b"\xff\xe0"
        + struct.pack(">H", 4)
        + b"ab"
        + b"\xff\xc0"
        + struct.pack(">HBHH", 17, 8, 200, 300)
        + b"\x00" * 12
    )
    assert image_text("image/jpeg", jpeg) == f"[JPEG image 300×200, {len(jpeg)} bytes]"
    assert image_text("image/png", b"\x89PNG\r\n\x1a\ntruncated") == "[PNG image, 17 bytes]"
