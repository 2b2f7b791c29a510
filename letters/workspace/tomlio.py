"""TOML files of a campaign (language packs, label sheets): parsed with the standard
library, every problem a LettersError at its line and column, and nesting refused before
the parser could recurse into it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from letters.controls import nesting_too_deep
from letters.errors import LettersError

_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_AT_END = re.compile(r"\s*\(at end of document\)\s*$")


def parse_toml(text: str, path: Path, what: str, hint: str) -> dict[str, Any]:
    """The table in `text`; `what` names the file in messages ("language file"), `hint`
    says how its lines are written."""
    deep = nesting_too_deep(text)
    if deep:
        raise LettersError(f"the {what}'s values are nested too deeply", path, deep, hint=hint)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        line = column = 0
        position = _POSITION.search(message)
        if position:
            line, column = int(position.group(1)), int(position.group(2))
            message = message[: position.start()]
        elif _AT_END.search(message):
            line = max(text.count("\n") + (0 if text.endswith("\n") else 1), 1)
            message = _AT_END.sub("", message)
        raise LettersError(
            f"{what} is not valid TOML: {message}", path, line or 1, column, hint=hint
        ) from None
