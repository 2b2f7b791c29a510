"""A Jinja2 loader that loads only files really inside its folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import jinja2


class ConfinedLoader(jinja2.FileSystemLoader):
    """Loads only files whose real path, after following links, is inside `folder`.

    FileSystemLoader already refuses `..` in names; this also refuses a link inside the
    folder that leads elsewhere, so a shared campaign cannot include /etc/passwd.
    """

    def __init__(self, folder: Path) -> None:
        super().__init__(str(folder))
        self.folder = folder.resolve()

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        if not Path(filename).resolve().is_relative_to(self.folder):
            raise jinja2.TemplateNotFound(template)
        return self.transform(source), filename, uptodate

    def transform(self, source: str) -> str:
        """What to make of a template's text before Jinja compiles it (nothing, here)."""
        return source
