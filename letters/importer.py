"""Merge the rows of a spreadsheet (CSV, XLSX, XLS, ODS) into recipients.yaml.

Columns are matched to recipient fields by their header, ignoring case, spaces,
underscores, hyphens and dots:

==============  ===============================================================
field           headers
==============  ===============================================================
id              Id, Recipient id, Key, Slug
name            Name, Full name, Contact, Contact name, Recipient, Person
honorific       Honorific, Title, Prefix, Name prefix, Courtesy title,
                Salutation title, Form of address
title           Job title, Position, Role, Job, Function, Office title
organisation    Organisation, Organization, Company, Org, Employer,
                Institution, Agency
address         Address, Postal address, Mailing address, Street address
salutation      Salutation, Greeting, Dear, Salutation line
language        Language, Lang, Locale
paper           Paper, Paper size
tags            Tags, Tag, Groups, Group, Labels, Label
email           Email, E-mail, Email address, Mail
fields.KEY      a header written as ``fields.KEY``
==============  ===============================================================

A bare "Title" is the form of address (Mr, Dr, H.E.), as in address-book exports and
mailing lists; a job title needs "Job title", "Position" or "Role".

The address is assembled in postal order, whatever the order of the columns: the
"Address" cell (a multi-line cell gives several lines), then "Address 1"/"Street",
"Address 2", "Address 3" (one line each), then ONE line made of "City"/"Town",
"State"/"Region"/"Province"/"County" and "Postcode"/"Postal code"/"Zip" — "City, State
Postcode" when a state is given ("Cupertino, CA 95014"), else "City Postcode"
("Manchester M1 1AA") — and last "Country" on its own line. (A line break in the City cell
puts what comes before it on a line of its own.) Tags are split on "," and ";".

``--map "Column=field"`` overrides the table for one column; the field may be any of the
above, ``fields.KEY``, or ``-`` to drop the column. A column matched by nothing is kept
under ``fields`` with its header as key in lowercase ASCII joined by underscores
("Date of birth" → ``fields.date_of_birth``), so a template can write
``recipient.fields.date_of_birth``; the report lists these columns.

Rows are matched to existing recipients by id, or by name and organisation when the row
has no id; a match is updated in place (only the fields whose value changed), anything else
is appended with an id made from the name. An empty cell never clears a value. A row whose
address block would not fit the envelope window (the limits `letters check` applies: lines, and
the printed width of each line) is invalid too. Nothing is written unless every row is valid, or
`skip_invalid` is set.

The file may come from a stranger, so it is read with limits (see "Reading the spreadsheet"): it
must be a regular file of at most MAX_FILE_MB; a workbook's first sheet may reach at most
MAX_ROWS rows, MAX_COLUMNS columns and MAX_CELLS cells, checked before python-calamine reads it
(a binary .xls is read in a child process instead); and a cell may not hold an invisible control
or bidi character (letters.controls), reported at its row and column.
"""

from __future__ import annotations

import array
import codecs
import csv
import datetime as dt
import errno
import io
import json
import os
import posixpath
import re
import stat
import string
import subprocess
import sys
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)
from ruamel.yaml.tokens import CommentToken
from ruamel.yaml.util import load_yaml_guess_indent

from letters.atomic import write_atomic
from letters.compose.address import (
    ADDRESS_WIDTH_MM,
    MAX_ADDRESS_LINES,
    line_too_wide,
    recipient_lines,
)
from letters.controls import forbidden_character, forbidden_message, normalise_newlines
from letters.errors import LettersError, LettersErrors
from letters.fileio import kind_of, read_text
from letters.workspace.load import RECIPIENTS_FILE, max_yaml_bytes, suggest
from letters.workspace.schema import Recipient
from letters.workspace.yamlio import Located, parse_yaml

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
BOOK_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}
DELIMITERS = (",", ";", "\t", "|")
MAX_ID_LENGTH = 64

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "id": ("id", "recipient id", "key", "slug"),
    "name": ("name", "full name", "fullname", "contact", "contact name", "recipient", "person"),
    "honorific": (
        "honorific",
        "title",
        "prefix",
        "name prefix",
        "courtesy title",
        "salutation title",
        "form of address",
    ),
    "title": ("job title", "jobtitle", "position", "role", "job", "function", "office title"),
    "organisation": (
        "organisation",
        "organization",
        "company",
        "org",
        "employer",
        "institution",
        "agency",
    ),
    "address": ("address", "postal address", "mailing address", "street address"),
    "salutation": ("salutation", "greeting", "dear", "salutation line"),
    "language": ("language", "lang", "locale"),
    "paper": ("paper", "paper size"),
    "tags": ("tags", "tag", "groups", "group", "labels", "label"),
    "email": ("email", "e mail", "email address", "e mail address", "mail"),
}
# Address parts in the order their lines are written; rank 0 is the "Address" block itself.
_ADDRESS_PARTS: tuple[tuple[str, ...], ...] = (
    ("address 1", "address1", "address line 1", "street", "street 1"),
    ("address 2", "address2", "address line 2", "street 2"),
    ("address 3", "address3", "address line 3", "street 3"),
    ("city", "town", "locality"),
    ("state", "region", "province", "county"),
    ("postcode", "post code", "postal code", "zip", "zip code", "zipcode"),
    ("country",),
)
# City, State and Postcode share one line: "Cupertino, CA 95014", "Manchester M1 1AA".
_CITY, _STATE, _POSTCODE = (
    next(rank for rank, part in enumerate(_ADDRESS_PARTS, 1) if part[0] == name)
    for name in ("city", "state", "postcode")
)
_LOCALITY = (_CITY, _STATE, _POSTCODE)
_HEADERS: dict[str, tuple[str, int]] = {
    **{header: (name, 0) for name, headers in _SYNONYMS.items() for header in headers},
    **{header: ("address", rank) for rank, part in enumerate(_ADDRESS_PARTS, 1) for header in part},
}
# The order keys are written in, as in the sample recipients.yaml.
FIELD_ORDER = (
    "id",
    "name",
    "honorific",
    "title",
    "organisation",
    "address",
    "salutation",
    "language",
    "paper",
    "tags",
    "email",
    "fields",
)
MAP_TARGETS = tuple(name for name in FIELD_ORDER if name != "fields")
IGNORE = "-"

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Letters that Unicode does not decompose into a base letter and a mark.
_ASCII_LETTERS = str.maketrans(
    {
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "þ": "th",
        "Þ": "Th",
        "ı": "i",
    }
)
_RESOLVERS = (VersionedResolver(version=(1, 1)), VersionedResolver(version=(1, 2)))
_STR_TAG = "tag:yaml.org,2002:str"


@dataclass(frozen=True)
class Column:
    """How one spreadsheet column is used."""

    number: int  # 1-based: column A is 1
    header: str
    target: str  # a recipient field, "fields.KEY", or "" when the column is dropped
    rank: int = 0  # the order of its line in the address
    how: str = "header"  # "header", "map" (--map), "unmapped" (to fields) or "ignored"


@dataclass(frozen=True)
class Added:
    row: int
    id: str
    name: str


