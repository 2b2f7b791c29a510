"""The spreadsheet as rows of text: the file opened safely and read once, a CSV file decoded
and split, a workbook checked (xlsx_scan, ods_scan) and read by python-calamine, or read in a
child process when it cannot be checked (legacy_xls).
"""

from __future__ import annotations

import codecs
import csv
import errno
import io
import os
import posixpath
import stat
import zipfile
from pathlib import Path

from letters.errors import LettersError
from letters.fileio import kind_of
from letters.importing.legacy_xls import read_in_child
from letters.importing.ods_scan import checked_ods
from letters.importing.sheet_limits import CHUNK, MB, Used, cell_text, unreadable
from letters.importing.workbook_zip import Zip, local_name
from letters.importing.xlsx_scan import checked_xlsx

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
BOOK_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}
DELIMITERS = (",", ";", "\t", "|")
MAX_FILE_MB = 100  # the file as it is stored, a CSV file or a workbook

_CHILD_SUFFIXES = {".xls", ".xlsb"}
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE2 compound file: a legacy .xls
_ZIP_MAGIC = b"PK\x03\x04"


def read_table(source: Path, encoding: str | None = None) -> list[list[str]]:
    """Every row of the file's first sheet as text cells; index 0 is spreadsheet row 1.

    The file is read once, through a descriptor checked to be a regular file, and everything
    after works on those bytes: a workbook is checked (its size, the used range of its sheet)
    and then handed to python-calamine, or read in a child process when it cannot be checked.
    """
    suffix = source.suffix.lower()
    fd = _open_source(source)
    try:
        if suffix not in BOOK_SUFFIXES and suffix not in CSV_SUFFIXES:
            raise LettersError(
                f"cannot import {suffix or 'a file without extension'!r} files",
                source,
                hint="save the sheet as .csv, .xlsx or .ods",
            )
        data = _read_all(fd, source)
    finally:
        os.close(fd)
    if suffix in BOOK_SUFFIXES:
        return _read_book(source, data, suffix)
    return _read_csv(source, data, encoding)


def _open_source(source: Path) -> int:
    """A read descriptor of `source`, which must be a regular file.

    The user names the file on the command line, so it may be anywhere and reached through a
    link; but it is opened without blocking (a FIFO would wait for a writer forever) and
    checked with fstat before a byte is read (a device would never end).
    """
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise LettersError(
            "file not found", source, hint="check the path of the spreadsheet"
        ) from None
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket
            raise _not_a_file(source, "a socket") from None
        raise LettersError(
            f"cannot open the file: {exc.strerror or exc}",
            source,
            hint="check the path of the spreadsheet, and that you may read it",
        ) from None
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        mode = 0
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise _not_a_file(source, kind_of(mode))
    return fd


def _not_a_file(source: Path, kind: str) -> LettersError:
    return LettersError(
        f"this is {kind}, not a spreadsheet file",
        source,
        hint="name the spreadsheet itself: a .csv, .xlsx, .xls or .ods file",
    )


def _read_all(fd: int, source: Path) -> bytes:
    limit = MAX_FILE_MB * MB
    too_large = LettersError(
        f"the file is larger than {MAX_FILE_MB} MB, more than letters imports",
        source,
        hint="split the list into several files, or delete the columns and sheets you do not need",
    )
    chunks: list[bytes] = []
    size = 0
    try:
        if os.fstat(fd).st_size > limit:
            raise too_large
        while chunk := os.read(fd, CHUNK):
            size += len(chunk)
            if size > limit:  # it grew while we read it
                raise too_large
            chunks.append(chunk)
    except OSError as exc:
        raise LettersError(f"cannot read the file: {exc.strerror or exc}", source) from None
    return b"".join(chunks)


