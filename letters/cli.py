"""The `letters` command: parse options, call the library, print, and choose the exit code."""

from __future__ import annotations

import datetime as dt
import os
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from letters import LettersError, __version__
from letters.controls import for_terminal
from letters.errors import LettersErrors, WriteError

if TYPE_CHECKING:  # the build module is imported only by the commands that build
    from rich.progress import Progress, TaskID

    from letters.output.build import BuildReport, OutputResult

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Turn one campaign appeal into many personalised, print-ready letters.",
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_INPUT = 2
EXIT_OUTPUT = 1

Project = Annotated[
    Path | None,
    typer.Option("-C", "--project", help="Campaign folder (default: the current directory)."),
]


class State:
    project: Path = Path(".")


def _root(project: Path | None) -> Path:
    return (project or State.project).resolve()


def _fail(error: LettersError, root: Path | None, writes: bool = True) -> typer.Exit:
    errors = error.errors if isinstance(error, LettersErrors) else [error]
    for one in errors:
        where = one.location(root)
        prefix = f"[bold]{_escape(where)}[/bold]: " if where else ""
        message = f"{one.letter}: {one.message}" if one.letter else one.message
        err.print(f"{prefix}[red]error:[/red] {_escape(message)}")
        if one.hint:
            err.print(f"  [dim]hint:[/dim] {_escape(one.hint)}")
    if len(errors) > 1:
        tail = "; nothing was written." if writes else "."
        err.print(f"[red]{len(errors)} problems[/red]{tail}")
    # A problem met while writing (a full disk) is not the input's fault: exit 1.
    writing = any(isinstance(one, WriteError) for one in errors)
    return typer.Exit(EXIT_OUTPUT if writing else EXIT_INPUT)


def _escape(text: str) -> str:
    """Text from files, safe for the terminal (no escape sequences) and for Rich markup."""
    from rich.markup import escape

    return escape(for_terminal(text))


def _today() -> dt.date:
    # SOURCE_DATE_EPOCH pins "today" for reproducible builds of undated cases.
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date()
    return dt.date.today()


@app.callback(invoke_without_command=True)
def main_options(
    context: typer.Context,
    project: Annotated[
        Path, typer.Option("-C", "--project", help="Campaign folder (default: current directory).")
    ] = Path("."),
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
) -> None:
    if version:
        out.print(f"letters {__version__}")
        raise typer.Exit(0)
    if context.invoked_subcommand is None:
        out.print(context.get_help())
        raise typer.Exit(EXIT_INPUT)
    State.project = project


@app.command()
def init(
    folder: Annotated[str, typer.Argument(help="Folder to create the sample campaign in.")],
    force: Annotated[bool, typer.Option(help="Overwrite sample files already there.")] = False,
) -> None:
    """Copy the sample campaign (recipients, cases, templates) into DIRECTORY."""
    from letters.sample import copy_sample

    directory = Path(folder)
    try:
        if not folder.strip():
            raise LettersError("no folder given", hint="name a folder: letters init my-campaign")
        written = copy_sample(directory, force=force)
    except LettersError as error:
        raise _fail(error, None) from None
    shown = _escape(shlex.quote(str(directory)))
    out.print(f"Created a sample campaign in {shown} ({len(written)} files).")
    out.print(f"Next: [bold]letters -C {shown} build[/bold]")


@app.command()
def check(project: Project = None) -> None:
    """Validate everything and render every letter in memory; report all problems."""
    from letters.commands.check import check as run_check

    root = _root(project)
    try:
        report = run_check(root, _today())
    except LettersError as error:
        raise _fail(error, root) from None
    if report.errors:
        raise _fail(LettersErrors(report.errors), root, writes=False)
    out.print(
        f"[green]OK[/green]: {report.recipients} recipients, {report.cases} cases, "
        f"{report.templates} templates, {report.letters} letters render."
    )


