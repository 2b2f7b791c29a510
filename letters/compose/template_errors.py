"""Anything a template raised, as a LettersError at the template's file and line."""

from __future__ import annotations

from pathlib import Path

import jinja2
from jinja2.sandbox import SecurityError

from letters.compose.template_lines import innermost_template, template_line
from letters.errors import LettersError, OverLimitError
from letters.limits import LimitExceeded, Limits

UNDEFINED_HINT = (
    "use a field that exists in the data, or add it to the YAML (free fields go under "
    "recipient `fields:` or case `facts:`); test an optional one with {% if ... %} or "
    "| default(...)"
)

# What each kind of template failure means to a campaigner, and what to do about it.
_EXPLANATIONS: list[tuple[type[BaseException], str, str]] = [
    (
        jinja2.TemplateSyntaxError,
        "syntax error in the {part}: {detail}",
        "check the {{ }} and {% %} tags around this line",
    ),
    (
        jinja2.UndefinedError,
        "undefined variable in {part}: {detail}",
        UNDEFINED_HINT,
    ),
    (
        SecurityError,
        "the {part} tried something templates may not do: {detail}",
        "templates can read the letter's data but cannot reach Python internals",
    ),
    (
        jinja2.TemplateNotFound,
        "{part} includes {name!r}, which is not in templates/",
        "includes and imports must name a file inside the workspace's templates/",
    ),
    (
        RecursionError,
        "the {part} ran out of resources (RecursionError)",
        "look for a macro that calls itself",
    ),
]


def template_error(
    exc: BaseException, path: Path, line: int, part: str, limits: Limits | None = None
) -> LettersError:
    """Turn anything a template raised into a LettersError at the template's line."""
    if isinstance(exc, LettersError):
        return exc
    found = template_line(exc, path)
    if part == "template" and found:
        line = found
    file = path
    inner = innermost_template(exc, path.parent) if part == "template" else None
    if inner is not None and not isinstance(exc, jinja2.TemplateSyntaxError):
        file, line = inner
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename and part == "template":
        file = Path(exc.filename)
    if isinstance(exc, LimitExceeded):
        return OverLimitError(f"{part}: {exc}", file, line, hint=exc.hint)
    if isinstance(exc, MemoryError):
        exceeded = (limits or Limits.from_env()).too_big(f"the {part}")
        return OverLimitError(str(exceeded), file, line, hint=exceeded.hint)
    for kind, message, hint in _EXPLANATIONS:
        if isinstance(exc, kind):
            detail = getattr(exc, "message", None) or str(exc)
            name = getattr(exc, "name", "")
            return LettersError(
                message.format(part=part, detail=detail, name=name), file, line, hint=hint
            )
    return LettersError(
        f"error while rendering the {part}: {type(exc).__name__}: {exc}",
        file,
        line,
        hint="check the expression on this line",
    )