def _read_book(source: Path, data: bytes, suffix: str) -> list[list[str]]:
    if suffix in _CHILD_SUFFIXES or data.startswith(_CFB_MAGIC):
        return read_in_child(source, data)
    if not data.startswith(_ZIP_MAGIC):
        raise unreadable(source, "this is not an .xlsx, .ods or .xls file")
    book = _checked_workbook(source, data)
    if book is None:  # an .xlsb under another name: its sheets are binary
        return read_in_child(source, data)
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        with CalamineWorkbook.from_filelike(io.BytesIO(book)) as workbook:
            if not workbook.sheet_names:
                return []
            sheet = workbook.get_sheet_by_index(0)
            if sheet.end is not None:  # checked before; this guards the check
                Used(source).reach(sheet.end[0] + 1, sheet.end[1] + 1)
            # Keep the empty area above and left of the data so that numbers match row 1, A.
            rows = sheet.to_python(skip_empty_area=False)
    except (CalamineError, OSError, ValueError) as exc:
        raise unreadable(source, str(exc)) from None
    except BaseException as exc:  # a Rust panic arrives as pyo3's PanicException
        if type(exc).__name__ != "PanicException":
            raise
        raise unreadable(source, "the reader failed on it") from None
    return [[cell_text(value) for value in row] for row in rows]


def _checked_workbook(source: Path, data: bytes) -> bytes | None:
    """The workbook in `data` as a new zip file of only the parts calamine reads, each one
    checked; None for an .xlsb, whose binary parts cannot be checked here."""
    book = Zip(source, data)
    with book.archive:
        if book.find("content.xml") and book.find("mimetype"):
            return checked_ods(book)
        workbook = _workbook_part(book)
        if workbook is not None and workbook.filename.lower().endswith(".bin"):
            return None
        if workbook is not None:
            return checked_xlsx(book, workbook)
    raise unreadable(source, "this zip file is not an .xlsx or .ods workbook")


def _workbook_part(book: Zip) -> zipfile.ZipInfo | None:
    """The workbook part (xl/workbook.xml, or .bin) that _rels/.rels names, or the usual one."""
    paths: list[str] = []

    def relationship(name: str, attrs: dict[str, str]) -> None:
        if local_name(name) == "Relationship" and attrs.get("Type", "").endswith("/officeDocument"):
            paths.append(posixpath.normpath(attrs.get("Target", "").lstrip("/")))

    package = book.find("_rels/.rels")
    if package is not None:
        book.parse(package, relationship)
    found = [book.find(path) for path in [*paths, "xl/workbook.xml", "xl/workbook.bin"]]
    return next((info for info in found if info is not None), None)


# CSV ----------------------------------------------------------------------------------------


def _read_csv(source: Path, data: bytes, encoding: str | None) -> list[list[str]]:
    text = _decode(data, source, encoding)
    delimiter = _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return list(reader)
    except csv.Error as exc:
        raise LettersError(
            f"cannot read the CSV file: {exc}",
            source,
            reader.line_num,
            hint="check the quotes on that line: a cell that contains the separator or a "
            'line break must be wrapped in "double quotes"',
        ) from None


def _decode(data: bytes, source: Path, encoding: str | None) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and encoding is None:
        # Excel's "Unicode text" export: UTF-16 with a byte order mark.
        encoding = "utf-16"
    name = encoding or "utf-8"
    try:
        codec = codecs.lookup(name)
    except LookupError:
        raise LettersError(
            f"unknown encoding {name!r}", hint="try utf-8, cp1252, latin-1 or utf-16"
        ) from None
    if codec.name == "utf-8":
        name = "utf-8-sig"  # a BOM is not part of the first header
    try:
        return data.decode(name)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        hint = (
            "if the file was saved by Excel on Windows, try --encoding cp1252; "
            "or save it as 'CSV UTF-8'"
            if encoding is None
            else "pass the encoding the file was saved in with --encoding"
        )
        raise LettersError(
            f"the file is not valid {codec.name} (byte {exc.start} on line {line})",
            source,
            line,
            hint=hint,
        ) from None


def _sniff_delimiter(text: str) -> str:
    """The separator that splits the header line into the most columns (`,` on a tie)."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: len(next(csv.reader([header], delimiter=d), [])) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: counts[d])  # max keeps the first on a tie
