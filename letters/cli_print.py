"""The print channel's commands: `envelopes`, `labels`, `report`, and what `build --print
--envelopes SIZE --labels SHEET` adds after the build.

Registered on the app of letters/cli.py by the import at the bottom of that module. Like every
command, each parses its options, calls one library function, prints, and leaves the exit
code to `command()` (2 for a problem found before anything was written, 1 for one met while
writing).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from letters.cli_app import Project, _root, command
from letters.display import err, escape, out, relative
from letters.errors import LettersError

if TYPE_CHECKING:
    from letters.deliver.post_record import PostFile
    from letters.output.options import BuildOptions
    from letters.output.results import BuildReport

Cases = Annotated[list[str] | None, typer.Argument(help="Cases (default: all).")]
To = Annotated[
    list[str] | None, typer.Option("--to", help="Refused: these files hold the whole case.")
]
OutDir = Annotated[Path | None, typer.Option("--out", help="Output folder (default: out/).")]
Paper = Annotated[str | None, typer.Option(help="Paper default, as for build: a4, letter.")]
Force = Annotated[bool, typer.Option(help="Rebuild even if unchanged.")]


def _options(
    cases: list[str] | None,
    to: list[str] | None,
    out_dir: Path | None,
    paper: str | None,
    force: bool = False,
) -> BuildOptions:
    from letters.output.options import BuildOptions

    return BuildOptions(
        out_dir=out_dir.resolve() if out_dir else None,
        cases=tuple(cases or ()),
        to=tuple(to or ()),
        paper=paper,
        force=force,
    )


def show_post_files(files: list[PostFile], root: Path, quiet: bool = False) -> None:
    """One line per envelope or label file: where, for how many letters, what happened
    (with `quiet`, only the warnings)."""
    for file in files:
        for warning in file.warnings:
            err.print(f"[yellow]warning:[/yellow] {escape(warning)}")
        if quiet:
            continue
        kind = "Envelopes" if file.kind == "envelopes" else "Labels"
        what = f"{file.pieces} letter{'s' if file.pieces != 1 else ''}"
        if file.status == "built":
            pages = f", {file.pages} page{'s' if file.pages != 1 else ''}"
            out.print(f"{kind}: {relative(file.path, root)} ({what}{pages})")
        elif file.status == "unchanged":
            out.print(f"{kind}: {relative(file.path, root)} unchanged ({what})")
        else:  # a dry run
            out.print(f"{kind}: {relative(file.path, root)} would be written ({file.reason})")


@command()
def envelopes(
    context: typer.Context,
    cases: Cases = None,
    to: To = None,
    size: Annotated[
        str | None,
        typer.Option(help="dl, c5, c4, c6 or 10 (default: DL for A4 letters, #10 for Letter)."),
    ] = None,
    out_dir: OutDir = None,
    paper: Paper = None,
    force: Force = False,
    project: Project = None,
) -> None:
    """Write out/<case>/envelopes-<size>.pdf: one envelope per letter, in print order."""
    from letters.deliver.envelopes import write_envelopes

    root = _root(context, project)
    options = _options(cases, to, out_dir, paper, force)
    show_post_files(write_envelopes(root, options, size), root)


@command()
def labels(
    context: typer.Context,
    sheet: Annotated[
        str, typer.Option(help="The label sheet: l7163, l7160, l7651, 5160, 5163 or your own.")
    ],
    cases: Cases = None,
    to: To = None,
    skip: Annotated[
        int, typer.Option(help="Labels already used on the first sheet: start on label N+1.")
    ] = 0,
    out_dir: OutDir = None,
    paper: Paper = None,
    force: Force = False,
    project: Project = None,
) -> None:
    """Write out/<case>/labels-<sheet>.pdf: every letter's address on label sheets."""
    from letters.deliver.labels import write_labels

    root = _root(context, project)
    options = _options(cases, to, out_dir, paper, force)
    show_post_files(write_labels(root, options, sheet, skip), root)


@command()
def report(
    context: typer.Context,
    cases: Cases = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv, xlsx or json.")] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to FILE.")
    ] = None,
    out_dir: OutDir = None,
    paper: Paper = None,
    project: Project = None,
) -> None:
    """List every letter produced, in print order (CSV on standard output by default)."""
    from letters.atomic import write_beside
    from letters.deliver.report import REPORT_FORMATS, report_bytes, report_rows

    if fmt not in REPORT_FORMATS:
        raise LettersError(
            f"--format {fmt!r} is not a report format",
            hint=f"use one of: {', '.join(REPORT_FORMATS)}",
        )
    if fmt == "xlsx" and output is None and sys.stdout.isatty():
        raise LettersError(
            "an xlsx report is a binary file, not for the terminal",
            hint="give --output FILE.xlsx (or redirect standard output to a file)",
        )
    root = _root(context, project)
    rows = report_rows(root, _options(cases, None, out_dir, paper))
    data = report_bytes(rows, fmt)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    target = write_beside(root, output.absolute(), data)
    err.print(f"Report: {relative(target, root)} ({len(rows)} letters)")


def print_job(
    root: Path,
    options: BuildOptions,
    envelopes: str | None,
    labels: str | None,
    quiet: bool = False,
) -> Callable[[BuildReport], int]:
    """For `build --print --envelopes SIZE --labels SHEET`: checks them now, before anything
    is built, and returns what to run once the build is done (it gives the exit code)."""
    if not (envelopes or labels):
        # Nothing to add: the print job's modules (and WeasyPrint with them) stay unloaded.
        return lambda report: report.exit_code
    from letters.commands.print_job import check_print_job, finish_print_job

    check_print_job(root, options, envelopes, labels)

    def finish(report: BuildReport) -> int:
        if report.exit_code or report.print_skipped:
            err.print("[yellow]No envelopes or labels written[/yellow]: no print file either.")
            return report.exit_code
        show_post_files(finish_print_job(root, options, envelopes, labels), root, quiet)
        return report.exit_code

    return finish
