"""One spreadsheet row as recipient values: cells cleaned and checked, the address built in
postal order, and the errors of a row said at its row and column.

The address is assembled in postal order, whatever the order of the columns: the
"Address" cell (a multi-line cell gives several lines), then "Address 1"/"Street",
"Address 2", "Address 3" (one line each), then ONE line made of "City"/"Town",
"State"/"Region"/"Province"/"County" and "Postcode"/"Postal code"/"Zip" — "City, State
Postcode" when a state is given ("Cupertino, CA 95014"), else "City Postcode"
("Manchester M1 1AA") — and last "Country" on its own line. (A line break in the City cell
puts what comes before it on a line of its own.) When "Country" names a country and the row
has what its post requires, the parts become a structured address instead (laid out by
letters.compose.postal). First and last name columns make the name. Tags are split on ","
and ";".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from letters.controls import forbidden_character, forbidden_message, normalise_newlines
from letters.errors import LettersError
from letters.importing.columns import CITY, COUNTRY, LOCALITY, POSTCODE, STATE, Column
from letters.importing.names import country_code
from letters.workspace.postal import missing_fields

# Cultures that write the family name first (the row's `language`), and the scripts that do.
FAMILY_FIRST = frozenset({"zh", "ja", "ko", "vi", "hu"})
NAME_ORDERS = ("given-first", "family-first")
_CJK = re.compile(r"^[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003ffff]+$")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class Row:
    number: int
    values: dict[str, Any]  # field → text, a tuple of lines/tags, or {key: text} for fields
    columns: dict[str, Column]  # "name", "fields.x"… → the column it came from
    address_columns: list[Column] = field(default_factory=list)  # per address line
    joined_line: int | None = None  # the address line made of City, State and Postcode


def row_values(
    cells: list[str], number: int, columns: list[Column], source: Path, name_order: str = ""
) -> tuple[Row, list[LettersError]]:
    """The recipient values of a row; `name_order` ("given-first", "family-first", or ""
    to go by the row's language and script) joins first and last name columns."""
    row = Row(number, {}, {})
    errors: list[LettersError] = []
    address: list[tuple[Column, list[str]]] = []
    for column in columns:
        if not column.target:
            continue
        raw = normalise_newlines(cells[column.number - 1] if column.number <= len(cells) else "")
        found = forbidden_character(raw)
        if found is not None:
            errors.append(cell_error(row, column, source, *forbidden_message(found[1])))
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
                cell_error(
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
        _structured(row, address)
    _join_name(row, name_order)
    return row, errors


def _join_name(row: Row, name_order: str) -> None:
    """First and last name columns as `name` (and `family_name`), in the person's order."""
    given = row.values.pop("given_name", "")
    family = row.values.get("family_name", "")
    if "name" in row.values or not (given or family):
        return
    language = str(row.values.get("language", "")).split("-")[0].lower()
    cjk = all(_CJK.match(part) for part in (given, family) if part)
    if not name_order:
        name_order = NAME_ORDERS[language in FAMILY_FIRST or cjk]
    parts = [part for part in (given, family) if part]
    if name_order == "family-first":
        parts.reverse()
    row.values["name"] = ("" if cjk else " ").join(parts)
    row.columns["name"] = row.columns.get("given_name") or row.columns["family_name"]


_PARTS = {CITY: "city", STATE: "region", POSTCODE: "postcode"}


def _structured(row: Row, address: list[tuple[Column, list[str]]]) -> None:
    """The address as its parts (street, city, region, postcode, country) when its Country
    names a country and its parts are what that country's post requires; else the lines."""
    parts: dict[str, Any] = {}
    street: list[str] = []
    for column, lines in sorted(address, key=lambda part: (part[0].rank, part[0].number)):
        if column.rank == COUNTRY:
            parts["country"] = country_code(" ".join(lines))
        elif column.rank in _PARTS:
            name = _PARTS[column.rank]
            street += lines[:-1] if name == "city" else []  # as above: lines of their own
            parts[name] = lines[-1] if name == "city" else " ".join(lines)
        else:
            street += lines
        row.columns.setdefault(f"address.{_PARTS.get(column.rank, 'street')}", column)
    if street:
        parts["street"] = tuple(street)
    code = parts.pop("country", "")
    if not code or "city" not in parts or missing_fields(code, set(parts)):
        return
    row.values["address"] = {"street": parts.pop("street", ()), **parts, "country": code}


def _address_lines(
    address: list[tuple[Column, list[str]]],
) -> tuple[list[tuple[str, Column]], int | None]:
    """The address lines in postal order, each with the column it came from, and the index
    of the line that joins City, State and Postcode when it joins two or more of them."""
    address = sorted(address, key=lambda part: (part[0].rank, part[0].number))
    parts = {column.rank: (column, lines) for column, lines in address if column.rank in LOCALITY}
    out: list[tuple[str, Column]] = []
    joined: int | None = None
    for column, lines in address:
        if column.rank not in LOCALITY:
            out += [(line, column) for line in lines]
            continue
        if column.rank != min(parts):
            continue  # already written with the first part
        city_column, city_lines = parts.get(CITY, (None, []))
        # Lines above the last one of a multi-line City cell stay lines of their own.
        out += [(line, city_column) for line in city_lines[:-1] if city_column]
        city = city_lines[-1] if city_lines else ""
        state, postcode = (" ".join(parts.get(rank, (None, []))[1]) for rank in (STATE, POSTCODE))
        head = ", ".join(part for part in (city, state) if part)
        out.append((" ".join(part for part in (head, postcode) if part), column))
        if sum(bool(part) for part in (city, state, postcode)) > 1:
            joined = len(out) - 1
    return out, joined


def cell_error(
    row: Row, column: Column | None, source: Path, message: str, hint: str = ""
) -> LettersError:
    where = f"{column.header or 'column ' + str(column.number)}: " if column else ""
    return LettersError(where + message, source, row.number, column.number if column else 0, hint)


def differing_fields(first: Row, later: Row) -> list[str]:
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
