"""Escaping data values for Markdown, so that data always shows as the text it is."""

from __future__ import annotations

import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_INLINE = re.compile(r"([\\`*_\[\]])")
# Markers that open a block when they start a line: headings, quotes, list items, rules.
# `~~~` opens a code fence and `===` under a line makes it a heading.
_ENTITY_AT_START = {"~": "&#126;", "=": "&#61;"}
_LEADING_MARKER = re.compile(r"^(#|[-+](?=\s|[-+\s]*$)|\d+(?=[.)](?:\s|$)))")


class MarkdownText(str):
    """Text that is already Markdown: a trusted value, or one that was escaped before."""

    __slots__ = ()


def escape_markdown(value: Any) -> MarkdownText:
    """Make a data value show literally in any CommonMark renderer and in Python-Markdown.

    `&`, `<`, `>` become entities; inline markers are backslash-escaped; a block marker at
    the start is neutralised; newlines and other control characters become spaces.
    """
    if isinstance(value, MarkdownText):
        return value
    text = _CONTROL.sub(" ", "" if value is None else str(value)).strip()
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _INLINE.sub(r"\\\1", text)
    if text[:1] in _ENTITY_AT_START:
        # Python-Markdown has no backslash escape for these; an entity works everywhere.
        text = _ENTITY_AT_START[text[0]] + text[1:]
    match = _LEADING_MARKER.match(text)
    if match:
        marker = match.group(1)
        # Digits stay and the dot after them is escaped; other markers get a backslash.
        text = marker + "\\" + text[len(marker) :] if marker.isdigit() else "\\" + text
    return MarkdownText(text)


# What escape_markdown adds, in one pattern so one left-to-right pass undoes it exactly: a
# backslash before an escaped character (a doubled backslash is one of them), and entities.
_ESCAPED = re.compile(r"\\([\\`*_\[\]#+\-.)])|&(amp|lt|gt|#126|#61);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "#126": "~", "#61": "="}


FSI, PDI = "\u2068", "\u2069"  # FIRST STRONG ISOLATE ... POP DIRECTIONAL ISOLATE


def isolate(text: MarkdownText) -> MarkdownText:
    """`text` bidi-isolated, for a data value in a right-to-left letter: a Latin name or a
    number keeps its place and its punctuation in Arabic text. (WeasyPrint 70 ignores <bdi>
    and `unicode-bidi: isolate`, so the isolation is in the text itself.)"""
    return MarkdownText(FSI + text + PDI) if text else text


def unescape_markdown(text: str) -> str:
    """The inverse of escape_markdown's escaping, for plain-text places (an e-mail's text
    part): `&amp;` becomes `&` again and `\\_` becomes `_`, so
    `unescape_markdown(escape_markdown(value)) == value` for a value without control
    characters or surrounding spaces (those are replaced or trimmed, not escaped)."""
    return _ESCAPED.sub(lambda m: m.group(1) or _ENTITIES[m.group(2)], text)


def trusted_markdown(value: Any) -> MarkdownText:
    """A value the template author vouches for as Markdown; raw HTML still shows as text."""
    text = "" if value is None else str(value)
    return MarkdownText(text.replace("<", "&lt;"))


def hard_break_lines(lines: list[str] | tuple[str, ...]) -> MarkdownText:
    """Escaped lines joined with Markdown hard line breaks (two trailing spaces)."""
    return MarkdownText("  \n".join(escape_markdown(line) for line in lines if line))
