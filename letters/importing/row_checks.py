"""Whether the recipient a row makes is valid: the schema, through the workspace's one
translator of pydantic errors, and the envelope window (letters.compose.address). Each problem
is said at the row's cell for the field, or in recipients.yaml for a value kept from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from letters.compose.address import Window, too_many_lines_message, window_problems
from letters.errors import LettersError, LettersErrors
from letters.importing.columns import Column, first_column
from letters.importing.names import slugify
from letters.importing.rows import Row, cell_error
from letters.workspace.schema import Recipient
from letters.workspace.validation import Path_, validate
from letters.workspace.yamlio import Located

# Fields that make the lines in the envelope window, and the paper that sets how many fit.
WINDOW_FIELDS = frozenset({"honorific", "name", "title", "organisation", "address", "paper"})


@dataclass
class RowPlace:
    """Where a problem with the recipient a row makes is: the row's cell for the field, or
    recipients.yaml for a value the row keeps from there. A `Locator` for `validate`."""

    row: Row
    data: dict[str, Any]  # the whole entry the row makes, as plain text data
    index: int | None  # the entry in recipients.yaml, None when new
    located: Located | None  # recipients.yaml
    source: Path
    columns: list[Column]

    def error(
        self, path: Path_, message: str, hint: str = "", *, key: bool = False
    ) -> LettersError:
        name = str(path[0]) if path else ""
        field = f"{name}.{path[1]}" if name in ("fields", "address") and len(path) > 1 else name
        column = self.row.columns.get(field) or self.row.columns.get(name)
        if column is None and self.index is None:
            column = first_column(self.columns, name)  # a new row: the empty cell for it
        value = self.data.get(name)
        if name == "id" and isinstance(value, str):
            hint = (
                f"did you mean {slugify(value)!r}? Or leave the id empty to make one from the name"
            )
        elif name == "name" and name not in self.data:
            hint = "fill in the name: every new recipient needs one"
        located = self.located
        if column is None and self.index is not None and located is not None and name != "name":
            # The problem is in recipients.yaml, not in this row: point there.
            return located.error(
                ("recipients", self.index, *path),
                message if key else f"{name}: {message}",  # an unknown key names itself
                f"fix it there (row {self.row.number} updates this recipient)",
                key=key,
            )
        return cell_error(self.row, column, self.source, message, hint)


def row_problems(place: RowPlace, windows: dict[str, Window] | None) -> list[LettersError]:
    """Problems with the recipient a row makes (`place.data`); with `windows`, also whether
    its address fits the envelope window (the rules `letters check` applies)."""
    try:
        recipient = validate(Recipient, place, cells=True)
    except LettersErrors as problems:
        return list(problems.errors)
    if windows is None:
        return []
    return _window_errors(place.row, recipient, place.source, windows)


def _window_errors(
    row: Row, recipient: Recipient, source: Path, windows: dict[str, Window]
) -> list[LettersError]:
    """The address block must fit the envelope window, as letters.output.plan checks it:
    long lines wrap, a tall block is set smaller, and only a block that does not fit even
    then is a problem, reported at the row in its first address-block column."""
    paper = recipient.paper or "a4"
    block = next(
        (
            row.columns[name]
            for name in ("address", "organisation", "title", "name", "honorific", "paper")
            if name in row.columns
        ),
        None,
    )
    return [
        cell_error(
            row,
            block,
            source,
            too_many_lines_message(problem, paper),
            "shorten the address: join lines, abbreviate, or leave out the job title",
        )
        for problem in window_problems(recipient, windows[paper])
    ]
