"""Letter templates: reading them safely, their front matter, and what they include.

`ConfinedLoader` is the Jinja2 loader every stage uses: it reads templates only from one
folder of a campaign and never through a link.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jinja2
from jinja2 import nodes
from jinja2.loaders import split_template_path

from letters.controls import forbidden_character, forbidden_message, normalise_newlines
from letters.errors import LettersError
from letters.fileio import Confined
from letters.workspace.schema import FrontMatter
from letters.workspace.validation import validate
from letters.workspace.yamlio import parse_yaml

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


# Parses and lexes templates to find what they include and where a syntax error begins;
# never renders.
SYNTAX = jinja2.Environment()
# Every statement that names another template opens a block with its keyword (`{% include`,
# `{%- from`, `{%+ extends`, with any whitespace Jinja skips, which is `\s`): a template
# without one has nothing to check, and is not parsed (about 2 ms a template).
_NAMING_STATEMENT = re.compile(r"\{%[-+]?\s*(?:include|import|from|extends)\b")


def unsafe_template_names(source: str) -> list[tuple[int, str]]:
    """Includes, imports and extends that name a file outside the templates folder
    (an absolute path, `..`, a backslash), wherever they stand, even under `{% if false %}`.

    Computed names (`"part-" ~ lang`) are left to the loader, which stays inside the folder.
    """
    if _NAMING_STATEMENT.search(source) is None:
        return []
    try:
        tree = SYNTAX.parse(source)
    except Exception:  # a syntax error is reported when the template renders
        return []
    found: list[tuple[int, str]] = []
    kinds = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)
    for node in tree.find_all(kinds):
        target: nodes.Expr = getattr(node, "template")  # noqa: B009 - each kind has one
        names = target.items if isinstance(target, nodes.List | nodes.Tuple) else [target]
        for name in names:
            value = name.value if isinstance(name, nodes.Const) else None
            if isinstance(value, str) and _leaves_folder(value):
                found.append((node.lineno, value))
    return found


def _leaves_folder(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or "\\" in name or ":" in name or ".." in parts


@dataclass(frozen=True)
class TemplateFile:
    name: str  # company-letter
    variant: str  # "" for the default file, "vi" for company-letter.vi.md.j2
    language: str  # the letter's language: front matter, else the variant, else en
    path: Path
    subject: str  # the subject line, itself a template
    subject_line: int

    @property
    def label(self) -> str:
        return f"{self.name}.{self.variant}" if self.variant else self.name


def split_front_matter(text: str) -> tuple[str, str]:
    """Split `---` front matter from the body; the body keeps its line numbers.

    The front matter lines are replaced by empty lines in the body so that Jinja's line
    numbers are the file's line numbers.
    """
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip("\r\n") != "---":
        return "", text
    for index in range(1, len(lines)):
        if lines[index].rstrip("\r\n") == "---":
            front = "".join(["\n", *lines[1:index]])
            body = "\n" * (index + 1) + "".join(lines[index + 1 :])
            return front, body
    return "", text


def unsafe_includes(confined: Confined, relative: str) -> list[LettersError]:
    """Includes that name a file outside templates/, found statically wherever they stand.

    The body is checked as the renderer compiles it: without its front matter, whose YAML
    comments could otherwise open a Jinja comment or raw block hiding what follows (the
    subject, a template too, is checked once YAML has decoded it: `read_template`)."""
    try:
        source = split_front_matter(template_text(confined, Path(relative)))[1]
    except LettersError:
        return []  # reported when the template itself is read
    return [
        LettersError(
            f"this template includes {name!r}, which is outside templates/",
            confined.path(relative),
            line,
            hint="includes, imports and extends must name a file inside templates/, "
            'e.g. {% include "_footer.md.j2" %}',
        )
        for line, name in unsafe_template_names(source)
    ]


def read_template(confined: Confined, path: Path, name: str, variant: str) -> TemplateFile:
    text = template_text(confined, path.relative_to(confined.root))
    front, _ = split_front_matter(text)
    if text.startswith("---") and not front:
        raise LettersError(
            "front matter is not closed", path, 1, hint="end the front matter with a `---` line"
        )
    subject, subject_line, language = "", 0, ""
    if front:
        try:
            located = parse_yaml(front, path)
        except LettersError as error:
            raw = (
                text.splitlines()[error.line - 1]
                if 0 < error.line <= len(text.splitlines())
                else ""
            )
            if "{{" in raw or "{%" in raw:
                error.message = "a value containing {{ or {% must be quoted"
                error.hint = 'values containing {{ must be quoted: subject: "{{ case.title }}"'
            raise
        if not isinstance(located.data, dict):
            raise located.error((), "front matter must be `key: value` lines")
        for key, value in located.data.items():
            if isinstance(value, dict) and ("{{" in front or "{%" in front):
                raise located.error(
                    (key,),
                    f"{key}: expected text but the YAML reads a mapping",
                    'values containing {{ must be quoted: subject: "{{ case.title }}"',
                )
        matter = validate(FrontMatter, located)
        subject, language = matter.subject, matter.language
        subject_line = located.line_of(("subject",))[0] if subject else 0
        outside = unsafe_template_names(subject)
        if outside:
            raise LettersError(
                f"the subject includes {outside[0][1]!r}, which is outside templates/",
                path,
                subject_line,
                hint="a subject line can include only files inside templates/; "
                "better, write it out",
            )
    return TemplateFile(
        name=name,
        variant=variant,
        language=language or variant or "en",
        path=path,
        subject=subject,
        subject_line=subject_line,
    )