@app.command("list")
def list_(project: Project = None) -> None:
    """Show cases, templates and who gets which letter."""
    from letters.output.plan import plan
    from letters.workspace import load_workspace

    root = _root(project)
    try:
        workspace, errors = load_workspace(root)
        if errors:
            raise LettersErrors(errors)
        jobs, errors = plan(workspace, [], [], None)
        if errors:
            raise LettersErrors(errors)
    except LettersError as error:
        raise _fail(error, root) from None
    cases = Table(title="Cases", title_justify="left")
    for column in ("case", "title", "date", "letters"):
        cases.add_column(column)
    for case_id, case_file in workspace.cases.items():
        count = sum(1 for job in jobs if job.case_id == case_id)
        date = case_file.case.date.isoformat() if case_file.case.date else "(today)"
        _row(cases, case_id, case_file.case.title, date, str(count))
    templates = Table(title="Templates", title_justify="left")
    for column in ("template", "language", "file", "subject"):
        templates.add_column(column)
    for name, variants in workspace.templates.items():
        for template in variants.values():
            _row(templates, name, template.language, template.path.name, template.subject)
    letters = Table(title="Letters", title_justify="left")
    for column in ("case", "template", "recipient", "name", "language", "paper"):
        letters.add_column(column)
    for job in jobs:
        recipient = workspace.recipient(job.recipient_id)
        assert recipient is not None
        variant = workspace.template_for(job.template_name, recipient.language)
        _row(
            letters,
            job.case_id,
            variant.path.name,
            job.recipient_id,
            recipient.name,
            variant.language,
            job.paper,
        )
    # Piped output (grep, a file) gets full rows instead of rows wrapped at 80 columns.
    console = out if out.is_terminal else Console(highlight=False, width=200)
    for table in (cases, templates, letters):
        console.print(table)


