"""Regenerate targets.xlsx and targets.ods, the spreadsheet fixtures of test_import.py.

Run by hand (`python tests/data/make_spreadsheets.py`) after `pip install openpyxl odfpy`;
the tests read the committed files, so neither library is a test dependency.
Both files hold the same rows, typed the way a campaigner's spreadsheet types them: a
postcode typed as a number, one typed as text with a leading zero, a real date cell.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent

HEADER = [
    "Name",
    "Organization",
    "Position",
    "Address",
    "Postcode",
    "Country",
    "E-mail",
    "Language",
    "Tags",
    "Since",
    "Notes",
]
ROWS: list[list[Any]] = [
    [
        "Nguyễn Văn An",
        "Bộ Công an",
        "Thứ trưởng",
        "Số 44 Yết Kiêu\nHoàn Kiếm, Hà Nội",
        100000,
        "Việt Nam",
        "an@example.vn",
        "vi",
        "gov; viet-nam",
        dt.date(2018, 6, 8),
        "",
    ],
    [
        "Élise Dupont",
        "Ministère de la Justice",
        "Directrice",
        "13 place Vendôme",
        "75001",
        "France",
        "elise@example.fr",
        "fr",
        "gov",
        None,
        "call first",
    ],
    [],
    [
        "Ola Nordmann",
        "Datatilsynet",
        "Director",
        "Postboks 458 Sentrum",
        "0105",
        "Norway",
        "",
        "no",
        "",
        None,
        "",
    ],
]


def write_xlsx(path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Targets"
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append([None if value == "" else value for value in row])
    book.save(path)


def write_ods(path: Path) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    table = Table(name="Targets")
    for values in [HEADER, *ROWS]:
        row = TableRow()
        for value in values:
            if value is None or value == "":
                row.addElement(TableCell())
            elif isinstance(value, dt.date):
                cell = TableCell(valuetype="date", datevalue=value.isoformat())
                cell.addElement(P(text=value.isoformat()))
                row.addElement(cell)
            elif isinstance(value, int | float):
                cell = TableCell(valuetype="float", value=value)
                cell.addElement(P(text=str(value)))
                row.addElement(cell)
            else:
                cell = TableCell(valuetype="string")
                for line in str(value).split("\n"):
                    cell.addElement(P(text=line))
                row.addElement(cell)
        table.addElement(row)
    document.spreadsheet.addElement(table)
    document.save(str(path))


if __name__ == "__main__":
    write_xlsx(HERE / "targets.xlsx")
    write_ods(HERE / "targets.ods")
