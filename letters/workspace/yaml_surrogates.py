"""Characters in YAML text: control characters refused at their line and column, and
escaped UTF-16 surrogates ("\\ud83d\\ude00"), which libyaml refuses but JSON
writers produce: hidden behind same-length stand-ins while libyaml parses, restored after."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from letters.controls import forbidden_character, forbidden_message
from letters.errors import LettersError

if yaml.__with_libyaml__:
    FAST_LOADER: type = yaml.CSafeLoader
else:  # pragma: no cover - PyYAML wheels bundle libyaml
    # Without libyaml the pure-Python parser gives the same events, about 20 times slower
    # (a 10 MB file takes half a minute instead of two seconds).
    FAST_LOADER = yaml.SafeLoader


def line_column(text: str, index: int) -> tuple[int, int]:
    """The 1-based line and column of `text[index]`."""
    return text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)


# -- escaped surrogates ----------------------------------------------------------------
#
# JSON writers escape "😀" as "\ud83d\ude00", and JSON is YAML, so such a pair has to
# read as the character. libyaml refuses every escaped surrogate, so before parsing we
# rewrite each one into an escape of the same length (positions stay right) for a
# stand-in character of a block U+X800–U+XFFF the file does not use, and turn the
# stand-ins back into surrogates afterwards: pairs are then joined and strays refused as
# before. Only the first hex digit changes ("d" → X); the case of the "d" is kept in the
# case of X when X is a letter (or, when X is a digit, is the same for the whole file),
# so the text of a scalar where `\u` is not an escape (plain, single-quoted, block) comes
# back exactly. If no block is free, the pure-Python parser (which accepts surrogates)
# reads the file instead, but only a small one: it is twenty times slower.

SURROGATE_ESCAPE = re.compile(r"\\(u|U0000)([dD])([89a-fA-F][0-9a-fA-F]{2})")
# Escapes that spell a backslash or a "u", so that a value could hold a stand-in's text.
_SPELLED_ESCAPE = re.compile(r"\\(?:x5[cC]|x75|u005[cC]|u0075|U0000005[cC]|U00000075)")
# Private use first, then Hangul; the digits only if every "d" has the same case.
_LETTER_BLOCKS, _DIGIT_BLOCKS = "EABC", "0123456789"
_PURE_PYTHON_MAX_CHARS = 1024 * 1024


class StandIns:
    def __init__(self, digit: str, d: str) -> None:
        base = int(digit + "800", 16)
        self.escape = re.compile(
            rf"\\(u|U0000)([{digit}{digit.lower()}])([89a-fA-F][0-9a-fA-F]{{2}})"
        )
        self.characters = {base + offset: chr(0xD800 + offset) for offset in range(0x800)}
        self.digit = digit
        self.d = d  # the file's one spelling of the "d" (used when `digit` has no case)

    @classmethod
    def choose(cls, text: str) -> StandIns | None:
        if _SPELLED_ESCAPE.search(text):
            return None
        spellings = {match[2] for match in SURROGATE_ESCAPE.finditer(text)}
        digits = _LETTER_BLOCKS + (_DIGIT_BLOCKS if len(spellings) == 1 else "")
        for digit in digits:
            block = f"[\\u{digit}800-\\u{digit}fff]"
            escape = rf"\\(u|U0000)[{digit}{digit.lower()}][89a-fA-F]"
            if not re.search(block, text) and not re.search(escape, text):
                return cls(digit, min(spellings))
        return None

    def hide(self, text: str) -> str:
        upper, lower = self.digit, self.digit.lower()
        return SURROGATE_ESCAPE.sub(
            lambda m: f"\\{m[1]}{upper if m[2] == 'D' else lower}{m[3]}", text
        )

    def restore(self, value: str, double_quoted: bool) -> str:
        if "\\" in value:
            value = self.escape.sub(self._restore_escape, value)
        if double_quoted:
            value = value.translate(self.characters)
        return value

    def _restore_escape(self, match: re.Match[str]) -> str:
        digit = match[2]
        d = self.d if digit.isdigit() else ("D" if digit.isupper() else "d")
        return f"\\{match[1]}{d}{match[3]}"


def surrogate_loader(text: str, file: Path) -> tuple[str, StandIns | None, type]:
    """The text to parse, its stand-ins and the loader for a file with escaped
    surrogates."""
    stand_ins = StandIns.choose(text)
    if stand_ins is not None:
        return stand_ins.hide(text), stand_ins, FAST_LOADER
    if len(text) <= _PURE_PYTHON_MAX_CHARS:
        return text, None, yaml.SafeLoader
    match = SURROGATE_ESCAPE.search(text)
    line, column = line_column(text, match.start() if match else 0)
    raise LettersError(
        "this large file mixes UTF-16 surrogate escapes (such as \\ud83d) with text that "
        "keeps them from being read quickly",
        file,
        line,
        column,
        "write the character itself, or as \\UXXXXXXXX (😀 is \\U0001F600)",
    )


def check_characters(text: str, file: Path) -> None:
    """Refuse control and bidi characters written anywhere in the file (comments too),
    and lone surrogates, at their own line and column."""
    found = forbidden_character(text)
    if found is not None:
        line, column = line_column(text, found[0])
        message, hint = forbidden_message(found[1])
        raise LettersError(message, file, line, column, hint)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        line, column = line_column(text, exc.start)
        raise LettersError(
            "this value contains an invalid character (a lone UTF-16 surrogate)",
            file,
            line,
            column,
            "write the character itself, or as \\UXXXXXXXX",
        ) from None
