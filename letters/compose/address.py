"""How wide a line of text prints in the default letter font, to check the envelope window.

The address is set in the bundled Noto Serif; measuring with its own advance widths tells a
line of capitals ("WWW MMM ...") from a line of narrow letters of the same length.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

# The letter font ships with the layout stage; only its file is read here.
FONT = Path(__file__).parent.parent / "layout" / "assets" / "fonts" / "NotoSerif-Regular.ttf"
POINT_MM = 25.4 / 72


@cache
def _metrics() -> tuple[dict[int, int], int, int]:
    """(advance width per code point, fallback advance, units per em) of the font."""
    # fontTools comes with WeasyPrint; loading it only here keeps `letters preview` light.
    from fontTools.ttLib import TTFont

    font = TTFont(FONT, lazy=True)
    hmtx = font["hmtx"].metrics
    advances = {code: hmtx[glyph][0] for code, glyph in font.getBestCmap().items()}
    units = int(font["head"].unitsPerEm)
    return advances, advances.get(ord("M"), units), units


def text_width_mm(text: str, size_pt: float) -> float:
    advances, fallback, units = _metrics()
    total = sum(advances.get(ord(char), fallback) for char in text)
    return total / units * size_pt * POINT_MM
