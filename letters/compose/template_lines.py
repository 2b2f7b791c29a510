"""Where in a template file an exception happened, for error messages."""

from __future__ import annotations

import traceback
from pathlib import Path

import jinja2


def template_line(exc: BaseException, template: Path) -> int:
    """The line of `template` Jinja was rendering when `exc` happened (0 when unknown).

    Jinja rewrites tracebacks so that frames of compiled templates carry the template's
    file name and line numbers; the innermost such frame is the one that failed.
    """
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.lineno:
        return int(exc.lineno)
    wanted = {str(template), str(template.resolve())}
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.lineno and (frame.filename in wanted or Path(frame.filename) == template):
            return frame.lineno
    return 0


def innermost_template(exc: BaseException, folder: Path) -> tuple[Path, int] | None:
    """The innermost template frame of `exc` from a file in `folder` (an included partial
    is reported at its own line, not at the include)."""
    root = folder.resolve()
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if not frame.lineno or not frame.filename.endswith(".j2"):
            continue
        path = Path(frame.filename)
        if root in path.resolve().parents:
            return path, frame.lineno
    return None