@dataclass(frozen=True)
class Updated:
    row: int
    id: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Duplicate:
    row: int
    first_row: int
    id: str


@dataclass
class ImportReport:
    """What an import did (or, for a dry run, would do) to recipients.yaml."""

    source: Path
    target: Path
    columns: list[Column] = field(default_factory=list)
    added: list[Added] = field(default_factory=list)
    updated: list[Updated] = field(default_factory=list)
    unchanged: list[tuple[int, str]] = field(default_factory=list)  # (row, id)
    duplicates: list[Duplicate] = field(default_factory=list)
    skipped: list[LettersError] = field(default_factory=list)  # invalid rows, --skip-invalid
    blank_rows: int = 0
    written: bool = False
    dry_run: bool = False

    @property
    def skipped_rows(self) -> list[int]:
        return sorted({error.line for error in self.skipped})

    @property
    def unmapped(self) -> list[Column]:
        return [column for column in self.columns if column.how == "unmapped"]

    @property
    def ignored(self) -> list[Column]:
        return [column for column in self.columns if column.how == "ignored"]

    @property
    def exit_code(self) -> int:
        return 1 if self.skipped else 0


@dataclass
class _Row:
    number: int
    values: dict[str, Any]  # field → text, a tuple of lines/tags, or {key: text} for fields
    columns: dict[str, Column]  # "name", "fields.x"… → the column it came from
    address_columns: list[Column] = field(default_factory=list)  # per address line
    joined_line: int | None = None  # the address line made of City, State and Postcode


@dataclass
class _Existing:
    """recipients.yaml as plain text data (to compare) and as a round-trip tree (to edit)."""

    path: Path
    located: Located | None
    document: Any
    yaml: YAML
    crlf: bool = False

    @property
    def entries(self) -> list[Any]:
        data = self.located.data if self.located else None
        entries = data.get("recipients") if isinstance(data, dict) else None
        return entries if isinstance(entries, list) else []


@dataclass
class _Change:
    row: _Row
    id: str
    index: int | None  # the entry in recipients.yaml, None when new
    values: dict[str, Any]  # only what changes
    merged: dict[str, Any]  # the whole entry after the change, as plain text data


# Reading the spreadsheet ------------------------------------------------------------------

# What one sheet may hold. python-calamine keeps every cell of a sheet's used range (row 1 to
# the last row, column A to the last column used), so a single stray cell at ZZ100000 costs
# gigabytes: each limit is checked before calamine reads the sheet.
MAX_ROWS = 100_000
MAX_COLUMNS = 200
MAX_CELLS = 2_000_000  # rows × columns of the used range (100,000 rows of 20 columns)
MAX_TEXT_MB = 100  # the text of all the cells, a value counted again in each cell repeating it
MAX_FILE_MB = 100  # the file as it is stored, a CSV file or a workbook
MAX_PART_MB = 200  # one part of a workbook (the sheet's XML) once unzipped
# Binary workbooks (.xls, .xlsb) cannot be checked before they are read: a child process reads
# them, with this much more address space than it starts with, and is killed after this long.
CHILD_MEMORY_MB = 1024
CHILD_SECONDS = 60.0

_MB = 1 << 20
_CHUNK = 1 << 20
_MAX_ZIP_MEMBERS = 10_000
_CHILD_SUFFIXES = {".xls", ".xlsb"}
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE2 compound file: a legacy .xls
_ZIP_MAGIC = b"PK\x03\x04"
_ZIP_ENTRY = b"PK\x01\x02"  # the signature of an entry of the zip file's directory
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_REF = re.compile(r"([A-Za-z]*)([0-9]+)")
_NUMBER = re.compile(r"[0-9]{1,15}")
# What zipfile raises for a damaged member (RuntimeError: encrypted; NotImplementedError: an
# unknown compression method).
_UNZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    OSError,
)
_SAVE_AGAIN = "open it in a spreadsheet program and save it again as .xlsx, .ods or .csv"
_TOO_BIG_HINT = (
    "delete the stray cells far below or right of your data (Ctrl+End shows where the sheet "
    "ends), or copy the data into a new sheet"
)


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
    limit = MAX_FILE_MB * _MB
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
        while chunk := os.read(fd, _CHUNK):
            size += len(chunk)
            if size > limit:  # it grew while we read it
                raise too_large
            chunks.append(chunk)
    except OSError as exc:
        raise LettersError(f"cannot read the file: {exc.strerror or exc}", source) from None
    return b"".join(chunks)


def _unreadable(source: Path, detail: str) -> LettersError:
    return LettersError(f"cannot read the spreadsheet: {detail}", source, hint=_SAVE_AGAIN)


def _read_book(source: Path, data: bytes, suffix: str) -> list[list[str]]:
    if suffix in _CHILD_SUFFIXES or data.startswith(_CFB_MAGIC):
        return _read_in_child(source, data)
    if not data.startswith(_ZIP_MAGIC):
        raise _unreadable(source, "this is not an .xlsx, .ods or .xls file")
    book = _checked_workbook(source, data)
    if book is None:  # an .xlsb under another name: its sheets are binary
        return _read_in_child(source, data)
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        with CalamineWorkbook.from_filelike(io.BytesIO(book)) as workbook:
            if not workbook.sheet_names:
                return []
            sheet = workbook.get_sheet_by_index(0)
            if sheet.end is not None:  # checked before; this guards the check
                _Used(source).reach(sheet.end[0] + 1, sheet.end[1] + 1)
            # Keep the empty area above and left of the data so that numbers match row 1, A.
            rows = sheet.to_python(skip_empty_area=False)
    except (CalamineError, OSError, ValueError) as exc:
        raise _unreadable(source, str(exc)) from None
    except BaseException as exc:  # a Rust panic arrives as pyo3's PanicException
        if type(exc).__name__ != "PanicException":
            raise
        raise _unreadable(source, "the reader failed on it") from None
    return [[_cell_text(value) for value in row] for row in rows]


def _cell_text(value: Any) -> str:
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


def _too_much_text(source: Path) -> LettersError:
    return LettersError(
        f"the sheet holds more than {MAX_TEXT_MB} MB of text (a value counts again in each cell "
        f"that repeats it); letters imports at most {MAX_TEXT_MB} MB",
        source,
        hint="delete the cells you do not need, or save the list as .csv",
    )


def _too_many_cells(source: Path) -> LettersError:
    return LettersError(
        f"the workbook holds more than {MAX_CELLS:,} cells in all (counting every sheet, and "
        f"the empty cells between filled ones); letters imports at most {MAX_CELLS:,}",
        source,
        hint="delete the sheets and the stray cells you do not need, or save the sheet of "
        "recipients alone as .csv",
    )


class _Used:
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


# Checking a workbook before calamine reads it ------------------------------------------------
#
# calamine cannot tell a sheet's size before it has built it, so the parts it would read are
# scanned here first, streaming, with expat. calamine then reads a new zip file made of exactly
# the bytes that were scanned: which part is the first sheet, and what the zip file holds, are
# decided once, here. XML is read with names as written ("x:c"), as calamine matches them; a
# DOCTYPE is refused (spreadsheets have none, and entities could multiply text), and so is any
# XML that expat finds malformed, so both readers see the same elements.


