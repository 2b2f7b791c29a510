"""How the command line shows things: errors, progress, reports and tables.

Part of the CLI layer (with letters/cli.py): the only modules that talk to the terminal.
Everything that comes from a campaign's files is stripped of escape sequences and shown
literally (Rich markup in a name is text, not markup).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from letters.controls import for_terminal
from letters.errors import LettersError, WriteError, each_error

if TYPE_CHECKING:  # the build and import modules are imported only by their commands
    from rich.console import Console
    from rich.pager import Pager
    from rich.progress import Progress, TaskID

    from letters.commands.listing import Table as Rows
    from letters.importing import ImportReport
    from letters.output.results import BuildReport, OutputResult


class _ConsoleOnFirstUse:
    """A Rich console, made when something is first printed through it.

    Importing Rich takes a tenth of `letters preview --plain`'s start-up, which prints
    the Markdown straight to stdout and never needs it.
    """

    def __init__(self, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def made(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr, highlight=False, soft_wrap=True)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.made(), name)


def _rich(console: Console) -> Console:
    """The console itself, for a Rich object that is handed one (it checks the type and
    enters it as a context, which a stand-in cannot pass on)."""
    stand_in: Any = console
    return stand_in.made() if isinstance(stand_in, _ConsoleOnFirstUse) else console


out = cast("Console", _ConsoleOnFirstUse(stderr=False))
err = cast("Console", _ConsoleOnFirstUse(stderr=True))

EXIT_INPUT = 2  # a problem found before anything was written
EXIT_OUTPUT = 1  # a problem met while writing, or letters that failed


def escape(text: str) -> str:
    """Text from files, safe for the terminal (no escape sequences) and for Rich markup."""
    from rich.markup import escape as escape_markup

    return escape_markup(for_terminal(text))


def relative(path: Path, root: Path) -> str:
    """A path for display (relative to the campaign when inside it), safe for Rich markup."""
    try:
        return escape(str(path.relative_to(root)))
    except ValueError:
        return escape(str(path))


def show_warnings(warnings: Sequence[LettersError], root: Path) -> None:
    for warning in warnings:
        where = warning.location(root)
        err.print(f"{escape(where)}: [yellow]warning:[/yellow] {escape(warning.message)}")
        if warning.hint:
            err.print(f"  hint: {escape(warning.hint)}")


def show_ok(message: str) -> None:
    """`OK: message` on stdout, "OK" in green where Rich would colour it.

    Written without Rich: importing it and making a console is about a fifth of what
    `letters check` takes to start, for one green word."""
    if sys.stdout is None:  # started with stdout closed: nobody to tell, as with Rich
        return
    label = "\x1b[32mOK\x1b[0m" if _colours(sys.stdout) else "OK"
    sys.stdout.write(f"{label}: {for_terminal(message)}\n")


def _colours(stream: Any) -> bool:
    """Whether Rich would colour `stream`, by the same environment variables: TTY_COMPATIBLE
    (0 or 1), then FORCE_COLOR (set and not empty), else a terminal; never with NO_COLOR
    or TERM=dumb."""
    environ = os.environ
    if environ.get("NO_COLOR") or environ.get("TERM", "").lower() in ("dumb", "unknown"):
        return False
    compatible = environ.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "1"
    forced = environ.get("FORCE_COLOR")
    if forced is not None:
        return forced != ""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def show_errors(error: LettersError, root: Path | None, writes: bool = True) -> int:
    """Print every problem as `file:line: error: message` with its hint; the exit code."""
    errors = each_error(error)
    for one in errors:
        where = one.location(root)
        prefix = f"[bold]{escape(where)}[/bold]: " if where else ""
        message = f"{one.letter}: {one.message}" if one.letter else one.message
        err.print(f"{prefix}[red]error:[/red] {escape(message)}")
        if one.hint:
            err.print(f"  [dim]hint:[/dim] {escape(one.hint)}")
    if len(errors) > 1:
        tail = "; nothing was written." if writes else "."
        err.print(f"[red]{len(errors)} problems[/red]{tail}")
    # A problem met while writing (a full disk) is not the input's fault: exit 1.
    writing = any(isinstance(one, WriteError) for one in errors)
    return EXIT_OUTPUT if writing else EXIT_INPUT


def _styled_pager() -> Pager:
    """`less -R` (so bold and colour show as such), else the system's pager."""
    from rich.pager import Pager, SystemPager

    class StyledPager(Pager):
        def show(self, content: str) -> None:
            import shutil
            import subprocess

            if not os.environ.get("PAGER") and shutil.which("less"):
                subprocess.run(["less", "-R"], input=content.encode("utf-8"), check=False)
            else:
                SystemPager().show(content)

    return StyledPager()


def show_letter(text: str, plain: bool, pager: bool) -> None:
    """A letter's Markdown: raw when piped or --plain, else formatted, through the pager
    when it is longer than the screen."""
    text = for_terminal(text)
    if plain or not out.is_terminal:
        sys.stdout.write(text)
        return
    from rich.markdown import Markdown
    from rich.panel import Panel

    panel = Panel(Markdown(text), width=min(out.width, 88))
    if pager and text.count("\n") + 4 > out.height:
        with out.pager(_styled_pager(), styles=True):
            out.print(panel, soft_wrap=False)
    else:
        out.print(panel, soft_wrap=False)


