"""The recipient's address block and the envelope window it must fit: one rule, used when
planning a build, when importing a spreadsheet and by the layout, which prints the lines
this module wraps (so the lines counted are the lines printed).

The window's size is declared once, as CSS custom properties in the letter stylesheet
(`--window-a4-width` and the like): the layout uses them and this module reads them from
the stylesheet in use, a campaign's own `templates/letter.css` included. A line too wide
for the window wraps inside it (at spaces, then after hyphens and commas); a block too tall
is set smaller, down to 8 pt (DIN 5008's minimum); only a block that does not fit even then
is a problem. The address is set in the bundled Noto Serif; measuring with its own advance
widths tells a line of capitals from a line of narrow letters of the same length.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from letters.compose.postal import origin_country, postal_lines
from letters.errors import LettersError
from letters.fileio import Confined

# The default layout's stylesheet, where the window is declared (read here as data).
DEFAULT_STYLESHEET = Path(__file__).parent.parent / "layout" / "assets" / "letter.css"
CAMPAIGN_STYLESHEET = "templates/letter.css"

# The advance widths of the letter font (which ships with the layout stage).
WIDTHS = Path(__file__).parent / "letter_font_widths.json"
POINT_MM = 25.4 / 72


@cache
def _metrics() -> tuple[dict[int, int], int, int]:
    """(advance width per code point, fallback advance, units per em) of the letter font,
    from a table made from it (scripts/make_width_table.py): reading the font itself needs
    fontTools, whose import alone costs more than a whole preview."""
    table = json.loads(WIDTHS.read_text("utf-8"))
    advances = {int(code): int(width) for code, width in table["advances"]}
    return advances, int(table["fallback"]), int(table["units_per_em"])


@cache
def font_code_points() -> frozenset[int]:
    """The code points the shipped letter font (Noto Serif) draws: the keys of its width
    table, enough for most letters without importing fontTools."""
    return frozenset(_metrics()[0])


def text_width_mm(text: str, size_pt: float) -> float:
    advances, fallback, units = _metrics()
    total = sum(advances.get(ord(char), fallback) for char in text)
    return total / units * size_pt * POINT_MM


def recipient_lines(recipient: Any, case: Any = None) -> tuple[str, ...]:
    """Name line, title, organisation, then postal lines: what goes in the envelope window.

    A structured address is laid out by its country's rules (letters.compose.postal), its
    country's name written in the language of `case` (the sender's) and left out when the
    case's sender posts from the same country; without a case it is always written."""
    get = recipient.get if isinstance(recipient, dict) else lambda k, d="": getattr(recipient, k, d)
    name = " ".join(part for part in (get("honorific", ""), get("name", "")) if part)
    address = get("address", ())
    if origin_country(address):
        origin, language = case_origin(case)
        head = (name, get("title", ""))
        return postal_lines(
            address,
            name_lines=head,
            organisation=get("organisation", ""),
            origin=origin,
            language=language,
        )
    lines = [name, get("title", ""), get("organisation", ""), *address]
    return tuple(str(line) for line in lines if line)


def case_origin(case: Any) -> tuple[str, str]:
    """(the country a case's letters are posted from or "", the language of its values)."""
    if case is None:
        return "", "en"
    return origin_country(case.sender.address), getattr(case, "language", "en") or "en"


def sender_address_lines(case: Any, to_country: str = "") -> tuple[str, ...]:
    """The sender's postal lines (without name or organisation): a structured address laid
    out by its country's rules, its country's name left out for a letter to `to_country`."""
    address = case.sender.address
    if not origin_country(address):
        return tuple(str(line) for line in address)
    return postal_lines(address, origin=to_country, language=case_origin(case)[1])


@dataclass(frozen=True)
class Window:
    """Where the address prints: the window's width and the height its lines may take."""

    width_mm: float
    height_mm: float
    size_pt: float = 10.0
    min_size_pt: float = 8.0
    line_height: float = 1.2  # times the font size

    def capacity(self, size_pt: float) -> int:
        """How many lines of `size_pt` text the window holds."""
        return math.floor(self.height_mm / (size_pt * self.line_height * POINT_MM) + 1e-6)


@dataclass(frozen=True)
class AddressFit:
    """The address as printed in the window: wrapped lines and their size, and whether
    they fit (when not, `lines` are wrapped at the smallest size, for the message)."""

    lines: tuple[str, ...]
    size_pt: float
    fits: bool
    capacity: int


@dataclass(frozen=True)
class WindowProblem:
    """An address block that does not fit the window even at the smallest size."""

    field: tuple[str | int, ...]  # ("address",): the block as a whole
    lines: int  # lines it needs at the smallest size
    capacity: int  # lines the window holds at that size
    size_pt: float