def _local(name: str) -> str:
    return name.rpartition(":")[2]


def _ref(text: str, source: Path, column: bool = True) -> tuple[int, int]:
    """`B7` → (7, 2), 1-based, as calamine reads a reference; `7` too when not `column`."""
    match = _REF.fullmatch(text)
    if not match or (column and not match.group(1)):
        raise _unreadable(source, f"{text[:20]!r} is not a cell reference")
    letters, digits = match.groups()
    row = int(digits) if len(digits) <= 15 else 10**15
    if row == 0:
        raise _unreadable(source, f"{text[:20]!r} is not a cell reference")
    if len(letters) > 12:
        return row, 10**17
    number = 0
    for char in letters.upper():
        number = number * 26 + ord(char) - ord("A") + 1
    return row, number


def _number(text: str, source: Path, least: int = 1) -> int:
    if not _NUMBER.fullmatch(text) or int(text) < least:
        raise _unreadable(source, f"{text[:20]!r} is not a repeat count")
    return int(text)


class _Zip:
    """A workbook's zip file, its members found as calamine finds them (ignoring ASCII case)."""

    def __init__(self, source: Path, data: bytes) -> None:
        self.source = source
        if data.count(_ZIP_ENTRY) > _MAX_ZIP_MEMBERS:
            raise _unreadable(source, f"the zip file holds more than {_MAX_ZIP_MEMBERS:,} parts")
        try:
            self.archive = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
            raise _unreadable(source, f"the zip file is damaged ({exc})") from None
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in self.archive.infolist():
            key = info.filename.translate(_ASCII_LOWER)
            if key in self.members:  # readers disagree on which of the two they read
                raise _unreadable(source, f"the zip file holds {info.filename!r} twice")
            self.members[key] = info

    def find(self, name: str) -> zipfile.ZipInfo | None:
        return self.members.get(name.translate(_ASCII_LOWER))

    def chunks(self, info: zipfile.ZipInfo) -> Generator[bytes, None, None]:
        """The member unzipped a chunk at a time, never more than its declared size."""
        if info.file_size > MAX_PART_MB * _MB:
            raise LettersError(
                f"a part of the workbook ({info.filename}) is more than {MAX_PART_MB} MB once "
                "unzipped, more than letters reads",
                self.source,
                hint="delete the data and sheets you do not need, or save the sheet as .csv",
            )
        try:
            with self.archive.open(info) as stream:
                while chunk := stream.read(_CHUNK):
                    yield chunk
        except _UNZIP_ERRORS as exc:
            raise _unreadable(self.source, f"{info.filename} cannot be unzipped ({exc})") from None

    def parse(
        self,
        info: zipfile.ZipInfo,
        start: Callable[[str, dict[str, str]], None],
        end: Callable[[str], None] | None = None,
        text: Callable[[str], None] | None = None,
        copy: Callable[[bytes], Any] | None = None,
    ) -> None:
        """Stream the XML member through expat's handlers (and `copy`, once parsed)."""
        parser = expat.ParserCreate("utf-8")
        parser.buffer_text = True
        parser.StartElementHandler = start
        if end is not None:
            parser.EndElementHandler = end
        if text is not None:
            parser.CharacterDataHandler = text

        def doctype(*_: object) -> None:
            raise _unreadable(self.source, f"{info.filename} declares a DOCTYPE")

        parser.StartDoctypeDeclHandler = doctype
        try:
            for chunk in self.chunks(info):
                parser.Parse(chunk, False)
                if copy is not None:
                    copy(chunk)
            parser.Parse(b"", True)
        except expat.ExpatError as exc:
            raise _unreadable(
                self.source, f"{info.filename} is not well-formed XML ({exc})"
            ) from None


def _checked_workbook(source: Path, data: bytes) -> bytes | None:
    """The workbook in `data` as a new zip file of only the parts calamine reads, each one
    checked; None for an .xlsb, whose binary parts cannot be checked here."""
    book = _Zip(source, data)
    with book.archive:
        if book.find("content.xml") and book.find("mimetype"):
            return _checked_ods(book)
        workbook = _workbook_part(book)
        if workbook is not None and workbook.filename.lower().endswith(".bin"):
            return None
        if workbook is not None:
            return _checked_xlsx(book, workbook)
    raise _unreadable(source, "this zip file is not an .xlsx or .ods workbook")


def _workbook_part(book: _Zip) -> zipfile.ZipInfo | None:
    """The workbook part (xl/workbook.xml, or .bin) that _rels/.rels names, or the usual one."""
    paths: list[str] = []

    def relationship(name: str, attrs: dict[str, str]) -> None:
        if _local(name) == "Relationship" and attrs.get("Type", "").endswith("/officeDocument"):
            paths.append(posixpath.normpath(attrs.get("Target", "").lstrip("/")))

    package = book.find("_rels/.rels")
    if package is not None:
        book.parse(package, relationship)
    found = [book.find(path) for path in [*paths, "xl/workbook.xml", "xl/workbook.bin"]]
    return next((info for info in found if info is not None), None)


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
_ODS_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:'
    'tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry '
    'manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"'
    '/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


def _checked_xlsx(book: _Zip, workbook: zipfile.ZipInfo) -> bytes:
    source = book.source
    folder, name = posixpath.split(workbook.filename)
    rels = book.find(posixpath.join(folder, "_rels", name + ".rels"))
    if rels is None:
        raise _unreadable(source, f"the workbook has no list of its parts for {name}")
    targets: dict[str, tuple[str, str]] = {}

    def relationship(name: str, attrs: dict[str, str]) -> None:
        if _local(name) == "Relationship" and "Id" in attrs:
            targets[attrs["Id"]] = (attrs.get("Target", ""), attrs.get("Type", ""))

    book.parse(rels, relationship)
    sheets: list[str] = []  # the relationship id of each sheet
    date1904: list[bool] = []

    def sheet_list(name: str, attrs: dict[str, str]) -> None:
        if _local(name) == "sheet":
            ids = [value for key, value in attrs.items() if key.endswith(":id")]
            sheets.append(ids[-1] if ids else "")
        elif _local(name) == "workbookPr":
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
    book: _Zip, folder: str, targets: dict[str, tuple[str, str]], rid: str
) -> zipfile.ZipInfo:
    source = book.source
    if rid not in targets:
        raise _unreadable(source, "the workbook's list of parts does not name its first sheet")
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
        raise _unreadable(source, f"its first sheet ({path[:100]}) is missing")
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
        local = _local(name)
        if local == "si":
            if self.inside:
                raise _unreadable(self.source, "a shared string inside a shared string")
            self.inside, self.length, self.visible = True, 0, 0
        elif local == "t":
            self.in_text += 1
        elif local == "rPh":
            self.phonetic += 1

    def end(self, name: str) -> None:
        local = _local(name)
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
        self.used = _Used(source)
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
        """_ref, with the columns already met looked up."""
        match = _REF.fullmatch(text)
        column = self.letters.get(match.group(1)) if match else None
        if match is None or column is None or len(match.group(2)) > 15:
            row, column = _ref(text, self.source)
            if match is not None and len(match.group(1)) <= 12:
                self.letters[match.group(1)] = column
            return row, column
        row = int(match.group(2))
        return (row, column) if row else _ref(text, self.source)

    def start(self, name: str, attrs: dict[str, str]) -> None:
        kind = self.names.get(name)
        if kind is None:
            kind = self.name(name)
        if self.depth:
            if self.value is not None or kind in ("c", "row", "sheetData"):
                raise _unreadable(self.source, f"a <{name[:40]}> inside a cell")
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
                self.row = _ref(ref, self.source, column=False)[0] - 1
            # Counted at its end, after its cells have named themselves in the message.
            self.rows.append(0 if ref is None else self.row + 1)
        elif kind == "dimension":
            for part in attrs.get("ref", "").split(":"):
                self.used.reach(*_ref(part, self.source))

    def end(self, name: str) -> None:
        if self.depth:
            self.depth -= 1
            if self.value is not None:  # nothing nests in a <v>: this ends it
                text = "".join(self.value)
                self.value = None
                if self.kind != "s":
                    self.add(len(text))
                elif _NUMBER.fullmatch(text):
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
        if self.text_size > MAX_TEXT_MB * _MB:
            raise _too_much_text(self.source)


