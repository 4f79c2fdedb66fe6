"""Draw the kernel's logos (logo-32x32.png, logo-64x64.png) from the shapes of logo-svg.svg.

Run once after changing the design: python kernel/make_logos.py. Pure stdlib: a small
supersampling rasterizer writing PNG with zlib.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAVY, WHITE, ORANGE, CLEAR = (0, 0, 128, 255), (255, 255, 255, 255), (255, 140, 26, 255), (0, 0, 0, 0)
CRUCIBLE = [(17, 21), (47, 21), (42, 47), (22, 47)]  # the vessel, in 64-unit coordinates


def inside_polygon(x: float, y: float, poly: list[tuple[float, float]]) -> bool:
    hit = False
    for (x1, y1), (x2, y2) in zip(poly, poly[1:] + poly[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def colour_at(x: float, y: float) -> tuple[int, int, int, int]:
    if (x - 32) ** 2 + (y - 32) ** 2 > 30**2:
        return CLEAR
    if ((x - 32) / 13) ** 2 + ((y - 22.5) / 3.5) ** 2 <= 1:
        return ORANGE
    if inside_polygon(x, y, CRUCIBLE):
        return WHITE
    return NAVY


def render(size: int, samples: int = 4) -> bytes:
    scale = 64 / size
    rows = []
    for py in range(size):
        row = bytearray([0])  # filter type: none
        for px in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(samples):
                for sx in range(samples):
                    c = colour_at((px + (sx + 0.5) / samples) * scale, (py + (sy + 0.5) / samples) * scale)
                    for i in range(3):
                        acc[i] += c[i] * c[3]
                    acc[3] += c[3]
            alpha = acc[3] / samples**2
            rgb = [round(acc[i] / acc[3]) if acc[3] else 0 for i in range(3)]
            row += bytes([*rgb, round(alpha)])
        rows.append(bytes(row))
    return png(size, size, b"".join(rows))


def png(width: int, height: int, raw: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(
        b"IEND", b""
    )


if __name__ == "__main__":
    for size in (32, 64):
        (HERE / f"logo-{size}x{size}.png").write_bytes(render(size))
