"""How the letter's lists are marked for letter.css: short lists kept on one page, and a
number column as wide as a numbered list's largest number."""

from __future__ import annotations

import math
from xml.etree.ElementTree import Element

from markdown.treeprocessors import Treeprocessor

SHORT_LIST_ITEMS = 6  # a list this short is never split over two pages


class ShortListsStayTogether(Treeprocessor):
    """Marks short lists `class="keep"`: letter.css moves them to the next page whole, so a
    list of demands is not split 2/1 across a page break. Longer lists may break, keeping at
    least two items on each side (also letter.css)."""

    def run(self, root: Element) -> None:
        for element in root.iter():
            if element.tag in ("ol", "ul") and len(element.findall("li")) <= SHORT_LIST_ITEMS:
                element.set("class", "keep")


class NumbersFitTheirMarkers(Treeprocessor):
    """Gives a numbered list that counts past 9 a marker column wide enough for its largest
    number (`--marker-width`, read by letter.css): "12." in the usual column would wrap."""

    def run(self, root: Element) -> None:
        for element in root.iter("ol"):
            try:
                first = int(element.get("start", "1"))
            except ValueError:
                first = 1
            last = first + max(len(element.findall("li")) - 1, 0)
            digits = min(len(str(abs(last))) + (last < 0), MARKER_DIGITS_MAX)
            if digits > 1:
                # A digit is at most 0.6 em in the letter's faces, the full stop 0.3 em, and
                # 0.45 em separate the number from the text (letter.css).
                width = math.ceil((0.6 * digits + 0.3 + 0.45) * 10) / 10
                element.set("style", f"--marker-width: {width:.1f}em")


MARKER_DIGITS_MAX = 12
