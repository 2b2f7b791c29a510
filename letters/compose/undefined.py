"""What a template gets for a name the data does not have.

A missing optional field is easy to test for: it is false in `{% if %}`, empty in
`{% for %}` and replaced by `| default(...)`. Printing it is still an error, with a
suggestion; while a template renders, every such name is noted with its line and the
render goes on, so one run reports them all.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from types import FrameType
from typing import Any

import jinja2

from letters.compose.sandbox import Record
from letters.workspace import suggest

Miss = tuple[str, int, str]  # (template file, line, message)
_misses: ContextVar[tuple[list[Miss], str, int] | None] = ContextVar("misses", default=None)


@contextlib.contextmanager
def noting_misses(file: Path, line: int = 0) -> Iterator[list[Miss]]:
    """Note every undefined name printed while the block renders (file and line are used
    where a frame of the template cannot be found, as for a subject line)."""
    found: list[Miss] = []
    token = _misses.set((found, str(file), line))
    try:
        yield found
    finally:
        _misses.reset(token)


def _template_position(default_file: str, default_line: int) -> tuple[str, int]:
    """The template file and line being rendered, from the frames of compiled templates."""
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        template = frame.f_globals.get("__jinja_template__")
        if template is not None and template.filename and template.filename[0] != "<":
            return template.filename, template.get_corresponding_lineno(frame.f_lineno)
        frame = frame.f_back
    return default_file, default_line


class LettersUndefined(jinja2.Undefined):
    """Strict about printing (the message names the field and suggests a close one),
    lenient about testing and looping."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:  # type: ignore[override]
        owner = self._undefined_obj
        name = self._undefined_name
        if isinstance(owner, Record):
            hint = suggest(str(name), list(owner))
            message = f"{owner.record_name} has no field {name!r}"
            return f"{message} ({hint})" if hint else message
        if owner is jinja2.utils.missing:
            return (
                f"{name!r} is undefined (the letter knows recipient, case, sender, date, subject)"
            )
        return super()._undefined_message

    # Jinja's base Undefined is already false, empty and iterable as nothing; arithmetic,
    # calls and comparisons on it fail. Only printing and attributes are changed here.

    def __getattr__(self, name: str) -> Any:
        if name[:2] == "__":
            raise AttributeError(name)
        return self  # `fields.a.b` of a missing `a` is as missing as `a`

    def __str__(self) -> str:
        noting = _misses.get()
        if noting is None:
            self._fail_with_undefined_error()
        found, file, line = noting
        where = _template_position(file, line)
        found.append((*where, self._undefined_message))
        return ""
