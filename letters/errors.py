"""The one exception a user can cause, and where it happened."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class LettersError(Exception):
    """A problem in the user's input, located in a file and explained with a hint.

    `file` is shown relative to the workspace when possible; `line` and `column`
    are 1-based (0 means unknown).
    """

    message: str
    file: Path | str | None = None
    line: int = 0
    column: int = 0
    hint: str = ""
    # The letter it concerns, as "case/template/recipient" (empty for workspace problems).
    letter: str = ""

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def location(self, root: Path | None = None) -> str:
        if self.file is None:
            return ""
        path = Path(self.file)
        if root is not None:
            with contextlib.suppress(ValueError):
                # abspath, not resolve: the file may be a link we refused to follow.
                relative = Path(os.path.abspath(path)).relative_to(root.resolve())
                # The workspace folder itself is clearer by its own name than as ".".
                path = relative if relative.parts else path
        text = str(path)
        if self.line:
            text += f":{self.line}"
            if self.column:
                text += f":{self.column}"
        return text

    def describe(self, root: Path | None = None) -> str:
        """One line a campaigner can act on: `file:line: message (hint)`."""
        where = self.location(root)
        message = f"{self.letter}: {self.message}" if self.letter else self.message
        text = f"{where}: {message}" if where else message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def __str__(self) -> str:
        return self.describe()


class LettersErrors(LettersError):
    """Several problems found in one pass (check reports them all at once)."""

    def __init__(self, errors: list[LettersError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} problem(s) found")

    def describe(self, root: Path | None = None) -> str:
        return "\n".join(error.describe(root) for error in self.errors)


def each_error(error: LettersError) -> list[LettersError]:
    """The single problems inside `error` (several may be nested in one LettersErrors)."""
    if isinstance(error, LettersErrors):
        return [one for inner in error.errors for one in each_error(inner)]
    return [error]


def once_per_place(errors: Iterable[LettersError]) -> list[LettersError]:
    """Each problem once, naming the first letter it was met in and how many more: a broken
    template fails every letter it writes, at the same file:line with the same message."""
    first: dict[tuple[str, int, str], LettersError] = {}
    more: dict[tuple[str, int, str], int] = {}
    for error in errors:
        for one in each_error(error):
            where = (str(one.file), one.line, one.message)
            if where in first:
                more[where] = more.get(where, 0) + 1
            else:
                first[where] = one
    for where, count in more.items():
        one = first[where]
        if one.letter:
            also = f" and {count} more letter{'s' if count > 1 else ''}"
            first[where] = dataclasses.replace(one, letter=one.letter + also)
    return list(first.values())


class WriteError(LettersError):
    """A problem met while writing output (a full disk, a folder that cannot be written):
    the command exits 1, not 2, since the input was fine."""


class OverLimitError(LettersError):
    """A template or layout went over a time, memory or size limit: the same template would
    do so again for every letter, so it is reported once."""
