"""Checks that bytes are a real PNG of a sane size (standard library + matplotlib's decoder)."""

from __future__ import annotations

import io
import struct

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_BYTES = 150 * 1024


def png_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` from the IHDR chunk, after checking the signature."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    assert data[12:16] == b"IHDR", "PNG without IHDR first"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def assert_sane_png(data: bytes) -> None:
    """A decodable PNG, about 800x600, small enough for a quick Discord upload."""
    width, height = png_size(data)
    assert (width, height) == (800, 600)
    assert 2_000 < len(data) <= MAX_BYTES
    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(data), format="png")
    assert pixels.shape[:2] == (height, width)
