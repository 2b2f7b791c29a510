"""Whether the recipient a row makes is valid: the schema, through the workspace's one
translator of pydantic errors, and the envelope window (letters.compose.address). Each problem
is said at the row's cell for the field, or in recipients.yaml for a value kept from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from letters.compose.address import ADDRESS_WIDTH_MM, too_many_lines_message, window_problems
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
        field = f"fields.{path[1]}" if name == "fields" and len(path) > 1 else name
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


def row_problems(place: RowPlace, window: bool = True) -> list[LettersError]:
    """Problems with the recipient a row makes (`place.data`); with `window`, also whether its
    address fits the envelope window (the rules `letters check` applies)."""
    try:
        recipient = validate(Recipient, place, cells=True)
    except LettersErrors as problems:
        return list(problems.errors)
    return _window_errors(place.row, recipient, place.source) if window else []


def _window_errors(row: Row, recipient: Recipient, source: Path) -> list[LettersError]:
    """The address block must fit the envelope window, as letters.output.plan checks it (see
    `window_problems`). Each problem is reported at the row, in the column of the value (or,
    for a value kept from recipients.yaml, the row's first address-block column).
    """
    errors: list[LettersError] = []
    paper = recipient.paper or "a4"
    block = next(
        (
            row.columns[name]
            for name in ("address", "organisation", "title", "name", "honorific", "paper")
            if name in row.columns
        ),
        None,
    )
    from_row = row.address_columns if "address" in row.values else []
    for problem in window_problems(recipient, paper):
        path = problem.field
        if path == ("address",):  # too many lines
            errors.append(
                cell_error(
                    row,
                    block,
                    source,
                    too_many_lines_message(problem.lines, paper),
                    "shorten the address: join lines or leave out the job title",
                )
            )
            continue
        column: Column | None
        if path == ("name",):
            column = row.columns.get("name") or row.columns.get("honorific")
        elif path[0] == "address":
            line = int(path[1])
            column = from_row[line] if line < len(from_row) else None
        else:
            column = row.columns.get(str(path[0]))
        kept = "" if column else f" (the {path[0]} in recipients.yaml)"
        message = (
            f"{problem.value!r}{kept} prints {problem.width_mm:.0f} mm wide, wider than the "
            f"envelope window ({ADDRESS_WIDTH_MM[paper]:.0f} mm)"
        )
        if path[0] != "address":
            hint = "shorten it (an abbreviation, say)"
        elif column and path[1] == row.joined_line:
            hint = (
                "City, State and Postcode share this line: abbreviate the state or the "
                "city, or put part of the city on a line above it (a line break in the cell)"
            )
        else:
            hint = "split it over two address lines (a line break in the cell, or another column)"
        errors.append(cell_error(row, column or block, source, message, hint))
    return errors
