"""Read a QR code the way a phone does, from the SVG the platform serves.

The SVG (segno) draws dark modules as horizontal runs on a path: `M x y`
starts, `h n` draws n modules, `m dx dy` moves. The runs are painted into a
grayscale raster (8 pixels a module) and handed to zxing-cpp, an independent
decoder, so a test checks what a UPI app would read, not what we meant to write.
"""

from __future__ import annotations

import base64
import re

import zxingcpp

PIXELS = 8


def svg_modules(svg: str) -> tuple[int, set[tuple[int, int]]]:
    size = int(re.search(r'width="(\d+)"', svg).group(1)) // 4  # type: ignore[union-attr]
    path = re.search(r'class="qrline"[^>]*d="([^"]+)"', svg)
    assert path, "no QR path in the SVG"
    dark: set[tuple[int, int]] = set()
    x = y = 0.0
    for command, args in re.findall(r"([MmHhVv])([^MmHhVv]*)", path.group(1)):
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", args)]
        if command == "M":
            x, y = numbers[0], numbers[1]
        elif command == "m":
            x, y = x + numbers[0], y + numbers[1]
        elif command == "h":
            for column in range(int(x), int(x + numbers[0])):
                dark.add((column, int(y)))
            x += numbers[0]
        else:
            raise AssertionError(f"unexpected SVG path command {command}")
    return size, dark


def decode_svg(svg: str) -> list[str]:
    size, dark = svg_modules(svg)
    width = size * PIXELS
    pixels = bytearray(b"\xff" * width * width)
    for column, row in dark:
        for dy in range(PIXELS):
            start = (row * PIXELS + dy) * width + column * PIXELS
            pixels[start:start + PIXELS] = b"\x00" * PIXELS
    image = memoryview(bytes(pixels)).cast("B", (width, width))
    return [code.text for code in zxingcpp.read_barcodes(image)]


def decode_data_uri(uri: str) -> list[str]:
    prefix = "data:image/svg+xml;base64,"
    assert uri.startswith(prefix), uri[:40]
    return decode_svg(base64.b64decode(uri[len(prefix):]).decode())


def decode_pdf(pdf: bytes) -> list[str]:
    """What a phone reads from the QR codes of a PDF's pages (their images)."""
    import io

    from pypdf import PdfReader

    found: list[str] = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for picture in page.images:
            found += [code.text for code in zxingcpp.read_barcodes(picture.image)]
    return found
