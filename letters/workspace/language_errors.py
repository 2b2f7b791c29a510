"""Where a language file goes wrong: TOML syntax and schema problems as `LettersError`s at
the line of the key (tomllib gives no positions, so lines are found by `key_lines`)."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from pydantic import ValidationError

from letters.errors import LettersError

LANGUAGES_FOLDER = "languages"
DEFAULT_LANGUAGE = "en"
COPY_HINT = "copy letters/workspace/languages/en.toml and translate every line"
TOML_HINT = 'write each line as key = "text in double quotes"; ' + COPY_HINT
_KEY_LINE = re.compile(
    r"""^\s*\[*\s*(?:"(?P<double>[^"]*)"|'(?P<single>[^']*)'|(?P<bare>[A-Za-z0-9_-]+))\s*[.=\]]"""
)


def key_lines(text: str) -> dict[str, int]:
    """The line (1-based) where each top-level key is first written: `key = ...`,
    `"key" = ...`, `key.part = ...` or `[key]`. Rough, since tomllib gives no positions."""
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _KEY_LINE.match(line)
        if match:
            key = match.group("double") or match.group("single") or match.group("bare") or ""
            lines.setdefault(key, number)
    return lines


def schema_error(
    exc: ValidationError,
    path: Path,
    text: str,
    known: list[str],
    hints: dict[str, str],
    placeholders: dict[str, tuple[str, ...]],
) -> LettersError:
    """The first problem, by line, of a file that does not fit the schema; a missing key
    comes last, and not at all if an unknown key is a misspelling of it."""
    lines = key_lines(text)
    missing: list[str] = []
    guessed: set[str] = set()
    problems: list[LettersError] = []
    for error in exc.errors(include_url=False):
        key = str(error["loc"][0])[:40] if error["loc"] else ""
        line = lines.get(key, 1)
        if error["type"] == "missing":
            missing.append(key)
        elif error["type"] == "extra_forbidden":
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            guessed.update(close)
            guess = f"did you mean {close[0]!r}? " if close else ""
            problems.append(
                LettersError(
                    f"unknown key {key!r} in a language file",
                    path,
                    line,
                    hint=f"{guess}the keys are: {', '.join(known)}",
                )
            )
        elif error["type"] == "string_type":
            problems.append(
                LettersError(
                    f"{key!r} should be text in double quotes",
                    path,
                    line,
                    hint=f'write {key} = "..." on one line',
                )
            )
        else:
            cause = error.get("ctx", {}).get("error")
            message = str(cause) if cause is not None else error["msg"]
            problems.append(
                LettersError(
                    f"{key!r}: {message}",
                    path,
                    line,
                    hint=hints.get(key, _hint_for(key, placeholders)),
                )
            )
    problems.sort(key=lambda problem: problem.line)
    unexplained = [key for key in missing if key not in guessed]
    if unexplained:
        problems.append(
            LettersError(
                "language file has no " + ", ".join(repr(key) for key in unexplained),
                path,
                1,
                hint=COPY_HINT,
            )
        )
    first = problems[0]
    if len(problems) > 1:
        others = len(problems) - 1
        first.message += f" (and {others} more problem{'s' if others > 1 else ''} in this file)"
    return first


def _hint_for(key: str, placeholders: dict[str, tuple[str, ...]]) -> str:
    allowed = placeholders.get(key)
    if allowed:
        shown = " and ".join(f"{{{name}}}" for name in allowed)
        return f"this pattern may use only {shown}, each written exactly so"
    return f"write a short line of text, as in {LANGUAGES_FOLDER}/{DEFAULT_LANGUAGE}.toml"