@app.command()
def build(
    cases: Annotated[
        list[str] | None, typer.Argument(help="Cases to build (default: all).")
    ] = None,
    to: Annotated[
        list[str] | None, typer.Option("--to", help="Only these recipients: ID, tag:TAG or all.")
    ] = None,
    formats: Annotated[
        list[str] | None, typer.Option("--format", "-f", help="md, html or pdf (repeatable).")
    ] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output folder.")] = None,
    force: Annotated[bool, typer.Option(help="Rebuild even unchanged letters.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Say what would be built, write nothing.")] = False,
    keep_going: Annotated[
        bool, typer.Option(help="Write the letters that render even if others fail (exit 1).")
    ] = False,
    paper: Annotated[
        str | None, typer.Option(help="Paper when neither recipient nor case says: a4, letter.")
    ] = None,
    print_file: Annotated[
        bool, typer.Option("--print", help="Also write PDFs and out/<case>/print.pdf.")
    ] = False,
    duplex: Annotated[
        bool, typer.Option(help="Pad letters to an even page count in print.pdf.")
    ] = False,
    pdf_variant: Annotated[
        str | None, typer.Option(help="PDF variant: pdf/a-3u or pdf/ua-1.")
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", help="PDF worker processes (default: cores).")
    ] = None,
    fail_fast: Annotated[
        bool, typer.Option(help="Stop at the first letter that fails to render as PDF.")
    ] = False,
    shard: Annotated[
        str | None, typer.Option(help="Build only slice K of N (K/N) of the letters.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    project: Project = None,
) -> None:
    """Write out/<case>/<template>/<recipient>.<format> and out/<case>/manifest.json."""
    from letters.output.build import BuildOptions
    from letters.output.build import build as run_build
    from letters.output.workers import default_jobs

    root = _root(project)
    chosen = tuple(dict.fromkeys([*(formats or ["md"]), *(["pdf"] if print_file else [])]))
    bad = _bad_choice(chosen, ("md", "html", "pdf"), "--format")
    bad = bad or _bad_choice([paper] if paper else [], ("a4", "letter"), "--paper")
    bad = bad or _bad_choice(
        [pdf_variant] if pdf_variant else [], ("pdf/a-3u", "pdf/ua-1"), "--pdf-variant"
    )
    if jobs is not None and jobs < 1:
        bad = bad or LettersError(f"--jobs {jobs}: give at least 1", hint="e.g. --jobs 2")
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        bad = bad or LettersError("--out names a file, not a folder", out_dir)
    if bad:
        raise _fail(bad, root)
    try:
        shard_slice = _parse_shard(shard) if shard else None
    except LettersError as error:
        raise _fail(error, root) from None
    options = BuildOptions(
        formats=chosen,
        out_dir=out_dir.resolve() if out_dir else None,
        cases=tuple(cases or ()),
        to=tuple(to or ()),
        paper=paper,
        force=force,
        dry_run=dry_run,
        keep_going=keep_going,
        pdf_variant=pdf_variant,
        today=_today(),
        print_file=print_file,
        duplex=duplex,
        jobs=jobs or default_jobs(),
        fail_fast=fail_fast,
        shard=shard_slice,
    )
    started = time.monotonic()
    with BuildProgress(out, quiet=quiet or dry_run, root=root) as progress:
        try:
            report = run_build(root, options, progress.update)
        except LettersError as error:
            progress.stop()
            raise _fail(error, root) from None
        except KeyboardInterrupt:
            progress.stop()
            err.print(
                f"Interrupted after {progress.done} letters; finished letters are saved and "
                "the next build does only the rest."
            )
            raise typer.Exit(130) from None
    _print_report(report, root, dry_run, quiet, time.monotonic() - started)
    raise typer.Exit(report.exit_code)


class BuildProgress:
    """A rich progress bar on a terminal, plain lines otherwise, nothing when quiet."""

    def __init__(self, console: Console, quiet: bool, root: Path) -> None:
        self.console = console
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
                where = _relative(result.path, self.root)
                self.console.print(f"[{self.done}/{total}] {result.status}: {where}")
            return
        if self.bar is None:
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
                console=self.console,
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("build", total=total, rate="")
            self.started = time.monotonic()
        assert self.task is not None
        elapsed = max(time.monotonic() - self.started, 1e-6)
        self.bar.update(self.task, completed=self.done, rate=f"{self.done / elapsed:.1f}/s")


def _parse_shard(text: str) -> tuple[int, int]:
    index, _, count = text.partition("/")
    if not (index.isdecimal() and count.isdecimal()):
        raise LettersError(
            f"--shard {text!r} is not K/N", hint="e.g. --shard 2/4 for the second of four"
        )
    if not 1 <= int(index) <= int(count):
        raise LettersError(
            f"--shard {text!r}: K must be from 1 to N", hint="e.g. --shard 4/4 for the last"
        )
    return int(index), int(count)


def _bad_choice(
    values: list[str] | tuple[str, ...], allowed: tuple[str, ...], option: str
) -> LettersError | None:
    for value in values:
        if value not in allowed:
            return LettersError(f"{option} {value!r} is not one of: {', '.join(allowed)}")
    return None


def _print_report(
    report: BuildReport, root: Path, dry_run: bool, quiet: bool, seconds: float
) -> None:
    if dry_run:
        for output in report.outputs:
            label = (
                output.status
                if output.status in ("unchanged", "new")
                else f"{output.status} ({output.reason})"
            )
            out.print(f"{_relative(output.path, root)}: {label}")
        would = len(report.outputs) - report.count("unchanged")
        out.print(f"{would} would be written, {report.count('unchanged')} unchanged.")
        return
    warnings = [warning for output in report.outputs for warning in output.warnings]
    for warning in dict.fromkeys(warnings):  # a missing library would repeat for every letter
        err.print(f"[yellow]warning:[/yellow] {_escape(warning)}")
    for error in report.render_errors:
        err.print(f"[red]skipped:[/red] {_escape(error.describe(root))}")
    for output in report.failed:
        assert output.error is not None
        err.print(f"[red]failed:[/red] {_escape(output.error.describe(root))}")
    if report.print_skipped:
        err.print(
            "[yellow]No print file written[/yellow]: some letters failed; fix them and build again."
        )
    if quiet:
        return
    for path in report.print_files:
        out.print(f"Print file: {_relative(path, root)}")
    summary = (
        f"Built {report.count('built')}, unchanged {report.count('unchanged')}, "
        f"failed {len(report.failed) + len(report.render_errors)}"
    )
    if report.removed:
        summary += f", removed {len(report.removed)}"
    if report.stopped_early:
        summary += " (stopped at the first failure: --fail-fast)"
    out.print(f"{summary} in {seconds:.1f}s → {_relative(report.out_dir, root)}")


def _relative(path: Path, root: Path) -> str:
    """A path for display (relative to the campaign when inside it), safe for Rich markup."""
    try:
        return _escape(str(path.relative_to(root)))
    except ValueError:
        return _escape(str(path))


def _row(table: Table, *values: str) -> None:
    # Text cells: data such as "[/red]" in a name is shown, not read as Rich markup.
    table.add_row(*(Text(for_terminal(value)) for value in values))


@app.command()
def preview(
    case: Annotated[str, typer.Argument(help="The case id (file name in cases/).")],
    to: Annotated[str, typer.Option("--to", help="The recipient id.")],
    template: Annotated[
        str | None, typer.Option(help="The template, when the recipient gets several.")
    ] = None,
    plain: Annotated[bool, typer.Option(help="Print the raw Markdown.")] = False,
    project: Project = None,
) -> None:
    """Show one letter in the terminal."""
    from letters.commands.preview import preview as run_preview

    root = _root(project)
    try:
        text = run_preview(root, case, to, template, _today())
    except LettersError as error:
        raise _fail(error, root) from None
    text = for_terminal(text)
    if plain or not out.is_terminal:
        sys.stdout.write(text)
        return
    from rich.markdown import Markdown
    from rich.panel import Panel

    out.print(Panel(Markdown(text), width=min(out.width, 88)), soft_wrap=False)


@app.command("merge-print")
def merge_print(
    cases: Annotated[list[str] | None, typer.Argument(help="Cases (default: all).")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output folder.")] = None,
    duplex: Annotated[bool, typer.Option(help="Pad letters to an even page count.")] = False,
    paper: Annotated[str | None, typer.Option(help="Paper default, as for build.")] = None,
    project: Project = None,
) -> None:
    """Join the PDFs of a sharded build (gathered in one out/) into print.pdf."""
    from letters.output.build import BuildOptions
    from letters.output.build import merge_print as run_merge

    root = _root(project)
    options = BuildOptions(
        out_dir=out_dir.resolve() if out_dir else None,
        cases=tuple(cases or ()),
        paper=paper,
        duplex=duplex,
    )
    try:
        written = run_merge(root, options)
    except LettersError as error:
        raise _fail(error, root) from None
    for path in written:
        out.print(f"Print file: {_relative(path, root)}")


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="The spreadsheet: .csv, .xlsx, .xls or .ods.")],
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help='Send a column to a field: "Column name=field" (repeatable).'),
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Encoding of a CSV file (default UTF-8), e.g. cp1252.")
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option(help="Import the valid rows and list the invalid ones (exit 1).")
    ] = False,
    dry_run: Annotated[bool, typer.Option(help="Say what would change, write nothing.")] = False,
    project: Project = None,
) -> None:
    """Merge the rows of a spreadsheet into recipients.yaml: add new people, update known ones."""
    from letters.importer import import_recipients

    root = _root(project)
    try:
        report = import_recipients(
            root,
            file,
            map_ or [],
            encoding=encoding,
            skip_invalid=skip_invalid,
            dry_run=dry_run,
        )
    except LettersError as error:
        raise _fail(error, root) from None
    for column in report.unmapped:
        target = _escape(column.target)
        out.print(f"column {_escape(column.header)!r} → {target} (kept under fields)")
    for column in report.ignored:
        label = column.header or f"number {column.number} (no header)"
        out.print(f"column {_escape(label)} ignored")
    for added in report.added:
        out.print(f"[green]added[/green] {added.id} (row {added.row}): {_escape(added.name)}")
    for updated in report.updated:
        changed = ", ".join(updated.fields)
        out.print(f"[cyan]updated[/cyan] {updated.id} (row {updated.row}): {_escape(changed)}")
    for duplicate in report.duplicates:
        out.print(
            f"[yellow]duplicate[/yellow]: row {duplicate.row} repeats row {duplicate.first_row} "
            f"({duplicate.id}), skipped"
        )
    for problem in report.skipped:
        err.print(f"[red]skipped:[/red] {_escape(problem.describe(root))}")
    counts = (
        f"{len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.duplicates)} duplicate, "
        f"{len(report.skipped_rows)} invalid skipped"
    )
    if report.dry_run:
        out.print(f"Dry run: {counts}; nothing written.")
    elif report.written:
        out.print(f"{counts} → {_relative(report.target, root)}")
    else:
        out.print(f"{counts}; {_relative(report.target, root)} left as it was.")
    raise typer.Exit(report.exit_code)


def main() -> None:
    try:
        app()
    except OSError as exc:
        # A disk or permission problem that no library call turned into a WriteError:
        # still the user's to fix, and still named.
        if os.environ.get("LETTERS_DEBUG"):
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        err.print(f"[red]error:[/red] {_escape(where)}{_escape(exc.strerror or str(exc))}")
        sys.exit(EXIT_OUTPUT)
    except Exception as exc:
        if os.environ.get("LETTERS_DEBUG"):
            raise
        err.print(
            f"[red]internal error:[/red] {type(exc).__name__}: {_escape(str(exc))}\n"
            "  This is a bug in letters, not in your files. Run again with LETTERS_DEBUG=1 "
            "for details and report it."
        )
        sys.exit(EXIT_OUTPUT)


if __name__ == "__main__":
    main()
