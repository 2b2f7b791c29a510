"""Anything a template raised, as a LettersError at the template's file and line."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
from jinja2.sandbox import SecurityError

from letters.compose.template_lines import innermost_template, template_line
from letters.errors import LettersError, OverLimitError
from letters.limits import LimitExceeded, Limits
from letters.workspace.templates import SYNTAX

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


# Tags whose block runs to an end tag (`{% set %}` only in its block form, without `=`).
_BLOCK_TAGS = frozenset(
    ("if", "for", "macro", "call", "filter", "block", "with", "autoescape", "trans", "set")
)


def _opened_tag(exc: jinja2.TemplateSyntaxError) -> tuple[int, str, str] | None:
    """For a syntax error Jinja notices only after the mistake, where the mistake is: the
    line, the tag as written and what it lacks, of the `{% tag %}` never closed (Jinja
    reports the end of the file) or of the `{{` never closed (Jinja reports where the next
    token did not fit). None when the error is where Jinja says."""
    if not exc.source or not exc.lineno:
        return None
    at_end = (exc.message or "").startswith("Unexpected end of template")
    open_blocks: list[tuple[int, str]] = []  # (line, tag) of each block not yet closed
    opened: tuple[int, str] | None = None  # the `{{` or `{%` being read, and its line
    tag_expected = False
    try:
        for line, kind, value in SYNTAX.lex(exc.source):
            if line > exc.lineno and not at_end:
                break
            if kind in ("variable_begin", "block_begin"):
                opened, tag_expected = (line, kind), kind == "block_begin"
            elif kind in ("variable_end", "block_end"):
                opened = None
            elif tag_expected and kind == "name":
                tag_expected = False
                if value.startswith("end") and open_blocks and open_blocks[-1][1] == value[3:]:
                    open_blocks.pop()
                elif value in _BLOCK_TAGS:
                    open_blocks.append((line, value))
            elif kind == "assign" and open_blocks and open_blocks[-1] == (line, "set"):
                open_blocks.pop()  # `{% set x = ... %}` has no end tag
    except jinja2.TemplateSyntaxError:
        pass  # the lexer stopped where the mistake made the rest unreadable
    if at_end and open_blocks:
        line, tag = open_blocks[-1]
        return line, f"{{% {tag} %}}", f"{{% end{tag} %}}"
    # A value that runs on into the next lines ("expected token 'end of print statement',
    # got 'I'"): its `{{` was never closed. Any other error inside a value spread over
    # several lines is where Jinja says.
    unended = (exc.message or "").startswith("expected token 'end of print statement'")
    if unended and opened is not None and opened[1] == "variable_begin" and opened[0] < exc.lineno:
        return opened[0], "{{", "}}"
    return None


def _column(source: str, line: int, tag: str) -> int:
    """The column (from 1) of the last `tag` opener (`{{`, or `{%` with the tag's name) on
    `line` of `source`; 0 if not found."""
    lines = source.splitlines()
    if not 0 < line <= len(lines):
        return 0
    name = tag[2:-2].strip()
    opener = r"\{\{" if tag == "{{" else r"\{%[-+]?\s*" + re.escape(name) + r"\b"
    found = list(re.finditer(opener, lines[line - 1]))
    return found[-1].start() + 1 if found else 0


def _unclosed_tag_error(
    exc: jinja2.TemplateSyntaxError, file: Path, part: str
) -> LettersError | None:
    found = _opened_tag(exc)
    if found is None or exc.source is None:
        return None
    line, tag, closing = found
    if tag == "{{":
        message = (
            f"syntax error in the {part}: this {{{{ is not closed before line {exc.lineno} "
            f"({exc.message or exc})"
        )
        hint = "end the value with }} on this line"
    else:
        message = f"syntax error in the {part}: this {tag} is never closed"
        hint = f"add {closing} where the block should end (Jinja read on to the end of the file)"
    return LettersError(message, file, line, _column(exc.source, line, tag), hint=hint)


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
    if isinstance(exc, jinja2.TemplateSyntaxError) and part == "template":
        unclosed = _unclosed_tag_error(exc, file, part)
        if unclosed is not None:
            return unclosed
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
