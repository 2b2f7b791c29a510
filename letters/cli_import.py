"""`letters import`: merge the rows of a spreadsheet into recipients.yaml.

Registered on the app of letters/cli.py by the import at the bottom of that module; the
import itself is letters.importing.import_recipients.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from letters.cli_app import Project, _root, command


@command("import")
def import_(
    context: typer.Context,
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
    name_order: Annotated[
        str | None,
        typer.Option(
            help="Join First and Last name columns given-first or family-first "
            "(default: family-first for zh, ja, ko, vi, hu rows and CJK names, else given-first)."
        ),
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option(help="Give every new recipient this tag (repeatable).")
    ] = None,
    project: Project = None,
) -> None:
    """Merge the rows of a spreadsheet into recipients.yaml: add new people, update known ones."""
    from letters.display import show_import
    from letters.importing import import_recipients

    root = _root(context, project)
    report = import_recipients(
        root,
        file,
        map_ or [],
        encoding=encoding,
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        name_order=name_order,
        tags=tag or [],
    )
    show_import(report, root)
    raise typer.Exit(report.exit_code)
