"""What an import did (or, for a dry run, would do): the columns used, the recipients added,
updated or left alone, the duplicate rows and the invalid rows skipped."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from letters.errors import LettersError
from letters.importing.columns import Column


@dataclass(frozen=True)
class Added:
    row: int
    id: str
    name: str


@dataclass(frozen=True)
class Updated:
    row: int
    id: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Duplicate:
    row: int
    first_row: int
    id: str


@dataclass
class ImportReport:
    """What an import did (or, for a dry run, would do) to recipients.yaml."""

    source: Path
    target: Path
    columns: list[Column] = field(default_factory=list)
    added: list[Added] = field(default_factory=list)
    updated: list[Updated] = field(default_factory=list)
    unchanged: list[tuple[int, str]] = field(default_factory=list)  # (row, id)
    duplicates: list[Duplicate] = field(default_factory=list)
    skipped: list[LettersError] = field(default_factory=list)  # invalid rows, --skip-invalid
    blank_rows: int = 0
    written: bool = False
    dry_run: bool = False

    @property
    def skipped_rows(self) -> list[int]:
        return sorted({error.line for error in self.skipped})

    @property
    def unmapped(self) -> list[Column]:
        return [column for column in self.columns if column.how == "unmapped"]

    @property
    def ignored(self) -> list[Column]:
        return [column for column in self.columns if column.how == "ignored"]

    @property
    def exit_code(self) -> int:
        return 1 if self.skipped else 0
