"""A Jinja2 loader that reads templates only from one folder of a campaign, never via a link."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import jinja2
from jinja2.loaders import split_template_path

from letters.controls import forbidden_character, forbidden_message, normalise_newlines
from letters.errors import LettersError
from letters.fileio import Confined

MAX_TEMPLATE_BYTES = 1024 * 1024


class ConfinedLoader(jinja2.BaseLoader):
    """Loads `folder/<name>` below a `Confined` root, opening every component without
    following links, so a link in the folder (or swapped in while we render) is refused
    instead of read, and a FIFO named like a partial cannot hang the render.
    """

    def __init__(self, confined: Confined, folder: str) -> None:
        self.confined = confined
        self.folder = folder

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        # split_template_path refuses `..`; a leading `/` only names a file in the folder.
        relative = Path(self.folder, *split_template_path(template))
        if self.confined.kind(relative) == "missing":
            raise jinja2.TemplateNotFound(template)
        source = template_text(self.confined, relative)
        modified = self.confined.modified(relative)
        return (
            self.transform(source),
            str(self.confined.path(relative)),
            lambda: self.confined.modified(relative) == modified,
        )

    def transform(self, source: str) -> str:
        """What to make of a template's text before Jinja compiles it (nothing, here)."""
        return source


def template_text(confined: Confined, relative: Path) -> str:
    """A template's text, read safely; a control character in it is an error at its line."""
    text = normalise_newlines(confined.read_text(relative, MAX_TEMPLATE_BYTES))
    found = forbidden_character(text)
    if found is not None:
        index, char = found
        line = text.count("\n", 0, index) + 1
        column = index - (text.rfind("\n", 0, index) + 1) + 1
        message, hint = forbidden_message(char)
        raise LettersError(message, confined.path(relative), line, column, hint)
    return text
