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
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

from letters.errors import LettersError, LettersErrors
from letters.fileio import read_text, write_atomic
from letters.plan import ADDRESS_WIDTH_MM, MAX_ADDRESS_LINES, line_too_wide
from letters.render import recipient_lines
from letters.schema import Recipient
from letters.workspace import RECIPIENTS_FILE, max_yaml_bytes, suggest
from letters.yamlio import Located, parse_yaml

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


def read_table(source: Path, encoding: str | None = None) -> list[list[str]]:
    """Every row of the file's first sheet as text cells; index 0 is spreadsheet row 1."""
    suffix = source.suffix.lower()
    if not source.is_file():
        raise LettersError("file not found", source, hint="check the path of the spreadsheet")
    if suffix in BOOK_SUFFIXES:
        return _read_book(source)
    if suffix in CSV_SUFFIXES:
        return _read_csv(source, encoding)
    raise LettersError(
        f"cannot import {suffix or 'a file without extension'!r} files",
        source,
        hint="save the sheet as .csv, .xlsx or .ods",
    )


def _read_book(source: Path) -> list[list[str]]:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        with CalamineWorkbook.from_path(str(source)) as book:
            if not book.sheet_names:
                return []
            # Keep the empty area above and left of the data so that numbers match row 1, A.
            rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except (CalamineError, OSError, ValueError) as exc:
        raise LettersError(
            f"cannot read the spreadsheet: {exc}",
            source,
            hint="open it in a spreadsheet program and save it again as .xlsx, .ods or .csv",
        ) from None
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


def _read_csv(source: Path, encoding: str | None) -> list[list[str]]:
    text = _decode(source.read_bytes(), source, encoding)
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
        raw = cells[column.number - 1] if column.number <= len(cells) else ""
        text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n")).strip()
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
    """The address block must fit the envelope window, as letters.plan checks it: at most
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