def _checked_ods(book: _Zip) -> bytes:
    source = book.source
    mimetype = book.find("mimetype")
    assert mimetype is not None
    chunks = book.chunks(mimetype)
    head = next(chunks, b"")
    chunks.close()
    if head.strip() not in (_ODS_MIMETYPE, _ODS_MIMETYPE + b"-template"):
        raise _unreadable(source, "this is not an OpenDocument spreadsheet")
    manifest = book.find("META-INF/manifest.xml")
    if manifest is not None:

        def encrypted(name: str, attrs: dict[str, str]) -> None:
            if _local(name) == "encryption-data":
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
        self.table: _Used | None = None
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
                raise _unreadable(self.source, f"a <{name}> inside a cell")
            self.depth += 1
            if name == "text:p":
                self.cell_text += 1
            elif name == "text:s":
                self.cell_text += _number(attrs.get("text:c", "1"), self.source, 0)
        elif name == "table:table":
            if self.table is not None:
                raise _unreadable(self.source, "a sheet inside a sheet")
            self.tables += 1
            self.table = _Used(self.source, attrs.get("table:name", "") if self.tables > 1 else "")
            self.rows_before = 0
        elif name == "table:table-row" and self.table is not None:
            if self.repeat is not None:
                raise _unreadable(self.source, "a row inside a row")
            self.repeat = _number(attrs.get("table:number-rows-repeated", "1"), self.source)
            self.stored = self.width = self.pending = self.row_text = 0
        elif name in _ODS_CELLS and self.repeat is not None:
            self.depth = 1
            self.cell_repeat = _number(attrs.get("table:number-columns-repeated", "1"), self.source)
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
                    raise _too_many_cells(self.source)
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
            raise _too_many_cells(self.source)

    def add(self, size: int) -> None:
        self.text_size += size
        if self.text_size > MAX_TEXT_MB * _MB:
            raise _too_much_text(self.source)


# Reading a binary workbook in a child process ------------------------------------------------

_CHILD_CODE = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from letters.importer import _child_main; _child_main(int(sys.argv[2]))"
)