def show_tables(tables: Sequence[Rows]) -> None:
    """Tables of plain text. A table wider than the terminal is printed at its own width
    (the terminal wraps or scrolls it) rather than cutting ids short."""
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table
    from rich.text import Text

    for rows in tables:
        table = Table(title=rows.title, title_justify="left")
        for column in rows.columns:
            # Ids and file names are printed whole; longer text may wrap.
            table.add_column(column, no_wrap=column in rows.whole, overflow="fold")
        for row in rows.rows:
            # Text cells: "[/red]" in a name is shown, not read as Rich markup.
            table.add_row(*(Text(for_terminal(value)) for value in row))
        measured = Measurement.get(_rich(out), out.options.update_width(100_000), table)
        # Piped output (grep, a file) gets whole rows; a terminal gets wrapped text.
        width = measured.minimum if out.is_terminal else measured.maximum
        if width <= out.width and out.is_terminal:
            out.print(table)
        else:
            wide = Console(
                file=out.file, width=width, highlight=False, force_terminal=out.is_terminal
            )
            wide.print(table)


class BuildProgress:
    """A rich progress bar on a terminal, plain lines otherwise, nothing when quiet."""

    def __init__(self, quiet: bool, root: Path) -> None:
        self.console = out
        self.root = root
        self.quiet = quiet
        self.done = 0
        self.bar: Progress | None = None
        self.task: TaskID | None = None
        self.started = time.monotonic()

    def __enter__(self) -> BuildProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def update(self, result: OutputResult, total: int) -> None:
        self.done += 1
        if self.quiet:
            return
        if not self.console.is_terminal:
            if result.status != "unchanged":
                where = relative(result.path, self.root)
                self.console.print(f"[{self.done}/{total}] {result.status}: {where}")
            return
        if self.bar is None:
            self._start(total)
        assert self.bar is not None and self.task is not None
        elapsed = max(time.monotonic() - self.started, 1e-6)
        self.bar.update(self.task, completed=self.done, rate=f"{self.done / elapsed:.1f}/s")

    def _start(self, total: int) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("Writing letters"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=_rich(self.console),
            transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task("build", total=total, rate="")
        self.started = time.monotonic()


def show_build(report: BuildReport, root: Path, dry_run: bool, quiet: bool, seconds: float) -> None:
    if dry_run:
        for output in report.outputs:
            label = (
                output.status
                if output.status in ("unchanged", "new")
                else f"{output.status} ({output.reason})"
            )
            out.print(f"{relative(output.path, root)}: {label}")
        would = len(report.outputs) - report.count("unchanged")
        out.print(f"{would} would be written, {report.count('unchanged')} unchanged.")
        return
    warnings = report.warnings + [w for output in report.outputs for w in output.warnings]
    for warning in dict.fromkeys(warnings):  # a missing library would repeat for every letter
        err.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    for error in report.render_errors:
        err.print(f"[red]skipped:[/red] {escape(error.describe(root))}")
    for output in report.failed:
        assert output.error is not None
        err.print(f"[red]failed:[/red] {escape(output.error.describe(root))}")
    if report.print_skipped:
        err.print(
            "[yellow]No print file written[/yellow]: some letters failed; fix them and build again."
        )
    if quiet:
        return
    for path in report.print_files:
        out.print(f"Print file: {relative(path, root)}")
    summary = (
        f"Built {report.count('built')}, unchanged {report.count('unchanged')}, "
        f"failed {len(report.failed) + len(report.render_errors)}"
    )
    if report.removed:
        summary += f", removed {len(report.removed)}"
    if report.stopped_early:
        summary += " (stopped at the first failure: --fail-fast)"
    out.print(f"{summary} in {seconds:.1f}s → {relative(report.out_dir, root)}")


def show_import(report: ImportReport, root: Path) -> None:
    for column in report.unmapped:
        target = escape(column.target)
        out.print(f"column {escape(column.header)!r} → {target} (kept under fields)")
    for column in report.ignored:
        label = column.header or f"number {column.number} (no header)"
        out.print(f"column {escape(label)} ignored")
    for added in report.added:
        out.print(f"[green]added[/green] {added.id} (row {added.row}): {escape(added.name)}")
    for updated in report.updated:
        changed = ", ".join(updated.fields)
        out.print(f"[cyan]updated[/cyan] {updated.id} (row {updated.row}): {escape(changed)}")
    for duplicate in report.duplicates:
        out.print(
            f"[yellow]duplicate[/yellow]: row {duplicate.row} repeats row {duplicate.first_row} "
            f"({duplicate.id}), skipped"
        )
    for problem in report.skipped:
        err.print(f"[red]skipped:[/red] {escape(problem.describe(root))}")
    counts = (
        f"{len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.duplicates)} duplicate, "
        f"{len(report.skipped_rows)} invalid skipped"
    )
    if report.dry_run:
        out.print(f"Dry run: {counts}; nothing written.")
    elif report.written:
        out.print(f"{counts} → {relative(report.target, root)}")
    else:
        out.print(f"{counts}; {relative(report.target, root)} left as it was.")
