"""The pre-scan of an .xlsx workbook: its first sheet found as calamine finds it, its used
range and text measured while the parts are copied into the new, smaller zip file that
calamine reads (see workbook_zip).
"""

from __future__ import annotations

import array
import io
import posixpath
import zipfile
from pathlib import Path

from letters.errors import LettersError
from letters.importing.sheet_limits import MAX_TEXT_MB, MB, Used, too_much_text, unreadable
from letters.importing.workbook_zip import NUMBER, REF, Zip, cell_ref, local_name

_XLSX_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_XLSX_RELATIONS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XLSX_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
    'ContentType="application/xml"/></Types>'
)
_XLSX_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    f'.org/package/2006/relationships"><Relationship Id="rId1" Type="{_XLSX_RELATIONS}/'
    'worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
_XLSX_PACKAGE = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    f'.org/package/2006/relationships"><Relationship Id="rId1" Type="{_XLSX_RELATIONS}/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)


def checked_xlsx(book: Zip, workbook: zipfile.ZipInfo) -> bytes:
    source = book.source
    folder, name = posixpath.split(workbook.filename)
    rels = book.find(posixpath.join(folder, "_rels", name + ".rels"))
    if rels is None:
        raise unreadable(source, f"the workbook has no list of its parts for {name}")
    targets: dict[str, tuple[str, str]] = {}

    def relationship(name: str, attrs: dict[str, str]) -> None:
        if local_name(name) == "Relationship" and "Id" in attrs:
            targets[attrs["Id"]] = (attrs.get("Target", ""), attrs.get("Type", ""))

    book.parse(rels, relationship)
    sheets: list[str] = []  # the relationship id of each sheet
    date1904: list[bool] = []

    def sheet_list(name: str, attrs: dict[str, str]) -> None:
        if local_name(name) == "sheet":
            ids = [value for key, value in attrs.items() if key.endswith(":id")]
            sheets.append(ids[-1] if ids else "")
        elif local_name(name) == "workbookPr":
            date1904.append(attrs.get("date1904") in ("1", "true"))

    book.parse(workbook, sheet_list)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as copy:
        copy.writestr("[Content_Types].xml", _XLSX_TYPES)
        copy.writestr("_rels/.rels", _XLSX_PACKAGE)
        copy.writestr("xl/_rels/workbook.xml.rels", _XLSX_RELS)
        properties = '<workbookPr date1904="1"/>' if any(date1904) else ""
        listed = '<sheet name="Sheet1" sheetId="1" r:id="rId1"/>' if sheets else ""
        copy.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_XLSX_MAIN}" '
            f'xmlns:r="{_XLSX_RELATIONS}">{properties}<sheets>{listed}</sheets></workbook>',
        )
        if sheets:
            part = _first_sheet(book, folder, targets, sheets[0])
            styles = book.find(posixpath.join(folder, "styles.xml"))
            if styles is not None:
                with copy.open("xl/styles.xml", "w") as stream:
                    book.parse(styles, lambda name, attrs: None, copy=stream.write)
            strings = _SharedStrings(source)
            shared = book.find(posixpath.join(folder, "sharedStrings.xml"))
            if shared is not None:
                with copy.open("xl/sharedStrings.xml", "w") as stream:
                    book.parse(shared, strings.start, strings.end, strings.text, stream.write)
            scan = _SheetScan(source, strings)
            with copy.open("xl/worksheets/sheet1.xml", "w") as stream:
                book.parse(part, scan.start, scan.end, scan.text, stream.write)
    return out.getvalue()


def _first_sheet(
    book: Zip, folder: str, targets: dict[str, tuple[str, str]], rid: str
) -> zipfile.ZipInfo:
    source = book.source
    if rid not in targets:
        raise unreadable(source, "the workbook's list of parts does not name its first sheet")
    target, kind = targets[rid]
    # Where calamine looks: "/xl/a.xml" and "xl/a.xml" from the top, "a.xml" in xl/.
    path = target[1:] if target.startswith("/") else target
    if not path.startswith(f"{folder}/"):
        path = posixpath.join(folder, path)
    path = posixpath.normpath(path)
    if kind.endswith(("/chartsheet", "/dialogsheet")) or path.split("/")[1:2] in (
        ["chartsheets"],
        ["dialogsheets"],
    ):
        raise LettersError(
            "the first sheet of the workbook is a chart, not a table of cells",
            source,
            hint="move the sheet of recipients to the front, or save it alone as .csv",
        )
    part = book.find(path)
    if part is None:
        raise unreadable(source, f"its first sheet ({path[:100]}) is missing")
    return part