def _read_in_child(source: Path, data: bytes) -> list[list[str]]:
    """The first sheet of a workbook that cannot be checked before it is read (.xls, .xlsb).

    calamine aborts the whole process when an allocation fails, so it runs in a child process
    with an address-space limit, killed after CHILD_SECONDS; the rows come back as JSON text.
    """
    package = str(Path(__file__).resolve().parent.parent)
    command = [sys.executable, "-c", _CHILD_CODE, package, str(CHILD_MEMORY_MB)]
    try:
        done = subprocess.run(
            command, input=data, capture_output=True, timeout=CHILD_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        raise _too_hard(source, f"reading it took longer than {CHILD_SECONDS:g} s") from None
    except OSError as exc:
        raise LettersError(
            f"cannot start a process to read the spreadsheet: {exc}", source
        ) from None
    if done.returncode != 0:
        if b"MemoryError" in done.stderr or b"memory allocation of" in done.stderr:
            raise _too_hard(source, f"it needs more than {CHILD_MEMORY_MB:,} MB of memory")
        raise _too_hard(source, "the reader stopped on it")
    if len(done.stdout) > 2 * MAX_TEXT_MB * _MB:
        raise _too_much_text(source)
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and isinstance(answer.get("error"), str):
        raise _unreadable(source, answer["error"])
    size = answer.get("size") if isinstance(answer, dict) else None
    if isinstance(size, list) and len(size) == 2 and all(isinstance(n, int) for n in size):
        _Used(source).reach(*size)
    rows = answer.get("rows") if isinstance(answer, dict) else None
    if not isinstance(rows, list) or not all(
        isinstance(row, list) and all(isinstance(cell, str) for cell in row) for row in rows
    ):
        raise _too_hard(source, "the reader's answer was not understood")
    return rows


def _too_hard(source: Path, why: str) -> LettersError:
    return LettersError(
        f"the spreadsheet is too large or damaged to read ({why})",
        source,
        hint="open it in a spreadsheet program and save it as .xlsx or .csv, which letters "
        "checks before it reads them",
    )


def _child_main(memory_mb: int) -> None:
    """In the child process: read the workbook on stdin, write its first sheet as JSON."""
    import resource

    from letters.limits import _address_space_bytes

    resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
    current = _address_space_bytes()
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    cap = current + memory_mb * _MB
    if current and (hard == resource.RLIM_INFINITY or cap < hard):
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    data = sys.stdin.buffer.read()
    from python_calamine import CalamineError, CalamineWorkbook

    answer: dict[str, Any] = {"rows": []}
    try:
        with CalamineWorkbook.from_filelike(io.BytesIO(data)) as book:
            if book.sheet_names:
                sheet = book.get_sheet_by_index(0)
                rows, columns = (sheet.end[0] + 1, sheet.end[1] + 1) if sheet.end else (0, 0)
                if rows > MAX_ROWS or columns > MAX_COLUMNS or rows * columns > MAX_CELLS:
                    answer = {"size": [rows, columns]}
                else:
                    values = sheet.to_python(skip_empty_area=False)
                    answer = {"rows": [[_cell_text(value) for value in row] for row in values]}
    except (CalamineError, OSError, ValueError) as exc:
        answer = {"error": str(exc)}
    sys.stdout.buffer.write(json.dumps(answer, ensure_ascii=False).encode("utf-8"))


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


# Columns ------------------------------------------------------------------------------------


def normalise_header(text: str) -> str:
    text = unicodedata.normalize("NFC", text).casefold()
    return " ".join(re.sub(r"[_\-.:/]", " ", text).split())


def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    """`--map "Column name=field"` options as {normalised column name: field}."""
    mapping: dict[str, str] = {}
    for item in items:
        column, sep, target = item.rpartition("=")
        column, target = column.strip(), target.strip()
        if not sep or not column or not target:
            raise LettersError(
                f"--map {item!r} is not COLUMN=FIELD", hint='write e.g. --map "Full name=name"'
            )
        if target.casefold().startswith("fields."):
            key = target[len("fields.") :].strip()
            if not key:
                raise LettersError(f"--map {item!r}: name the key after 'fields.'")
            target = f"fields.{key}"
        elif target != IGNORE:
            target = target.casefold()
            if target not in MAP_TARGETS:
                hint = suggest(target, list(MAP_TARGETS)) or (
                    "fields: " + ", ".join(MAP_TARGETS) + ", fields.KEY, or - to drop the column"
                )
                raise LettersError(f"--map {item!r}: unknown field {target!r}", hint=hint)
        mapping[normalise_header(column)] = target
    return mapping


def plan_columns(
    header: Sequence[str],
    header_row: int,
    mapping: dict[str, str],
    source: Path,
    rows: list[list[str]],
) -> list[Column]:
    """Decide what each column feeds; raise every problem with the header at once."""
    errors: list[LettersError] = []
    columns: list[Column] = []
    used: dict[str, Column] = {}
    keys: set[str] = set()
    names = {normalise_header(text) for text in header}
    for key in mapping:
        if key not in names:
            headers = [text for text in header if text.strip()]
            hint = suggest(key, [normalise_header(text) for text in headers]) or (
                "the columns are: " + ", ".join(headers)
            )
            errors.append(
                LettersError(
                    f"--map names a column {key!r} that is not in the header",
                    source,
                    header_row,
                    hint=hint,
                )
            )
    for number, raw in enumerate(header, 1):
        found = forbidden_character(normalise_newlines(raw))
        if found is not None:
            message, hint = forbidden_message(found[1])
            errors.append(LettersError(f"header: {message}", source, header_row, number, hint))
            continue
        text = " ".join(raw.split())
        key = normalise_header(text)
        if not key:
            has_data = any(number <= len(row) and row[number - 1].strip() for row in rows)
            if has_data:
                columns.append(Column(number, "", "", how="ignored"))
            continue
        if key in mapping:
            target, rank, how = mapping[key], 0, "map"
            if target == IGNORE:
                columns.append(Column(number, text, "", how="ignored"))
                continue
        elif key.startswith("fields ") and text.casefold().startswith("fields."):
            target, rank, how = f"fields.{text[len('fields.') :].strip()}", 0, "header"
        elif key in _HEADERS:
            (target, rank), how = _HEADERS[key], "header"
        else:
            target, rank, how = (
                f"fields.{_unique_key(_field_key(text, number), keys)}",
                0,
                "unmapped",
            )
        column = Column(number, text, target, rank, how)
        if target.startswith("fields."):
            keys.add(target.removeprefix("fields."))
        # Several columns may add lines to the address block; anything else takes one.
        slot = f"address/{rank}" if target == "address" else target
        first = used.get(slot)
        if first is not None and slot != "address/0":
            errors.append(
                LettersError(
                    f"columns {first.header!r} and {text!r} both give the {_label(target, rank)}",
                    source,
                    header_row,
                    number,
                    f'send one elsewhere, e.g. --map "{text}={_spare(target, text)}", '
                    f'or drop it with --map "{text}=-"',
                )
            )
        used.setdefault(slot, column)
        columns.append(column)
    if not any(column.target in ("id", "name") for column in columns) and not errors:
        errors.append(
            LettersError(
                "no column gives the recipient's name (or id)",
                source,
                header_row,
                hint='name the column "Name", or pass --map "YOUR COLUMN=name"; '
                "the header is the first row that is not empty",
            )
        )
    _raise(errors)
    return columns


def _label(target: str, rank: int) -> str:
    if target == "address" and rank:
        return f"address line {_ADDRESS_PARTS[rank - 1][0]!r}"
    return target


def _spare(target: str, header: str) -> str:
    return "fields." + _field_key(header, 0) if not target.startswith("fields.") else IGNORE


def _field_key(header: str, number: int) -> str:
    words = re.findall(r"[a-z0-9]+", _ascii(header).lower())
    return "_".join(words) or f"column_{number}"


def _unique_key(key: str, taken: set[str]) -> str:
    candidate, counter = key, 2
    while candidate in taken:
        candidate, counter = f"{key}_{counter}", counter + 1
    return candidate


# Ids ------------------------------------------------------------------------------------


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_ASCII_LETTERS))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def slugify(text: str) -> str:
    """A recipient id from a name: Nguyễn Thị Hoa → nguyen-thi-hoa."""
    slug = re.sub(r"[^a-z0-9]+", "-", _ascii(text).lower()).strip("-")
    if len(slug) > MAX_ID_LENGTH:
        slug = slug[:MAX_ID_LENGTH].rsplit("-", 1)[0]
    return slug


def unique_id(base: str, taken: set[str]) -> str:
    base = base or "recipient"  # a name with no Latin letters at all
    candidate, counter = base, 2
    while candidate in taken:
        candidate, counter = f"{base}-{counter}", counter + 1
    return candidate


def _person(name: Any, organisation: Any) -> tuple[str, str]:
    """Name and organisation compared the way a person reads them."""

    def clean(value: Any) -> str:
        text = value if isinstance(value, str) else ""
        return " ".join(unicodedata.normalize("NFC", text).casefold().split())

    return clean(name), clean(organisation)


# Rows ------------------------------------------------------------------------------------


def _row_values(
    cells: list[str], number: int, columns: list[Column], source: Path
) -> tuple[_Row, list[LettersError]]:
    row = _Row(number, {}, {})
    errors: list[LettersError] = []
    address: list[tuple[Column, list[str]]] = []
    for column in columns:
        if not column.target:
            continue
        raw = normalise_newlines(cells[column.number - 1] if column.number <= len(cells) else "")
        found = forbidden_character(raw)
        if found is not None:
            errors.append(_cell_error(row, column, source, *forbidden_message(found[1])))
            continue
        text = unicodedata.normalize("NFC", raw).strip()
        if not text:
            continue
        target = column.target
        if target == "address":
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            address.append((column, lines))
            row.columns.setdefault("address", column)
            continue
        row.columns[target] = column
        if target.startswith("fields."):
            row.values.setdefault("fields", {})[target.removeprefix("fields.")] = text
            continue
        if target == "tags":
            tags = [tag.strip() for tag in re.split(r"[,;\n]", text) if tag.strip()]
            row.values["tags"] = tuple(dict.fromkeys(tags))
            continue
        text = " ".join(text.split())  # one line: a stray line break in a name is noise
        if target == "paper":
            text = text.lower()
        elif target == "language":
            text = text.replace("_", "-")  # locale style, en_GB
        elif target == "email" and not _EMAIL.match(text):
            errors.append(
                _cell_error(
                    row,
                    column,
                    source,
                    f"{text!r} is not an email address",
                    "write one address such as name@example.org",
                )
            )
            continue
        row.values[target] = text
    width = max((column.number for column in columns), default=0)
    extra = next((n for n, cell in enumerate(cells[width:], width + 1) if cell.strip()), None)
    if extra is not None:
        # Usually a cell holding the separator without quotes, which shifts the row.
        errors.append(
            LettersError(
                f"a value in column {extra}, which has no header",
                source,
                number,
                extra,
                "give the column a header; in a CSV file, put a cell that contains the "
                'separator in "double quotes"',
            )
        )
    if address:
        assembled, joined = _address_lines(address)
        row.values["address"] = tuple(line for line, _ in assembled)
        row.address_columns = [column for _, column in assembled]
        row.joined_line = joined
    return row, errors


