"""Read YAML as plain text data, remembering where every key and value came from.

We build the data ourselves from libyaml's event stream (PyYAML's C parser) instead of
letting a loader construct Python objects: every scalar stays text (no YAML 1.1
surprises such as `no` → False or `01234` → 1234), no tag ever builds an object,
duplicate keys are caught with their line, anchors and aliases are refused before an
alias can expand, and nesting is capped while it is read, so a hostile file can neither
recurse nor run for minutes. Control characters and bidi overrides are refused in every
key and value (see letters.controls).

A `YamlBudget` caps what all the YAML files of one workspace may hold together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.error import MarkedYAMLError, YAMLError
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.reader import ReaderError

from letters.controls import (
    describe_character,
    forbidden_character,
    forbidden_message,
    normalise_newlines,
)
from letters.errors import LettersError
from letters.fileio import read_text
from letters.workspace.located import (
    MAX_DEPTH,
    MAX_YAML_BYTES,
    MAX_YAML_NODES,
    TOTAL_BYTES_FACTOR,
    Located,
    Path_,
    YamlBudget,
)
from letters.workspace.yaml_surrogates import (
    FAST_LOADER,
    SURROGATE_ESCAPE,
    StandIns,
    check_characters,
    line_column,
    surrogate_loader,
)

_NULL_WORDS = {"", "~", "null", "Null", "NULL"}
_CORE = "tag:yaml.org,2002:"
_NULL_TAG = _CORE + "null"
_CORE_TAGS = {
    _CORE + name for name in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")
}
# "!" is the non-specific tag (`! 12` means the text "12"): not an explicit type.
_ALLOWED_TAGS = {*_CORE_TAGS, "!"}
_SYNTAX_HINT = (
    "check the indentation and quote values that contain ': ' or start with "
    "a special character such as {, [, *, & or !"
)
_NESTING_HINT = "flatten it: a letter's data never needs that many levels"


# -- building the data -----------------------------------------------------------------


class _Frame:
    """An open list or mapping while its events are read."""

    __slots__ = ("container", "is_map", "key", "key_path", "key_position", "path")

    def __init__(self, container: dict[str, Any] | list[Any], path: Path_) -> None:
        self.container: Any = container
        self.is_map = isinstance(container, dict)
        self.path = path
        # The key whose value comes next (None while a key is awaited), and its path,
        # which the value shares.
        self.key: str | None = None
        self.key_path: Path_ = ()
        self.key_position = (0, 0)


class _Builder:
    def __init__(
        self,
        located: Located,
        budget: YamlBudget,
        stand_ins: StandIns | None,
        surrogates_possible: bool,
    ) -> None:
        self.located = located
        self.budget = budget
        self.stand_ins = stand_ins
        self.surrogates_possible = surrogates_possible
        self.nodes = 0

    def fail(self, position: tuple[int, int], message: str, hint: str = "") -> LettersError:
        return LettersError(message, self.located.file, position[0], position[1], hint)

    def build(self, loader: Any) -> Any:
        """Read every event of `loader`; the data of its one document (None if none)."""
        located = self.located
        key_lines, value_lines = located.key_lines, located.value_lines
        stack: list[_Frame] = []
        root: Any = None
        documents = 0
        first_anchor: tuple[int, int] | None = None
        nodes, node_limit = 0, self.budget.nodes_left()
        position = (1, 1)
        get_event = loader.get_event
        try:
            while True:
                event = get_event()
                kind = type(event)
                if kind is ScalarEvent or kind is MappingStartEvent or kind is SequenceStartEvent:
                    mark = event.start_mark
                    position = (mark.line + 1, mark.column + 1)
                    tag = event.tag
                    if tag is not None and tag not in _ALLOWED_TAGS:
                        raise self.fail(
                            position,
                            f"YAML tag {tag!r} is not allowed",
                            "remove the tag (the part starting with '!'); values are plain text",
                        )
                    if event.anchor is not None and first_anchor is None:
                        first_anchor = position
                    frame = stack[-1] if stack else None
                    if frame is not None and frame.is_map and frame.key is None:
                        self.add_key(event, frame, position, key_lines)
                        continue
                    if frame is None:
                        path: Path_ = ()
                    elif frame.is_map:
                        path = frame.key_path
                    else:
                        path = (*frame.path, len(frame.container))
                    if len(path) > MAX_DEPTH:
                        raise self.fail(
                            position,
                            f"data is nested more than {MAX_DEPTH} levels deep",
                            _NESTING_HINT,
                        )
                    nodes += 1
                    if nodes > node_limit:
                        raise self.budget.too_many_nodes(located.file, *position)
                    value_lines[path] = position
                    value: Any
                    if kind is ScalarEvent:
                        if (
                            not event.style
                            and event.value in _NULL_WORDS
                            and (tag is None or tag == _NULL_TAG)
                        ):
                            value = None
                            if frame is not None and frame.is_map:
                                # An empty value's event starts on the next line; point
                                # at its key instead.
                                value_lines[path] = frame.key_position
                        else:
                            value = self.text(event, position)
                    elif kind is MappingStartEvent:
                        value = {}
                    else:
                        value = []
                    if frame is None:
                        root = value
                    elif frame.is_map:
                        frame.container[frame.key] = value
                        frame.key = None
                    else:
                        frame.container.append(value)
                    if kind is not ScalarEvent:
                        stack.append(_Frame(value, path))
                elif kind is MappingEndEvent or kind is SequenceEndEvent:
                    stack.pop()
                elif kind is AliasEvent:
                    mark = event.start_mark
                    raise self.anchors((mark.line + 1, mark.column + 1))
                elif kind is DocumentStartEvent:
                    documents += 1
                    if documents > 1:
                        mark = event.start_mark
                        raise self.fail(
                            (mark.line + 1, mark.column + 1),
                            "YAML syntax error: a file holds one YAML document, but found "
                            "another document",
                            "remove the '---' line and what follows it, or move it into a "
                            "file of its own",
                        )
                elif kind is StreamEndEvent or event is None:
                    break
        except RecursionError:  # pragma: no cover - the parser and this loop do not recurse
            raise self.fail(
                position, f"data is nested more than {MAX_DEPTH} levels deep", _NESTING_HINT
            ) from None
        if first_anchor is not None:
            raise self.anchors(first_anchor)
        self.nodes = nodes
        return root

    def anchors(self, position: tuple[int, int]) -> LettersError:
        return self.fail(
            position,
            "YAML anchors and aliases (&name / *name) are not supported",
            "write the value out in full where it is used",
        )

    def add_key(
        self,
        event: Any,
        frame: _Frame,
        position: tuple[int, int],
        key_lines: dict[Path_, tuple[int, int]],
    ) -> None:
        if type(event) is not ScalarEvent:
            raise self.fail(position, "a key must be plain text", "write `name: value`")
        key = self.text(event, position)
        if key == "<<":
            raise self.fail(
                position, "YAML merge keys (<<) are not supported", "write the keys out in full"
            )
        path = (*frame.path, key)
        if key in frame.container:
            first_line = key_lines[path][0]
            raise self.fail(
                position,
                f"duplicate key {key!r} (first given on line {first_line})",
                "remove one of the two",
            )
        key_lines[path] = position
        frame.key = key
        frame.key_path = path
        frame.key_position = position

    def text(self, event: Any, position: tuple[int, int]) -> str:
        """A scalar's text, refused if it holds a character data may not contain."""
        value: str = event.value
        if self.stand_ins is not None:
            value = self.stand_ins.restore(value, event.style == '"')
        if self.surrogates_possible:
            value = self.join_surrogates(value, position)
        # Characters written in the file were all checked before parsing; only escapes
        # in double quotes ("\e", "\0", "\u202e", "\r\n") can make new ones.
        if event.style == '"':
            if "\r" in value:
                value = normalise_newlines(value)
            found = forbidden_character(value)
            if found is not None:
                raise self.fail(position, *forbidden_message(found[1]))
        return value

    def join_surrogates(self, value: str, position: tuple[int, int]) -> str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # "\ud83d\ude00" escapes arrive as two surrogates; join pairs, refuse strays.
            try:
                value = value.encode("utf-16", "surrogatepass").decode("utf-16")
            except UnicodeDecodeError:
                raise self.fail(
                    position,
                    "this value contains an invalid character (a lone UTF-16 surrogate)",
                    "write the character itself, or as \\UXXXXXXXX",
                ) from None
        return value


