"""The `letters` command: parse options, call one library function, print, choose the exit code.

Every command is a few lines: the library does the work and raises `LettersError` for
anything a user can fix; `command` (letters/cli_app.py) turns that into messages and exit
codes (2 for a problem found before anything was written, 1 for one met while writing).
The commands of this module are the core ones; the print channel, e-mail and import have
modules of their own, imported here so that they register on the same app. What is printed,
and how, lives in letters/display.py.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from letters.cli_app import Project, _root, app, app_for, command  # noqa: F401 - app: the Typer app, imported from here
from letters.display import (
    EXIT_OUTPUT,
    err,
    escape,
    out,
    relative,
    show_errors,
    show_ok,
    show_warnings,
)
from letters.errors import LettersErrors

# The other commands' modules register them on `app` when imported.
from letters import cli_import, cli_mail, cli_print  # noqa: F401  # isort: skip


@command()
def init(
    folder: Annotated[str, typer.Argument(help="Folder to create the sample campaign in.")],
    force: Annotated[bool, typer.Option(help="Overwrite sample files already there.")] = False,
) -> None:
    """Copy the sample campaign (recipients, cases, templates) into DIRECTORY."""
    from letters.sample import copy_sample

    written = copy_sample(folder, force=force)
    shown = escape(shlex.quote(folder))
    out.print(f"Created a sample campaign in {shown} ({len(written)} files).")
    out.print(f"Next: [bold]letters -C {shown} build[/bold]")


@command()
def check(context: typer.Context, project: Project = None) -> None:
    """Validate everything and render every letter in memory; report all problems."""
    from letters.commands.check import check as run_check

    root = _root(context, project)
    report = run_check(root)
    show_warnings(report.warnings, root)
    if report.errors:
        raise typer.Exit(show_errors(LettersErrors(report.errors), root, writes=False))
    show_ok(
        f"{report.recipients} recipients, {report.cases} cases, "
        f"{report.templates} templates, {report.letters} letters render."
    )


@command("list")
def list_(context: typer.Context, project: Project = None) -> None:
    """Show cases, templates and who gets which letter."""
    from letters.commands.listing import listing
    from letters.display import show_tables

    show_tables(listing(_root(context, project)))


@command()
def build(
    context: typer.Context,
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
    envelopes: Annotated[str | None, typer.Option(help="With --print: envelopes of SIZE.")] = None,
    labels: Annotated[str | None, typer.Option(help="With --print: labels on SHEET.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    watch: Annotated[bool, typer.Option(help="Rebuild what changed on every save.")] = False,
    project: Project = None,
) -> None:
    """Write out/<case>/<template>/<recipient>.<format> and out/<case>/manifest.json."""
    from letters.cli_build import build_once, watch_build
    from letters.output.options import BuildOptions, parse_shard
    from letters.output.workers import default_jobs

    root = _root(context, project)
    options = BuildOptions(
        formats=tuple(dict.fromkeys([*(formats or ["md"]), *(["pdf"] if print_file else [])])),
        out_dir=out_dir.resolve() if out_dir else None,
        cases=tuple(cases or ()),
        to=tuple(to or ()),
        paper=paper,
        force=force,
        dry_run=dry_run,
        keep_going=keep_going,
        pdf_variant=pdf_variant,
        print_file=print_file,
        duplex=duplex,
        jobs=default_jobs() if jobs is None else jobs,
        fail_fast=fail_fast,
        shard=parse_shard(shard) if shard else None,
    )
    finish = cli_print.print_job(root, options, envelopes, labels, quiet)  # checked first
    if watch:
        raise typer.Exit(watch_build(root, options))
    raise typer.Exit(finish(build_once(root, options, quiet)))


@command()
def preview(
    context: typer.Context,
    case: Annotated[str, typer.Argument(help="The case id (file name in cases/).")],
    to: Annotated[str | None, typer.Option("--to", help="The recipient id.")] = None,
    template: Annotated[
        str | None, typer.Option(help="The template, when the recipient gets several.")
    ] = None,
    plain: Annotated[bool, typer.Option(help="Print the raw Markdown.")] = False,
    pager: Annotated[bool, typer.Option(help="Page a long letter in a terminal.")] = True,
    watch: Annotated[bool, typer.Option(help="Show it again on every save.")] = False,
    project: Project = None,
) -> None:
    """Show one letter in the terminal."""
    from letters.commands.preview import preview as run_preview
    from letters.display import show_letter

    root = _root(context, project)
    show = lambda: show_letter(run_preview(root, case, to, template), plain, pager and not watch)  # noqa: E731
    if watch and to is not None:
        from letters.cli_build import watch_preview  # with the build's imports: watch only

        raise typer.Exit(watch_preview(root, show))
    show()


@command("merge-print")
def merge_print(
    context: typer.Context,
    cases: Annotated[list[str] | None, typer.Argument(help="Cases (default: all).")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output folder.")] = None,
    duplex: Annotated[bool, typer.Option(help="Pad letters to an even page count.")] = False,
    paper: Annotated[str | None, typer.Option(help="Paper default, as for build.")] = None,
    project: Project = None,
) -> None:
    """Join the PDFs of a sharded build (gathered in one out/) into print.pdf."""
    from letters.output.options import BuildOptions
    from letters.output.print_files import merge_print as run_merge

    root = _root(context, project)
    options = BuildOptions(
        out_dir=out_dir.resolve() if out_dir else None,
        cases=tuple(cases or ()),
        paper=paper,
        print_file=True,
        duplex=duplex,
    )
    for path in run_merge(root, options):
        out.print(f"Print file: {relative(path, root)}")


def main() -> None:
    try:
        app_for(sys.argv[1:])(prog_name="letters")
    except Exception as exc:
        if os.environ.get("LETTERS_DEBUG"):
            raise
        if isinstance(exc, OSError):  # a disk problem no library call named: still named
            where = f"{exc.filename}: " if exc.filename else ""
            err.print(f"[red]error:[/red] {escape(where)}{escape(exc.strerror or str(exc))}")
            sys.exit(EXIT_OUTPUT)
        err.print(
            f"[red]internal error:[/red] {type(exc).__name__}: {escape(str(exc))}\n"
            "  This is a bug in letters, not in your files. Run again with LETTERS_DEBUG=1 "
            "for details and report it."
        )
        sys.exit(EXIT_OUTPUT)
