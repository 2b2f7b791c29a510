"""What one sheet may hold, the errors that refuse a workbook, and a typed cell as text.

Shared by every reader of a workbook: the pre-scans of .xlsx and .ods files, python-calamine
in this process, and the child process that reads a binary .xls.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from letters.errors import LettersError

# What one sheet may hold. python-calamine keeps every cell of a sheet's used range (row 1 to
# the last row, column A to the last column used), so a single stray cell at ZZ100000 costs
# gigabytes: each limit is checked before calamine reads the sheet.
MAX_ROWS = 100_000
MAX_COLUMNS = 200
MAX_CELLS = 2_000_000  # rows × columns of the used range (100,000 rows of 20 columns)
MAX_TEXT_MB = 100  # the text of all the cells, a value counted again in each cell repeating it

MB = 1 << 20
CHUNK = 1 << 20  # what is read (or unzipped) at a time
SAVE_AGAIN = "open it in a spreadsheet program and save it again as .xlsx, .ods or .csv"
_TOO_BIG_HINT = (
    "delete the stray cells far below or right of your data (Ctrl+End shows where the sheet "
    "ends), or copy the data into a new sheet"
)


def unreadable(source: Path, detail: str) -> LettersError:
    return LettersError(f"cannot read the spreadsheet: {detail}", source, hint=SAVE_AGAIN)


def cell_text(value: Any) -> str:
    """A typed spreadsheet cell as the text the spreadsheet shows."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # Postcodes and phone numbers are often typed as numbers: 95014.0 means "95014".
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


# A sheet too large to read -------------------------------------------------------------------


def _column_name(number: int) -> str:
    """1 → A, 27 → AA, 16384 → XFD."""
    name = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _too_big(source: Path, rows: int, columns: int, sheet: str = "") -> LettersError:
    if columns <= 10**6:
        cell = f"cell {_column_name(max(columns, 1))}{rows}"
    else:  # a reference of absurd length
        cell = f"row {rows:,}, column {columns:,}"
    if rows > MAX_ROWS or columns > MAX_COLUMNS:
        size = f"{_count(rows, 'row')}, {_count(columns, 'column')}"
        most = f"{MAX_ROWS:,} rows and {MAX_COLUMNS:,} columns"
    else:
        size = f"{rows:,} rows × {columns:,} columns = {rows * columns:,} cells"
        most = f"{MAX_CELLS:,} cells ({MAX_ROWS:,} rows of {MAX_CELLS // MAX_ROWS} columns, say)"
    where = f"sheet {sheet!r}: its" if sheet else "the sheet's"
    return LettersError(
        f"{where} used range reaches {cell} ({size}); letters imports at most {most}",
        source,
        hint=_TOO_BIG_HINT,
    )


def too_much_text(source: Path) -> LettersError:
    return LettersError(
        f"the sheet holds more than {MAX_TEXT_MB} MB of text (a value counts again in each cell "
        f"that repeats it); letters imports at most {MAX_TEXT_MB} MB",
        source,
        hint="delete the cells you do not need, or save the list as .csv",
    )


def too_many_cells(source: Path) -> LettersError:
    return LettersError(
        f"the workbook holds more than {MAX_CELLS:,} cells in all (counting every sheet, and "
        f"the empty cells between filled ones); letters imports at most {MAX_CELLS:,}",
        source,
        hint="delete the sheets and the stray cells you do not need, or save the sheet of "
        "recipients alone as .csv",
    )


class Used:
    """The used range of one sheet, refused as soon as it grows too large."""

    def __init__(self, source: Path, sheet: str = "") -> None:
        self.source = source
        self.sheet = sheet
        self.rows = 0
        self.columns = 0

    def reach(self, rows: int, columns: int) -> None:
        self.rows = max(self.rows, rows)
        self.columns = max(self.columns, columns)
        if (
            self.rows > MAX_ROWS
            or self.columns > MAX_COLUMNS
            or self.rows * self.columns > MAX_CELLS
        ):
            raise _too_big(self.source, self.rows, self.columns, self.sheet)
