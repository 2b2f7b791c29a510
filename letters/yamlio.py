"""Read YAML as plain text data, remembering where every key and value came from.

We compose the YAML node graph ourselves instead of letting a loader construct Python
objects: every scalar stays text (no YAML 1.1 surprises such as `no` → False or
`01234` → 1234), no tag ever builds an object, duplicate keys are caught with their line,
and aliases are refused before they can expand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from letters.errors import LettersError
from letters.fileio import read_text

MAX_YAML_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 40
_NULL_WORDS = {"", "~", "null", "Null", "NULL"}
_CORE_TAGS = {
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")
}

Path_ = tuple[str | int, ...]


@dataclass
class Located:
    """YAML data as plain dicts, lists and strings, with the position of every part."""

    data: Any
    file: Path
    key_lines: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    value_lines: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def line_of(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """The (line, column) of the nearest known ancestor of `path`, 1-based."""
        table = self.key_lines if key else self.value_lines
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.value_lines:
                return self.value_lines[probe]
            probe = probe[:-1]
        return self.value_lines.get((), (1, 1))

    def error(
        self, path: Path_, message: str, hint: str = "", *, key: bool = False
    ) -> LettersError:
        line, column = self.line_of(path, key=key)
        return LettersError(message, self.file, line, column, hint)


def _position(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    def __init__(self, located: Located, text: str) -> None:
        self.located = located
        self.text = text
        self.seen: set[int] = set()

    def alias_position(self) -> tuple[int, int]:
        for event in YAML(typ="safe", pure=True).parse(self.text):
            if isinstance(event, AliasEvent):
                return event.start_mark.line + 1, event.start_mark.column + 1
        return 0, 0

    def fail(self, node: Node, message: str, hint: str = "") -> LettersError:
        line, column = _position(node)
        return LettersError(message, self.located.file, line, column, hint)

    def build(self, node: Node, path: Path_) -> Any:
        if len(path) > MAX_DEPTH:
            raise self.fail(
                node,
                f"data is nested more than {MAX_DEPTH} levels deep",
                "flatten it: a letter's data never needs that many levels",
            )
        if id(node) in self.seen:
            # The composer hands back the anchored node itself for every alias, so a
            # repeat is an alias; refusing it here means an alias bomb never expands.
            line, column = self.alias_position()
            raise LettersError(
                "YAML anchors and aliases (&name / *name) are not supported",
                self.located.file,
                line,
                column,
                "write the value out in full where it is used",
            )
        self.seen.add(id(node))
        tag = str(getattr(node.tag, "value", node.tag))
        if tag not in _CORE_TAGS:
            raise self.fail(
                node,
                f"YAML tag {tag!r} is not allowed",
                "remove the tag (the part starting with '!'); values are plain text",
            )
        self.located.value_lines[path] = _position(node)
        if isinstance(node, ScalarNode):
            if node.style is None and node.value in _NULL_WORDS:
                return None
            return self.scalar_text(node)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            return self.build_mapping(node, path)
        raise self.fail(node, "unsupported YAML node")  # pragma: no cover

    def scalar_text(self, node: ScalarNode) -> str:
        value = str(node.value)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # "\ud83d\ude00" escapes arrive as two surrogates; join pairs, refuse strays.
            try:
                value = value.encode("utf-16", "surrogatepass").decode("utf-16")
            except UnicodeDecodeError:
                raise self.fail(
                    node,
                    "this value contains an invalid character (a lone UTF-16 surrogate)",
                    "write the character itself, or as \\UXXXXXXXX",
                ) from None
        return value

    def build_mapping(self, node: MappingNode, path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise self.fail(key_node, "a key must be plain text", "write `name: value`")
            key = str(key_node.value)
            if key == "<<":
                raise self.fail(
                    key_node,
                    "YAML merge keys (<<) are not supported",
                    "write the keys out in full",
                )
            if key in result:
                first_line = self.located.key_lines[(*path, key)][0]
                raise self.fail(
                    key_node,
                    f"duplicate key {key!r} (first given on line {first_line})",
                    "remove one of the two",
                )
            self.located.key_lines[(*path, key)] = _position(key_node)
            value = self.build(value_node, (*path, key))
            if value is None:
                # An empty value's node starts on the next line; point at its key instead.
                self.located.value_lines[(*path, key)] = _position(key_node)
            result[key] = value
        return result


def parse_yaml(text: str, file: Path, max_bytes: int = MAX_YAML_BYTES) -> Located:
    """Parse YAML text into a `Located` tree, or raise LettersError pointing at the problem."""
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise LettersError(
            f"file is larger than the limit of {max_bytes // (1024 * 1024)} MB",
            file,
            1,
            hint="split it, or raise the limit with LETTERS_MAX_YAML_MB",
        )
    located = Located(data=None, file=file)
    yaml = YAML(typ="safe", pure=True)
    try:
        node = yaml.compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = exc.problem or exc.context or "invalid YAML"
        raise LettersError(
            f"YAML syntax error: {problem}",
            file,
            line,
            column,
            "check the indentation and quote values that contain ': ' or start with "
            "a special character such as {, [, *, & or !",
        ) from None
    except YAMLError as exc:
        raise LettersError(f"YAML syntax error: {exc}", file, 1) from None
    if node is None:
        return located
    located.data = _Builder(located, text).build(node, ())
    return located


def load_yaml(file: Path, max_bytes: int = MAX_YAML_BYTES) -> Located:
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
    return parse_yaml(text, file, max_bytes)
