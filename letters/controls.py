"""Invisible characters that data must not carry, and text made safe for a terminal.

A recipient list may come from a stranger's spreadsheet. Bidi embeddings, overrides and
isolates (U+202A–U+202E, U+2066–U+2069) reorder what is printed ("‮evil‬ St" prints as
"live St" on an envelope), and C0/C1 control characters (ESC, BEL, NUL, ...) reach the PDF,
the HTML and the terminal. Data values refuse them; TAB and LF stay legal, CR of a CRLF is
normalised, and ZWNJ, ZWJ, LRM and RLM stay legal because Persian and Hebrew need them.
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls but TAB and LF, DEL, C1 controls, bidi embeddings/overrides and isolates.
_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# What a terminal would act on: escape sequences first (CSI, OSC with their payload),
# then any remaining control or bidi character.
_TERMINAL = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window titles, hyperlinks
    r"|\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    r"|\x1b[@-Z\\-_]?"  # other escapes
    "|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)


def normalise_newlines(text: str) -> str:
    """CRLF as LF (a lone CR stays, and is refused as a control character)."""
    return text.replace("\r\n", "\n")


def forbidden_character(text: str) -> tuple[int, str] | None:
    """The index and character of the first character data may not contain, or None."""
    match = _FORBIDDEN.search(text)
    return (match.start(), match.group()) if match else None


def describe_character(char: str) -> str:
    """`U+202E RIGHT-TO-LEFT OVERRIDE`: what a campaigner can search for in an editor."""
    name = unicodedata.name(char, "")
    if not name and ord(char) < 0x20:
        name = "control character"
    return f"U+{ord(char):04X} {name}".rstrip()


def forbidden_message(char: str) -> tuple[str, str]:
    """The message and hint for a forbidden character found in a value."""
    return (
        f"this value contains an invisible control character ({describe_character(char)})",
        "delete it: retype the text around it, or paste it as plain text "
        "(bidi overrides and control characters can disguise what is printed)",
    )


def for_terminal(text: str) -> str:
    """`text` with every escape sequence and control character removed (newlines and
    tabs kept), so that names in a stranger's files cannot drive the user's terminal."""
    return _TERMINAL.sub("", text)


MAX_NESTING = 40


def nesting_too_deep(text: str, limit: int = MAX_NESTING) -> int:
    """The line on which brackets and braces (outside quoted strings) nest deeper than
    `limit`, or 0. Python's TOML and JSON parsers recurse per level: a file nested
    thousands deep would crash them, so it is refused first."""
    depth = line = 0
    quote = ""
    escaped = False
    line = 1
    for char in text:
        if char == "\n":
            line += 1
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
            if depth > limit:
                return line
        elif char in "]}":
            depth = max(depth - 1, 0)
    return 0
