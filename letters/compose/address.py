"""The recipient's address block and the envelope window it must fit: one rule, used when
planning a build, when importing a spreadsheet and (through the letter) by the layout.

The address is set in the bundled Noto Serif; measuring with its own advance widths tells a
line of capitals ("WWW MMM ...") from a line of narrow letters of the same length.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

# What fits the envelope window: DIN 5008 form B gives 6 address lines below the
# return-address zone; a #10 window (7/8 in tall) holds 5 at 10 pt.
MAX_ADDRESS_LINES = {"a4": 6, "letter": 5}
# The default layout's address block: its width and font size (layout/assets/letter.css).
ADDRESS_WIDTH_MM = {"a4": 80.0, "letter": 3.6 * 25.4}
ADDRESS_SIZE_PT = 10.0

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


def recipient_lines(recipient: Any) -> tuple[str, ...]:
    """Name line, title, organisation, then postal lines: what goes in the envelope window."""
    get = recipient.get if isinstance(recipient, dict) else lambda k, d="": getattr(recipient, k, d)
    name = " ".join(part for part in (get("honorific", ""), get("name", "")) if part)
    lines = [name, get("title", ""), get("organisation", ""), *get("address", ())]
    return tuple(str(line) for line in lines if line)


@dataclass(frozen=True)
class WindowProblem:
    """Why an address block does not fit the window, and which field to blame.

    `field` is ("address",) when there are too many lines, else the path of the line that
    is too wide: ("name",), ("title",), ("organisation",) or ("address", index).
    """

    field: tuple[str | int, ...]
    value: str = ""
    width_mm: float = 0.0  # for a line too wide
    lines: int = 0  # for too many lines


def window_problems(recipient: Any, paper: str) -> list[WindowProblem]:
    """Every way the recipient's address block breaks the window rule for `paper`."""
    problems: list[WindowProblem] = []
    count = len(recipient_lines(recipient))
    if count > MAX_ADDRESS_LINES[paper]:
        problems.append(WindowProblem(("address",), lines=count))
    name_line = " ".join(part for part in (recipient.honorific, recipient.name) if part)
    candidates: list[tuple[tuple[str | int, ...], str]] = [
        (("name",), name_line),
        (("title",), recipient.title),
        (("organisation",), recipient.organisation),
        *((("address", index), line) for index, line in enumerate(recipient.address)),
    ]
    for field, value in candidates:
        width = line_too_wide(value, paper)
        if width:
            problems.append(WindowProblem(field, value, width_mm=width))
    return problems


def too_many_lines_message(lines: int, paper: str) -> str:
    limit = MAX_ADDRESS_LINES[paper]
    return (
        f"the address has {lines} lines, but the "
        f"{'A4' if paper == 'a4' else 'US Letter'} envelope window holds {limit} "
        "(name, title, organisation and address lines together)"
    )


def too_wide_message(value: str, width_mm: float, paper: str) -> str:
    return (
        f"address line {value!r} prints {width_mm:.0f} mm wide, "
        f"wider than the envelope window ({ADDRESS_WIDTH_MM[paper]:.0f} mm)"
    )


def line_too_wide(text: str, paper: str) -> float:
    """The printed width in mm of an address line too wide for the window, else 0."""
    width = text_width_mm(text, ADDRESS_SIZE_PT)
    return width if width > ADDRESS_WIDTH_MM[paper] else 0.0