def _address_lines(
    address: list[tuple[Column, list[str]]],
) -> tuple[list[tuple[str, Column]], int | None]:
    """The address lines in postal order, each with the column it came from, and the index
    of the line that joins City, State and Postcode when it joins two or more of them."""
    address = sorted(address, key=lambda part: (part[0].rank, part[0].number))
    parts = {column.rank: (column, lines) for column, lines in address if column.rank in _LOCALITY}
    out: list[tuple[str, Column]] = []
    joined: int | None = None
    for column, lines in address:
        if column.rank not in _LOCALITY:
            out += [(line, column) for line in lines]
            continue
        if column.rank != min(parts):
            continue  # already written with the first part
        city_column, city_lines = parts.get(_CITY, (None, []))
        # Lines above the last one of a multi-line City cell stay lines of their own.
        out += [(line, city_column) for line in city_lines[:-1] if city_column]
        city = city_lines[-1] if city_lines else ""
        state, postcode = (" ".join(parts.get(rank, (None, []))[1]) for rank in (_STATE, _POSTCODE))
        head = ", ".join(part for part in (city, state) if part)
        out.append((" ".join(part for part in (head, postcode) if part), column))
        if sum(bool(part) for part in (city, state, postcode)) > 1:
            joined = len(out) - 1
    return out, joined


def _cell_error(
    row: _Row, column: Column | None, source: Path, message: str, hint: str = ""
) -> LettersError:
    where = f"{column.header or 'column ' + str(column.number)}: " if column else ""
    return LettersError(where + message, source, row.number, column.number if column else 0, hint)


def _differences(first: _Row, later: _Row) -> list[str]:
    """The fields where a later row for the same recipient says something else."""
    names: list[str] = []
    for name, value in later.values.items():
        if name == "id":
            continue
        if name == "fields":
            earlier = first.values.get("fields", {})
            names += [f"fields.{k}" for k, v in value.items() if earlier.get(k) != v]
        elif first.values.get(name) != value:
            names.append(name)
    return names


