"""The pre-scan of an OpenDocument spreadsheet (.ods): the mimetype and password checked, and
every sheet of content.xml measured as calamine would store it while it is copied into the
new zip file that calamine reads (see workbook_zip).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from letters.errors import LettersError
from letters.importing.sheet_limits import (
    MAX_CELLS,
    MAX_TEXT_MB,
    MB,
    Used,
    too_many_cells,
    too_much_text,
    unreadable,
)
from letters.importing.workbook_zip import Zip, local_name, repeat_count

_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_ODS_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:'
    'tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry '
    'manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"'
    '/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


def checked_ods(book: Zip) -> bytes:
    source = book.source
    mimetype = book.find("mimetype")
    assert mimetype is not None
    chunks = book.chunks(mimetype)
    head = next(chunks, b"")
    chunks.close()
    if head.strip() not in (_ODS_MIMETYPE, _ODS_MIMETYPE + b"-template"):
        raise unreadable(source, "this is not an OpenDocument spreadsheet")
    manifest = book.find("META-INF/manifest.xml")
    if manifest is not None:

        def encrypted(name: str, attrs: dict[str, str]) -> None:
            if local_name(name) == "encryption-data":
                raise LettersError(
                    "the spreadsheet is protected by a password",
                    source,
                    hint="open it, save a copy without the password, and import that",
                )

        book.parse(manifest, encrypted)
    content = book.find("content.xml")
    assert content is not None
    scan = _OdsScan(source)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as copy:
        copy.writestr(zipfile.ZipInfo("mimetype"), _ODS_MIMETYPE, zipfile.ZIP_STORED)
        copy.writestr("META-INF/manifest.xml", _ODS_MANIFEST)
        with copy.open("content.xml", "w") as stream:
            book.parse(content, scan.start, scan.end, scan.text, stream.write)
    return out.getvalue()


_ODS_CELLS = ("table:table-cell", "table:covered-table-cell")
_ODS_VALUES = (
    "office:value",
    "office:string-value",
    "office:date-value",
    "office:time-value",
    "office:boolean-value",
)
_ODS_TEXTS = ("office:string-value", "office:date-value", "office:time-value", "table:formula")


class _OdsScan:
    """The sheets of an .ods content.xml, as calamine reads them all when it opens the file.

    A cell repeated N times (table:number-columns-repeated) is N cells when it holds
    something; empty cells count only when a cell follows them in the row, so the empty tail
    LibreOffice writes at the end of each row does not. A row repeated N times is N rows when
    it holds something, and the empty rows before it count too; the empty rows after the last
    one that holds something do not. Elements named as calamine names them ("table:table-row").
    """

    def __init__(self, source: Path) -> None:
        self.source = source
        self.tables = 0
        self.table: Used | None = None
        self.rows_before = 0  # rows of the sheet above the current one, repeats counted
        self.repeat: int | None = None  # of the current row; None outside rows
        self.stored = 0  # cells of the current row as calamine stores it (once)
        self.width = 0  # up to its last cell that holds something
        self.pending = 0  # empty cells stored if another cell follows
        self.row_text = 0
        self.depth = 0  # inside a cell
        self.cell_repeat = 1
        self.cell_text = 0
        self.filled = False
        self.cells = 0  # stored by calamine, every sheet
        self.area = 0  # of the used ranges of the sheets already read
        self.text_size = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if self.depth:
            if name in _ODS_CELLS or name in ("table:table-row", "table:table"):
                raise unreadable(self.source, f"a <{name}> inside a cell")
            self.depth += 1
            if name == "text:p":
                self.cell_text += 1
            elif name == "text:s":
                self.cell_text += repeat_count(attrs.get("text:c", "1"), self.source, 0)
        elif name == "table:table":
            if self.table is not None:
                raise unreadable(self.source, "a sheet inside a sheet")
            self.tables += 1
            self.table = Used(self.source, attrs.get("table:name", "") if self.tables > 1 else "")
            self.rows_before = 0
        elif name == "table:table-row" and self.table is not None:
            if self.repeat is not None:
                raise unreadable(self.source, "a row inside a row")
            self.repeat = repeat_count(attrs.get("table:number-rows-repeated", "1"), self.source)
            self.stored = self.width = self.pending = self.row_text = 0
        elif name in _ODS_CELLS and self.repeat is not None:
            self.depth = 1
            self.cell_repeat = repeat_count(
                attrs.get("table:number-columns-repeated", "1"), self.source
            )
            self.store(self.pending)  # calamine stores the empty cells before this one
            self.pending = 0
            self.filled = (
                any(key in attrs for key in _ODS_VALUES)
                or attrs.get("office:value-type") == "string"
                or bool(attrs.get("table:formula"))
            )
            self.cell_text = sum(len(attrs.get(key, "")) for key in _ODS_TEXTS)
            if self.filled:
                self.store(self.cell_repeat)
                self.width = self.stored
            else:
                self.pending = self.cell_repeat

    def end(self, name: str) -> None:
        if self.depth:
            self.depth -= 1
            if not self.depth and self.filled:
                self.row_text += self.cell_text * self.cell_repeat
        elif name == "table:table-row" and self.repeat is not None and self.table is not None:
            if self.width:
                self.table.reach(self.rows_before + self.repeat, self.width)
                if self.area + self.table.rows * self.table.columns > MAX_CELLS:
                    raise too_many_cells(self.source)
                self.add(self.row_text * self.repeat)
            self.rows_before += self.repeat
            self.repeat = None
        elif name == "table:table" and self.table is not None:
            self.area += self.table.rows * self.table.columns
            self.table = None

    def text(self, data: str) -> None:
        if self.depth:
            self.cell_text += len(data)

    def store(self, cells: int) -> None:
        self.stored += cells
        self.cells += cells
        if self.cells > MAX_CELLS:
            raise too_many_cells(self.source)

    def add(self, size: int) -> None:
        self.text_size += size
        if self.text_size > MAX_TEXT_MB * MB:
            raise too_much_text(self.source)
