"""YAML data as plain values with the position of every part, and the budget that caps
what all the YAML files of one workspace may hold together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from letters.errors import LettersError

MAX_YAML_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 40
# Values (scalars, lists and mappings; keys are not counted) in one workspace's YAML.
MAX_YAML_NODES = 1_000_000
# All the YAML files of one workspace together, as a multiple of the per-file cap.
TOTAL_BYTES_FACTOR = 5
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

    def find_value(self, value: str, within: Path_ = ()) -> Path_ | None:
        """The path of the first scalar equal to `value` below `within`, or None."""
        return self.find_text(lambda text: text == value, within)

    def find_text(self, wanted: Callable[[str], bool], within: Path_ = ()) -> Path_ | None:
        """The path of the first text value below `within` that `wanted` accepts, or None
        (in the file's order)."""
        data: Any = self.data
        for part in within:
            try:
                data = data[part]
            except (KeyError, IndexError, TypeError):
                return None
        stack: list[tuple[Path_, Any]] = [(tuple(within), data)]
        while stack:
            path, node = stack.pop()
            if isinstance(node, str) and wanted(node):
                return path
            if isinstance(node, dict):
                stack.extend(((*path, key), item) for key, item in reversed(node.items()))
            elif isinstance(node, list):
                stack.extend(((*path, i), item) for i, item in reversed(list(enumerate(node))))
        return None

    def error(
        self, path: Path_, message: str, hint: str = "", *, key: bool = False
    ) -> LettersError:
        line, column = self.line_of(path, key=key)
        return LettersError(message, self.file, line, column, hint)


@dataclass
class YamlBudget:
    """What all the YAML files of one workspace load may hold together.

    Create one per load and pass it to every `parse_yaml` / `load_yaml` call of that
    load; each call charges the file's bytes and values (scalars, lists and mappings).
    """

    max_nodes: int = MAX_YAML_NODES
    max_bytes: int = TOTAL_BYTES_FACTOR * MAX_YAML_BYTES
    nodes: int = 0
    bytes: int = 0

    @classmethod
    def for_file_limit(cls, max_file_bytes: int) -> YamlBudget:
        """A budget whose byte total is `TOTAL_BYTES_FACTOR` times the per-file cap."""
        return cls(max_bytes=TOTAL_BYTES_FACTOR * max_file_bytes)

    def charge_bytes(self, size: int, file: Path) -> None:
        if self.bytes + size > self.max_bytes:
            raise LettersError(
                "the campaign's YAML files are larger than "
                f"{_megabytes(self.max_bytes)} MB in total",
                file,
                1,
                hint="split the campaign into several workspaces, or remove unused files",
            )
        self.bytes += size

    def nodes_left(self) -> int:
        return self.max_nodes - self.nodes

    def too_many_nodes(self, file: Path, line: int, column: int) -> LettersError:
        return LettersError(
            f"the campaign's YAML files hold more than {self.max_nodes:,} values",
            file,
            line,
            column,
            "split the campaign into several workspaces, or remove unused entries",
        )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g}"
