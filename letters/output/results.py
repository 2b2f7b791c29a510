"""What a build did with each output, and with the whole run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from letters.errors import LettersError
from letters.output.plan import Job
from letters.output.prepare import LetterFacts


@dataclass
class OutputResult:
    job: Job
    format: str
    path: Path
    status: str  # built | unchanged | failed | new | changed (the last two in a dry run)
    reason: str = ""
    error: LettersError | None = None
    warnings: list[str] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)
    resources: list[Path] = field(default_factory=list)  # workspace files a PDF used
    sha256: str = ""  # of the file written (known without reading it back)


@dataclass(frozen=True)
class Pending:
    job: Job
    facts: LetterFacts
    format: str
    path: Path
    inputs: dict[str, str]


@dataclass
class BuildReport:
    out_dir: Path
    planned: list[Job] = field(default_factory=list)
    outputs: list[OutputResult] = field(default_factory=list)
    render_errors: list[LettersError] = field(default_factory=list)
    render_failures: list[tuple[Job, LettersError]] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    print_files: list[Path] = field(default_factory=list)
    total: int = 0
    stopped_early: bool = False
    print_skipped: bool = False
    warnings: list[str] = field(default_factory=list)  # about the build, not one letter

    def count(self, status: str) -> int:
        return sum(1 for output in self.outputs if output.status == status)

    @property
    def failed(self) -> list[OutputResult]:
        return [output for output in self.outputs if output.status == "failed"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.render_errors else 0


Progress = Callable[[OutputResult, int], None]  # (an output done, outputs in this build)