class _SharedStrings:
    """The length of each shared string of an .xlsx (phonetic runs counted too).

    A cell that names a shared string gets a copy of it: a long string named by many cells is
    much text. calamine 0.37 keeps every <si>; some versions skip the empty ones, so the
    length for an index is the larger of the two readings.
    """

    def __init__(self, source: Path) -> None:
        self.source = source
        self.every = array.array("I")
        self.filled = array.array("I")
        self.inside = False
        self.in_text = 0
        self.phonetic = 0
        self.length = 0
        self.visible = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        local = local_name(name)
        if local == "si":
            if self.inside:
                raise unreadable(self.source, "a shared string inside a shared string")
            self.inside, self.length, self.visible = True, 0, 0
        elif local == "t":
            self.in_text += 1
        elif local == "rPh":
            self.phonetic += 1

    def end(self, name: str) -> None:
        local = local_name(name)
        if local == "si":
            self.every.append(self.length)
            if self.visible:
                self.filled.append(self.length)
            self.inside = False
        elif local == "t":
            self.in_text -= 1
        elif local == "rPh":
            self.phonetic -= 1

    def text(self, data: str) -> None:
        if self.inside and self.in_text:
            self.length += len(data)
            if not self.phonetic:
                self.visible += len(data)

    def length_of(self, index: int) -> int:
        every = self.every[index] if index < len(self.every) else 0
        return max(every, self.filled[index] if index < len(self.filled) else 0)


class _SheetScan:
    """The used range and the text of an .xlsx sheet, found as calamine finds them.

    The <dimension> counts, and so does every <row r="7"> and <c r="B7">; a cell without a
    reference goes right of the cell before it, on the row calamine is on (the last <row r>,
    plus one for each </row> since). Rows and cells inside a cell are refused, as calamine
    would not see them where expat does. (Called for every element: kept quick.)
    """

    _KINDS = frozenset({"c", "row", "v", "dimension", "sheetData"})

    def __init__(self, source: Path, shared: _SharedStrings) -> None:
        self.source = source
        self.shared = shared
        self.used = Used(source)
        self.row = 0  # where calamine puts a cell without a reference, 0-based
        self.column = 0
        self.depth = 0  # of elements inside the cell we are in; 0 outside cells
        self.kind = ""  # the cell's t="": "s" for a shared string
        self.value: list[str] | None = None  # the text of its <v>, while inside it
        self.text_size = 0
        self.rows: list[int] = []  # the r="" of the <row> elements we are in
        self.names: dict[str, str] = {}  # element name → "c", "row"... or ""
        self.letters: dict[str, int] = {}  # column letters → number

    def name(self, name: str) -> str:
        local = name.rpartition(":")[2]
        self.names[name] = kind = local if local in self._KINDS else ""
        return kind

    def ref(self, text: str) -> tuple[int, int]:
        """cell_ref, with the columns already met looked up."""
        match = REF.fullmatch(text)
        column = self.letters.get(match.group(1)) if match else None
        if match is None or column is None or len(match.group(2)) > 15:
            row, column = cell_ref(text, self.source)
            if match is not None and len(match.group(1)) <= 12:
                self.letters[match.group(1)] = column
            return row, column
        row = int(match.group(2))
        return (row, column) if row else cell_ref(text, self.source)

    def start(self, name: str, attrs: dict[str, str]) -> None:
        kind = self.names.get(name)
        if kind is None:
            kind = self.name(name)
        if self.depth:
            if self.value is not None or kind in ("c", "row", "sheetData"):
                raise unreadable(self.source, f"a <{name[:40]}> inside a cell")
            if kind == "v":
                self.value = []
            self.depth += 1
        elif kind == "c":
            ref = attrs.get("r")
            if ref is None:
                row, column = self.row + 1, self.column + 1
            else:
                row, column = self.ref(ref)
            self.column = column  # the next cell without a reference goes right of it
            if row > self.used.rows or column > self.used.columns:
                self.used.reach(row, column)
            self.kind = attrs.get("t", "")
            self.depth = 1
        elif kind == "row":
            ref = attrs.get("r")
            if ref is not None:
                self.row = cell_ref(ref, self.source, column=False)[0] - 1
            # Counted at its end, after its cells have named themselves in the message.
            self.rows.append(0 if ref is None else self.row + 1)
        elif kind == "dimension":
            for part in attrs.get("ref", "").split(":"):
                self.used.reach(*cell_ref(part, self.source))

    def end(self, name: str) -> None:
        if self.depth:
            self.depth -= 1
            if self.value is not None:  # nothing nests in a <v>: this ends it
                text = "".join(self.value)
                self.value = None
                if self.kind != "s":
                    self.add(len(text))
                elif NUMBER.fullmatch(text):
                    self.add(self.shared.length_of(int(text)))
        elif self.names.get(name) == "row":
            row = self.rows.pop() if self.rows else 0
            if row > self.used.rows:
                self.used.reach(row, 0)
            self.row += 1
            self.column = 0

    def text(self, data: str) -> None:
        if self.value is not None:
            self.value.append(data)
        elif self.depth:
            self.add(len(data))

    def add(self, size: int) -> None:
        self.text_size += size
        if self.text_size > MAX_TEXT_MB * MB:
            raise too_much_text(self.source)