_LENGTH = re.compile(r"^\s*(-?[0-9.]+)\s*(mm|cm|in|pt|px|)\s*$")
_MM = {"mm": 1.0, "cm": 10.0, "in": 25.4, "pt": POINT_MM, "px": 25.4 / 96, "": 1.0}
_PROPERTY = re.compile(
    r"--(window-[a-z]+-(?:width|height)|address-(?:min-)?size|address-line-height)"
    r"\s*:\s*([^;}]+)"
)


def _windows(css: str, defaults: dict[str, Window] | None = None) -> dict[str, Window]:
    """The windows a stylesheet declares (its custom properties), over `defaults`."""
    found = {name: value.strip() for name, value in _PROPERTY.findall(css)}

    def length(name: str, fallback: float) -> float:
        match = _LENGTH.match(found.get(name, ""))
        return float(match[1]) * _MM[match[2]] if match else fallback

    windows: dict[str, Window] = {}
    for paper in ("a4", "letter"):
        base = (defaults or {}).get(paper) or Window(80.0, 26.3)
        windows[paper] = Window(
            width_mm=length(f"window-{paper}-width", base.width_mm),
            height_mm=length(f"window-{paper}-height", base.height_mm),
            size_pt=length("address-size", base.size_pt * POINT_MM) / POINT_MM,
            min_size_pt=length("address-min-size", base.min_size_pt * POINT_MM) / POINT_MM,
            line_height=_number(found.get("address-line-height"), base.line_height),
        )
    return windows


def _number(text: str | None, fallback: float) -> float:
    try:
        return float(text) if text else fallback
    except ValueError:
        return fallback


@cache
def default_windows() -> dict[str, Window]:
    return _windows(DEFAULT_STYLESHEET.read_text("utf-8"))


def campaign_windows(root: Path) -> dict[str, Window]:
    """The windows of the stylesheet a campaign's letters use (its own, if it has one)."""
    confined = Confined(root)
    if confined.kind(CAMPAIGN_STYLESHEET) != "file":
        return default_windows()
    try:
        css = confined.read_text(CAMPAIGN_STYLESHEET, 1024 * 1024)
    except LettersError:
        return default_windows()  # the layout stage reports the stylesheet itself
    return _windows(css, default_windows())


def wrap(text: str, width_mm: float, size_pt: float) -> list[str]:
    """`text` in lines no wider than `width_mm`: broken at spaces, then after a hyphen or
    comma, and only as a last resort inside a word."""
    if text_width_mm(text, size_pt) <= width_mm:
        return [text]
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if text_width_mm(candidate, size_pt) <= width_mm:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        for piece in _pieces(word, width_mm, size_pt):
            candidate = current + piece
            if current and text_width_mm(candidate, size_pt) > width_mm:
                lines.append(current)
                candidate = piece
            current = candidate
    if current:
        lines.append(current)
    return lines


def _pieces(word: str, width_mm: float, size_pt: float) -> list[str]:
    """A word too wide for a line: its parts after hyphens and commas, and any part still
    too wide cut where it must be."""
    pieces: list[str] = []
    for part in re.findall(r"[^-,]+[-,]?|[-,]", word):
        while text_width_mm(part, size_pt) > width_mm and len(part) > 1:
            cut = len(part) - 1
            while cut > 1 and text_width_mm(part[:cut], size_pt) > width_mm:
                cut -= 1
            pieces.append(part[:cut])
            part = part[cut:]
        pieces.append(part)
    return pieces


def fit_address(lines: tuple[str, ...], window: Window) -> AddressFit:
    """The address wrapped to the window, at the largest size from the window's own down
    to its minimum, in half points, at which every line fits."""
    size = window.size_pt
    while True:
        wrapped = tuple(piece for line in lines for piece in wrap(line, window.width_mm, size))
        capacity = window.capacity(size)
        if len(wrapped) <= capacity:
            return AddressFit(wrapped, size, True, capacity)
        if size - 0.5 < window.min_size_pt - 1e-9:
            return AddressFit(wrapped, size, False, capacity)
        size -= 0.5


def window_problems(recipient: Any, window: Window, case: Any = None) -> list[WindowProblem]:
    """The address block of `recipient` against the window: empty when it fits."""
    fit = fit_address(recipient_lines(recipient, case), window)
    if fit.fits:
        return []
    return [WindowProblem(("address",), len(fit.lines), fit.capacity, fit.size_pt)]


def too_many_lines_message(problem: WindowProblem, paper: str) -> str:
    return (
        f"the address needs {problem.lines} lines in the envelope window even at "
        f"{problem.size_pt:g} pt, but the {'A4' if paper == 'a4' else 'US Letter'} window "
        f"holds {problem.capacity} (name, title, organisation and address lines, long ones "
        "wrapped)"
    )
