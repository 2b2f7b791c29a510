"""What a build is asked to do, checked as soon as it is said."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from letters.dates import today
from letters.errors import LettersError
from letters.layout.formats import FORMATS, PDF_VARIANTS
from letters.workspace.schema import PAPERS


@dataclass(frozen=True)
class BuildOptions:
    formats: tuple[str, ...] = ("md",)
    out_dir: Path | None = None  # default: <workspace>/out
    cases: tuple[str, ...] = ()
    to: tuple[str, ...] = ()
    paper: str | None = None
    force: bool = False
    dry_run: bool = False
    keep_going: bool = False
    pdf_variant: str | None = None
    today: dt.date = field(default_factory=today)
    print_file: bool = False
    duplex: bool = False
    jobs: int = 1
    fail_fast: bool = False
    shard: tuple[int, int] | None = None  # (K, N): build the K-th of N slices

    def __post_init__(self) -> None:
        for fmt in self.formats:
            if fmt not in FORMATS:
                raise _choice_error("--format", fmt, FORMATS)
        if self.paper is not None and self.paper not in PAPERS:
            raise _choice_error("--paper", self.paper, PAPERS)
        if self.pdf_variant is not None and self.pdf_variant not in PDF_VARIANTS:
            raise _choice_error("--pdf-variant", self.pdf_variant, PDF_VARIANTS)
        if self.jobs < 1:
            raise LettersError(f"--jobs {self.jobs}: give at least 1", hint="e.g. --jobs 2")
        if self.out_dir is not None and self.out_dir.exists() and not self.out_dir.is_dir():
            raise LettersError("--out names a file, not a folder", self.out_dir)
        if self.shard is not None:
            index, count = self.shard
            if not 1 <= index <= count:
                raise LettersError(
                    f"--shard {index}/{count}: K must be from 1 to N",
                    hint="e.g. --shard 4/4 for the last",
                )
        if self.duplex and not self.print_file:
            raise LettersError(
                "--duplex pads letters in the print file, so it needs --print",
                hint="add --print (or leave out --duplex)",
            )
        if self.to and self.print_file:
            raise LettersError(
                "--print makes the print file of the whole case, so it cannot go with --to",
                hint="build without --to (unchanged letters are skipped, so it is quick)",
            )
        if self.shard and self.print_file:
            raise LettersError(
                "--print needs every letter; a shard has only its slice",
                hint="build the shards, gather their out/ folders, then run `letters merge-print`",
            )

    def output_folder(self, workspace_root: Path) -> Path:
        """Where outputs go: --out, else the campaign's out/."""
        return (self.out_dir or workspace_root / "out").resolve()


def parse_shard(text: str) -> tuple[int, int]:
    """`2/4` → (2, 4)."""
    index, _, count = text.partition("/")
    if not (index.isdecimal() and count.isdecimal()):
        raise LettersError(
            f"--shard {text!r} is not K/N", hint="e.g. --shard 2/4 for the second of four"
        )
    return int(index), int(count)


def _choice_error(option: str, value: str, allowed: tuple[str, ...]) -> LettersError:
    return LettersError(f"{option} {value!r} is not one of: {', '.join(allowed)}")