# Tokens whose problem is where they begin: a quote never closed runs on to the end of the
# file, a key without its colon to the next line. (A plain scalar's problem, such as a tab,
# is where the scanner stops.)
_UNFINISHED_TOKENS = ("while scanning a quoted scalar", "while scanning a simple key")


def _syntax_error(exc: MarkedYAMLError, file: Path) -> LettersError:
    """The problem where it starts. A token the scanner could not finish (a quote never
    closed, a key without its colon) is reported where the token begins, not where the
    scanner gave up, which can be a hundred lines on; a collection the parser could not
    finish is reported where the parser stopped, naming the line it started on."""
    problem = exc.problem or exc.context or "invalid YAML"
    context, at = exc.context, exc.context_mark
    mark = exc.problem_mark or at
    if context and at is not None and exc.problem:
        if context in _UNFINISHED_TOKENS:
            mark = at
            problem = f"{problem} {context}"
        elif context.startswith("while parsing") and mark is not None and at.line != mark.line:
            problem = f"{problem} ({context} that starts on line {at.line + 1})"
    line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    return LettersError(f"YAML syntax error: {problem}", file, line, column, _SYNTAX_HINT)


def parse_yaml(
    text: str,
    file: Path,
    max_bytes: int = MAX_YAML_BYTES,
    budget: YamlBudget | None = None,
) -> Located:
    """Parse YAML text into a `Located` tree, or raise LettersError pointing at the problem.

    `budget` is charged with the file's bytes and values; without one the file alone
    may hold up to `MAX_YAML_NODES` values.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise LettersError(
            f"file is larger than the limit of {max_bytes // (1024 * 1024)} MB",
            file,
            1,
            hint="split it, or raise the limit with LETTERS_MAX_YAML_MB",
        )
    if budget is None:
        budget = YamlBudget(MAX_YAML_NODES, TOTAL_BYTES_FACTOR * max_bytes)
    budget.charge_bytes(size, file)
    text = normalise_newlines(text)
    check_characters(text, file)

    located = Located(data=None, file=file)
    loader_class = FAST_LOADER
    stand_ins = None
    surrogates_possible = not yaml.__with_libyaml__
    if not surrogates_possible and SURROGATE_ESCAPE.search(text):
        text, stand_ins, loader_class = surrogate_loader(text, file)
        surrogates_possible = True

    builder = _Builder(located, budget, stand_ins, surrogates_possible)
    loader = loader_class(text)
    try:
        located.data = builder.build(loader)
    except MarkedYAMLError as exc:
        if exc.problem == "exceeded maximum nesting depth":
            # libyaml's own cap (1,000 levels), met while it looks ahead in "[[[[...".
            mark = exc.problem_mark
            raise LettersError(
                f"data is nested more than {MAX_DEPTH} levels deep",
                file,
                mark.line + 1 if mark else 1,
                mark.column + 1 if mark else 0,
                _NESTING_HINT,
            ) from None
        raise _syntax_error(exc, file) from None
    except ReaderError as exc:
        # Characters YAML itself refuses (U+FFFE, U+FFFF) and controls.py allows.
        index = text.find(chr(exc.character)) if isinstance(exc.character, int) else -1
        line, column = line_column(text, index) if index >= 0 else (1, 0)
        what = describe_character(chr(exc.character)) if index >= 0 else "a character"
        raise LettersError(
            f"YAML syntax error: the file contains {what}, which YAML does not allow",
            file,
            line,
            column,
            "delete it: retype the text around it",
        ) from None
    except YAMLError as exc:
        raise LettersError(f"YAML syntax error: {exc}", file, 1) from None
    except ValueError:
        if loader_class is not yaml.SafeLoader:
            raise
        # The pure-Python parser fails this way on an escape beyond U+10FFFF.
        line, column = _position_of(loader)
        raise LettersError(
            "YAML syntax error: found invalid Unicode character escape code",
            file,
            line,
            column,
            _SYNTAX_HINT,
        ) from None
    finally:
        loader.dispose()
    budget.nodes += builder.nodes
    return located


def _position_of(loader: Any) -> tuple[int, int]:
    try:
        mark = loader.get_mark()
    except AttributeError:  # pragma: no cover
        return 1, 0
    return mark.line + 1, mark.column + 1


def load_yaml(
    file: Path, max_bytes: int = MAX_YAML_BYTES, budget: YamlBudget | None = None
) -> Located:
    try:
        size = file.stat().st_size
        if size > max_bytes:
            raise LettersError(
                f"file is larger than the limit of {max_bytes // (1024 * 1024)} MB",
                file,
                1,
                hint="split it, or raise the limit with LETTERS_MAX_YAML_MB",
            )
    except OSError as exc:
        raise LettersError(f"cannot read file: {exc.strerror}", file) from None
    text = read_text(file)
    return parse_yaml(text, file, max_bytes, budget)