def _changes(existing: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The values of a row that differ from the entry already in recipients.yaml."""
    changed: dict[str, Any] = {}
    for name, value in values.items():
        current = existing.get(name)
        if name == "fields":
            current = current if isinstance(current, dict) else {}
            fields = {k: v for k, v in value.items() if current.get(k) != v}
            if fields:
                changed["fields"] = fields
            continue
        if name == "address" and isinstance(current, str):
            current = [line.strip() for line in current.splitlines() if line.strip()]
        if name == "tags" and isinstance(current, str):
            current = [current]
        if isinstance(current, list):
            current = tuple(current)
        if current != value:
            changed[name] = value
    return changed


def _merged(existing: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(existing)
    for name, value in changes.items():
        if name == "fields":
            fields = existing.get("fields")
            merged["fields"] = {**(fields if isinstance(fields, dict) else {}), **value}
        else:
            merged[name] = list(value) if isinstance(value, tuple) else value
    return merged


def _validate(
    row: _Row,
    merged: dict[str, Any],
    index: int | None,
    existing: _Existing,
    source: Path,
    columns: list[Column],
    window: bool = True,
) -> list[LettersError]:
    """Problems with the recipient a row makes; with `window`, also whether its address
    fits the envelope window (the rules `letters check` applies)."""
    try:
        recipient = Recipient.model_validate(merged)
    except ValidationError as exc:
        where = _RowPlace(row, merged, index, existing, source, columns)
        return [_explain(error, where) for error in exc.errors()]
    return _window_problems(row, recipient, source) if window else []


# Fields that make the lines in the envelope window, and the paper that sets how many fit.
_WINDOW_FIELDS = frozenset({"honorific", "name", "title", "organisation", "address", "paper"})


def _window_problems(row: _Row, recipient: Recipient, source: Path) -> list[LettersError]:
    """The address block must fit the envelope window, as letters.output.plan checks it: at most
    MAX_ADDRESS_LINES lines for the recipient's paper (A4 when it has none), each no wider in
    print than the window (`line_too_wide`). Each problem is reported at the row, in the column of
    the value (or, for a value kept from recipients.yaml, the row's first address-block column).
    """
    problems: list[LettersError] = []
    paper = recipient.paper or "a4"
    limit = MAX_ADDRESS_LINES[paper]
    count = len(recipient_lines(recipient))
    block = next(
        (
            row.columns[name]
            for name in ("address", "organisation", "title", "name", "honorific", "paper")
            if name in row.columns
        ),
        None,
    )
    if count > limit:
        problems.append(
            _cell_error(
                row,
                block,
                source,
                f"the address has {count} lines, but the "
                f"{'A4' if paper == 'a4' else 'US Letter'} envelope window holds {limit} "
                "(name, title, organisation and address lines together)",
                "shorten the address: join lines or leave out the job title",
            )
        )
    name_line = " ".join(part for part in (recipient.honorific, recipient.name) if part)
    lines: list[tuple[tuple[str | int, ...], str, Column | None]] = [
        (("name",), name_line, row.columns.get("name") or row.columns.get("honorific")),
        (("title",), recipient.title, row.columns.get("title")),
        (("organisation",), recipient.organisation, row.columns.get("organisation")),
    ]
    from_row = row.address_columns if "address" in row.values else []
    lines += [
        (("address", i), line, from_row[i] if i < len(from_row) else None)
        for i, line in enumerate(recipient.address)
    ]
    for path, value, column in lines:
        width = line_too_wide(value, paper)
        if not width:
            continue
        kept = "" if column else f" (the {path[0]} in recipients.yaml)"
        message = (
            f"{value!r}{kept} prints {width:.0f} mm wide, wider than the envelope window "
            f"({ADDRESS_WIDTH_MM[paper]:.0f} mm)"
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
        problems.append(_cell_error(row, column or block, source, message, hint))
    return problems


@dataclass(frozen=True)
class _RowPlace:
    """Everything needed to say where a row's problem is: the cell, or recipients.yaml."""

    row: _Row
    merged: dict[str, Any]
    index: int | None
    existing: _Existing
    source: Path
    columns: list[Column]


def _explain(error: Any, where: _RowPlace) -> LettersError:
    row, merged, index = where.row, where.merged, where.index
    existing, source, columns = where.existing, where.source, where.columns
    loc = tuple(error["loc"])
    name = str(loc[0]) if loc else ""
    key = f"fields.{loc[1]}" if name == "fields" and len(loc) > 1 else name
    column = row.columns.get(key) or row.columns.get(name)
    if column is None and index is None:
        column = _first(columns, name)  # a new row: the empty cell that should have it
    kind = error["type"]
    value = merged.get(name)
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        message = f"{value!r} is not allowed: use {expected}"
    elif kind == "missing":
        message = f"the {name} is missing"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    hint = ""
    if name == "id" and isinstance(value, str) and kind != "missing":
        hint = f"did you mean {slugify(value)!r}? Or leave the id empty to make one from the name"
    if name == "name" and kind == "missing":
        hint = "fill in the name: every new recipient needs one"
    if column is None and index is not None and existing.located is not None and name != "name":
        # The problem is in recipients.yaml, not in this row: point there.
        return existing.located.error(
            ("recipients", index, *loc),
            f"{name}: {message}",
            f"fix it there (row {row.number} updates this recipient)",
        )
    return _cell_error(row, column, source, message, hint)


# recipients.yaml -------------------------------------------------------------------------


def _load_existing(path: Path) -> _Existing:
    text = ""
    if path.is_file():
        text = read_text(path)
    located = parse_yaml(text, path, max_yaml_bytes()) if text.strip() else None
    if located is not None:
        data = located.data
        if not isinstance(data, dict) or "recipients" not in data:
            raise located.error((), "expected `recipients:` followed by a list of people")
        if data["recipients"] is not None and not isinstance(data["recipients"], list):
            raise located.error(
                ("recipients",), "`recipients:` must be a list", "start each with `- id:`"
            )
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1 << 16  # folding a long line would rewrite lines nobody changed
    sequence, offset = 4, 2
    if located is not None:
        try:
            _, guessed, guessed_offset = load_yaml_guess_indent(text)
        except YAMLError:
            guessed = guessed_offset = None
        if guessed is not None and guessed_offset is not None:
            sequence, offset = guessed, guessed_offset
    yaml.indent(mapping=2, sequence=sequence, offset=offset)
    document = yaml.load(text) if located is not None else None
    if document is None:
        document = CommentedMap()
    if document.get("recipients") is None:
        document["recipients"] = CommentedSeq()
    return _Existing(path, located, document, yaml, crlf="\r\n" in text)


def _scalar(value: str, like: Any = None) -> Any:
    """Text as a YAML scalar that every YAML reader reads back as the same text."""
    if "\n" in value:
        return LiteralScalarString(value + "\n")
    plain_is_text = all(
        resolver.resolve(ScalarNode, value, (True, False)) == _STR_TAG for resolver in _RESOLVERS
    )
    if isinstance(like, DoubleQuotedScalarString):
        return DoubleQuotedScalarString(value)
    if isinstance(like, SingleQuotedScalarString) or not plain_is_text:
        return SingleQuotedScalarString(value)
    return value


def _node(name: str, value: Any, like: Any = None) -> Any:
    if isinstance(value, tuple):
        if isinstance(like, LiteralScalarString):
            return LiteralScalarString("".join(f"{line}\n" for line in value))
        seq = CommentedSeq(_scalar(item) for item in value)
        if isinstance(like, CommentedSeq) and like.fa.flow_style():
            seq.fa.set_flow_style()  # keep `tags: [a, b]` on one line
        else:
            seq.fa.set_block_style()
        return seq
    if isinstance(value, dict):
        mapping = CommentedMap()
        for key, text in value.items():
            mapping[key] = _scalar(text)
        return mapping
    return _scalar(value, like)


def _tail_slot(node: Any) -> tuple[Any, Any, int] | None:
    """Where the comment after the last line of `node` is kept: (container, key, position).

    ruamel keeps the blank lines and comments that follow a value on the innermost last
    item, so what separates two entries sits on the last line of the first one.
    """
    if isinstance(node, CommentedMap) and node:
        key, position = list(node)[-1], 2
    elif isinstance(node, CommentedSeq) and node:
        key, position = len(node) - 1, 0
    else:
        return None
    slot = node.ca.items.get(key)
    if slot and slot[position] is not None:
        return node, key, position
    value = node[key]
    if isinstance(value, CommentedMap | CommentedSeq) and not value.fa.flow_style():
        inner = _tail_slot(value)
        if inner is not None:
            return inner
    return node, key, position


def _ends_own_line(container: Any, key: Any) -> bool:
    # A block scalar ends with its own line break; a comment after it starts on a new line.
    return isinstance(container[key], LiteralScalarString | FoldedScalarString)


def _detach_tail(node: Any) -> str:
    """Remove and return the lines that follow `node` (blank lines, comments)."""
    found = _tail_slot(node)
    if found is None:
        return ""
    container, key, position = found
    token = container.ca.items.get(key, [None] * 4)[position]
    if token is None:
        return ""
    text = token.value
    if _ends_own_line(container, key):
        container.ca.items[key][position] = None
        return text
    first, _, rest = text.partition("\n")
    if first.strip():
        token.value = first + "\n"  # an end-of-line comment stays with its line
    else:
        container.ca.items[key][position] = None
    return rest


def _attach_tail(node: Any, rest: str) -> None:
    found = _tail_slot(node)
    if not rest or found is None:
        return
    container, key, position = found
    slot = container.ca.items.setdefault(
        key, [None, None, None, None] if position == 2 else [None, None]
    )
    token = slot[position]
    if token is not None:
        token.value = token.value + rest
        return
    text = rest if _ends_own_line(container, key) else "\n" + rest
    slot[position] = CommentToken(text, CommentMark(0), None)


def _separated(entries: CommentedSeq) -> bool:
    """Whether the entries are written with a blank line between them."""
    if len(entries) < 2:
        return False
    # The blank line is kept before the second entry or after the last line of the first.
    before = entries.ca.items.get(1)
    if before and before[1] and any(token.value.startswith("\n") for token in before[1]):
        return True
    found = _tail_slot(entries[0])
    if found is None:
        return False
    container, key, position = found
    token = container.ca.items.get(key, [None] * 4)[position]
    if token is None:
        return False
    text = token.value if _ends_own_line(container, key) else token.value.partition("\n")[2]
    return text.startswith("\n")


def _update_entry(entry: CommentedMap, values: dict[str, Any]) -> None:
    rest = _detach_tail(entry)
    for name, value in values.items():
        if name == "fields" and isinstance(entry.get("fields"), CommentedMap):
            for key, text in value.items():
                entry["fields"][key] = _scalar(text, entry["fields"].get(key))
            continue
        node = _node(name, value, entry.get(name))
        if name in entry:
            entry[name] = node
        else:
            entry.insert(_position(entry, name), name, node)
    _attach_tail(entry, rest)


def _position(entry: CommentedMap, name: str) -> int:
    """Where a new key goes: after the keys that come before it in FIELD_ORDER."""
    rank = FIELD_ORDER.index(name)
    keys = list(entry)
    earlier = [
        i for i, key in enumerate(keys) if key in FIELD_ORDER and FIELD_ORDER.index(key) < rank
    ]
    return earlier[-1] + 1 if earlier else 0


def _new_entry(rid: str, values: dict[str, Any]) -> CommentedMap:
    entry = CommentedMap()
    for name in FIELD_ORDER:
        value = rid if name == "id" else values.get(name)
        if value:
            entry[name] = _node(name, value)
    return entry


def _apply(existing: _Existing, changes: list[_Change]) -> str:
    entries: CommentedSeq = existing.document["recipients"]
    if not entries:
        entries.fa.set_block_style()  # `recipients: []` would otherwise stay a flow list
    separated = _separated(entries)
    if entries and entries.ca.end and any(change.index is None for change in changes):
        # Comments after the list belong after the people they follow, not after new ones.
        after = "".join(token.value for token in entries.ca.end)
        entries.ca.end = []
        _attach_tail(entries[-1], _detach_tail(entries[-1]) + after)
    for change in changes:
        if change.index is not None:
            _update_entry(entries[change.index], change.values)
            continue
        if separated:
            _attach_tail(entries[-1], _detach_tail(entries[-1]) + "\n")
        entries.append(_new_entry(change.id, change.values))
    stream = io.StringIO()
    existing.yaml.dump(existing.document, stream)
    text = stream.getvalue()
    return text.replace("\n", "\r\n") if existing.crlf else text


def _verify(text: str, path: Path, changes: list[_Change], existing_count: int) -> None:
    """Read the new file back as letters reads it; any difference is a bug, not user error."""
    entries = parse_yaml(text, path, max_yaml_bytes()).data["recipients"]
    added = 0
    for change in changes:
        index = change.index if change.index is not None else existing_count + added
        added += change.index is None
        expected = Recipient.model_validate({**change.merged, "id": change.id})
        if Recipient.model_validate(entries[index]) != expected:
            raise RuntimeError(f"recipients.yaml would not read back as written for {change.id!r}")


# The import ---------------------------------------------------------------------------------


def import_recipients(
    root: Path,
    source: Path,
    mapping: Iterable[str] = (),
    *,
    encoding: str | None = None,
    skip_invalid: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Merge `source` into root/recipients.yaml and report what changed.

    Raises LettersError (LettersErrors for several) when the file cannot be used, or when
    a row is invalid and `skip_invalid` is false; nothing is written then.
    """
    root = root.resolve()
    if not root.is_dir():
        raise LettersError("workspace folder does not exist", root, hint="pass it with -C DIR")
    path = root / RECIPIENTS_FILE
    report = ImportReport(source=source, target=path, dry_run=dry_run)
    wanted = parse_mapping(mapping)
    table = read_table(source, encoding)
    start = next((i for i, row in enumerate(table) if any(cell.strip() for cell in row)), None)
    if start is None:
        raise LettersError(
            "the spreadsheet is empty", source, hint="the first row should name the columns"
        )
    report.columns = plan_columns(table[start], start + 1, wanted, source, table[start + 1 :])
    existing = _load_existing(path)
    changes, errors = _plan_changes(table, start, report, existing, source)
    if errors and not skip_invalid:
        _raise(errors)
    report.skipped = errors
    if changes and not dry_run:
        text = _apply(existing, changes)
        _verify(
            text,
            path,
            changes,
            len(existing.document["recipients"]) - sum(c.index is None for c in changes),
        )
        write_atomic(path, text.encode("utf-8"))
        report.written = True
    return report


def _plan_changes(
    table: list[list[str]], start: int, report: ImportReport, existing: _Existing, source: Path
) -> tuple[list[_Change], list[LettersError]]:
    entries = existing.entries
    by_id: dict[str, int] = {}
    by_person: dict[tuple[str, str], list[int]] = {}
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue  # load_workspace reports it; it cannot be matched
        by_id.setdefault(entry["id"], position)
        by_person.setdefault(_person(entry.get("name"), entry.get("organisation")), []).append(
            position
        )
    id_columns = [column.number for column in report.columns if column.target == "id"]
    # Ids written in the file are reserved before any is made up from a name.
    taken = set(by_id) | {
        row[number - 1].strip()
        for row in table[start + 1 :]
        for number in id_columns
        if number <= len(row)
    }
    new_people: dict[tuple[str, str], str] = {}
    claimed: dict[str, _Row] = {}
    changes: list[_Change] = []
    errors: list[LettersError] = []
    for offset, cells in enumerate(table[start + 1 :], start + 2):
        if not any(cell.strip() for cell in cells):
            report.blank_rows += 1
            continue
        row, problems = _row_values(cells, offset, report.columns, source)
        if problems:
            errors += problems
            continue
        values = row.values
        person = _person(values.get("name"), values.get("organisation"))
        index: int | None = None
        if "id" in values:
            rid = values["id"]
            index = by_id.get(rid)
        elif "name" not in values:
            errors.append(
                _cell_error(
                    row,
                    _first(report.columns, "name"),
                    source,
                    "the name is missing",
                    "fill in the name, or the id of a recipient to update",
                )
            )
            continue
        elif len(by_person.get(person, [])) > 1:
            ids = [str(entries[i].get("id")) for i in by_person[person]]
            errors.append(
                _cell_error(
                    row,
                    row.columns.get("name"),
                    source,
                    f"{values['name']!r} matches several recipients: {', '.join(ids)}",
                    "add an Id column to say which one this row updates",
                )
            )
            continue
        elif person in by_person:
            index = by_person[person][0]
            rid = str(entries[index].get("id"))
        elif person in new_people:
            rid = new_people[person]
        else:
            rid = unique_id(slugify(values["name"]), taken)
            taken.add(rid)
        if rid in claimed:
            first = claimed[rid]
            differences = _differences(first, row)
            if not differences:
                report.duplicates.append(Duplicate(row.number, first.number, rid))
                continue
            headers = [row.columns[name].header for name in differences if name in row.columns]
            errors.append(
                _cell_error(
                    row,
                    row.columns.get(differences[0]),
                    source,
                    f"row {row.number} is for the same recipient as row {first.number} "
                    f"({rid}) but differs in {', '.join(headers)}",
                    "merge the two rows into one, or give them different ids",
                )
            )
            continue
        current = entries[index] if index is not None else {}
        update = (
            _changes(current, {k: v for k, v in values.items() if k != "id"})
            if index is not None
            else values
        )
        merged = _merged(current, {**update, "id": rid})
        # A row that changes nothing in the address block is not blamed for its window.
        window = bool(_WINDOW_FIELDS & set(update))
        problems = _validate(row, merged, index, existing, source, report.columns, window)
        if problems:
            errors += problems
            continue
        claimed[rid] = row
        if index is None and person[0]:
            new_people.setdefault(person, rid)
        if index is None:
            changes.append(
                _Change(row, rid, None, {k: v for k, v in values.items() if k != "id"}, merged)
            )
            report.added.append(Added(row.number, rid, str(values.get("name", ""))))
        elif update:
            changes.append(_Change(row, rid, index, update, merged))
            names = [f"fields.{k}" for k in update.get("fields", {})]
            report.updated.append(
                Updated(row.number, rid, tuple(n for n in update if n != "fields") + tuple(names))
            )
        else:
            report.unchanged.append((row.number, rid))
    return changes, errors


def _first(columns: list[Column], target: str) -> Column | None:
    return next((column for column in columns if column.target == target), None)


def _raise(errors: list[LettersError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise LettersErrors(errors)
