"""The import itself: each row matched to a recipient (by id, or by name and organisation),
what it changes worked out and checked, and recipients.yaml written only when every row is
valid (or invalid rows are to be skipped).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from letters.atomic import write_atomic
from letters.compose.address import campaign_windows
from letters.errors import LettersError
from letters.importing.columns import first_column, parse_mapping, plan_columns, raise_all
from letters.importing.names import person_key, slugify, unique_id
from letters.importing.report import Added, Duplicate, ImportReport, Updated
from letters.importing.row_checks import WINDOW_FIELDS, RowPlace, row_problems
from letters.importing.rows import NAME_ORDERS, Row, cell_error, differing_fields, row_values
from letters.importing.tables import read_table
from letters.importing.yaml_edit import Change, Existing, apply_changes, load_existing, verify
from letters.workspace.load import RECIPIENTS_FILE
from letters.workspace.schema import SLUG


def import_recipients(
    root: Path,
    source: Path,
    mapping: Iterable[str] = (),
    *,
    encoding: str | None = None,
    skip_invalid: bool = False,
    dry_run: bool = False,
    name_order: str | None = None,
    tags: Sequence[str] = (),
) -> ImportReport:
    """Merge `source` into root/recipients.yaml and report what changed.

    `name_order` ("given-first" or "family-first"; None: by each row's language and script)
    joins first and last name columns; `tags` are added to every new recipient.

    Raises LettersError (LettersErrors for several) when the file cannot be used, or when
    a row is invalid and `skip_invalid` is false; nothing is written then.
    """
    root = root.resolve()
    if not root.is_dir():
        raise LettersError("workspace folder does not exist", root, hint="pass it with -C DIR")
    path = root / RECIPIENTS_FILE
    report = ImportReport(source=source, target=path, dry_run=dry_run)
    options = _Options(_name_order(name_order), tuple(_tag(tag) for tag in tags))
    wanted = parse_mapping(mapping)
    table = read_table(source, encoding)
    start = next((i for i, row in enumerate(table) if any(cell.strip() for cell in row)), None)
    if start is None:
        raise LettersError(
            "the spreadsheet is empty", source, hint="the first row should name the columns"
        )
    report.columns = plan_columns(table[start], start + 1, wanted, source, table[start + 1 :])
    existing = load_existing(path)
    changes, errors = _plan_changes(table, start, report, existing, source, options)
    if errors and not skip_invalid:
        raise_all(errors)
    report.skipped = errors
    if changes and not dry_run:
        text = apply_changes(existing, changes)
        verify(
            text,
            path,
            changes,
            len(existing.document["recipients"]) - sum(c.index is None for c in changes),
        )
        write_atomic(path, text.encode("utf-8"))
        report.written = True
    return report


@dataclass(frozen=True)
class _Options:
    name_order: str
    tags: tuple[str, ...]


def _name_order(value: str | None) -> str:
    if value is not None and value not in NAME_ORDERS:
        hint = "write --name-order given-first (John Smith) or family-first (Xi Jinping)"
        raise LettersError(f"--name-order {value!r} is not a name order", hint=hint)
    return value or ""


def _tag(tag: str) -> str:
    if not SLUG.match(tag):
        raise LettersError(
            f"--tag {tag!r} is not a tag", hint="write lowercase letters, digits and hyphens"
        )
    return tag


def _plan_changes(
    table: list[list[str]],
    start: int,
    report: ImportReport,
    existing: Existing,
    source: Path,
    options: _Options,
) -> tuple[list[Change], list[LettersError]]:
    entries = existing.entries
    by_id: dict[str, int] = {}
    by_person: dict[tuple[str, str], list[int]] = {}
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue  # load_workspace reports it; it cannot be matched
        by_id.setdefault(entry["id"], position)
        by_person.setdefault(person_key(entry.get("name"), entry.get("organisation")), []).append(
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
    claimed: dict[str, Row] = {}
    changes: list[Change] = []
    errors: list[LettersError] = []
    for offset, cells in enumerate(table[start + 1 :], start + 2):
        if not any(cell.strip() for cell in cells):
            report.blank_rows += 1
            continue
        row, problems = row_values(cells, offset, report.columns, source, options.name_order)
        if problems:
            errors += problems
            continue
        values = row.values
        person = person_key(values.get("name"), values.get("organisation"))
        index: int | None = None
        if "id" in values:
            rid = values["id"]
            index = by_id.get(rid)
        elif "name" not in values:
            errors.append(
                cell_error(
                    row,
                    first_column(report.columns, "name"),
                    source,
                    "the name is missing",
                    "fill in the name, or the id of a recipient to update",
                )
            )
            continue
        elif len(by_person.get(person, [])) > 1:
            ids = [str(entries[i].get("id")) for i in by_person[person]]
            errors.append(
                cell_error(
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
            differences = differing_fields(first, row)
            if not differences:
                report.duplicates.append(Duplicate(row.number, first.number, rid))
                continue
            headers = [row.columns[name].header for name in differences if name in row.columns]
            errors.append(
                cell_error(
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
        if index is None and options.tags:
            values["tags"] = tuple(dict.fromkeys((*values.get("tags", ()), *options.tags)))
        update = (
            _changes(current, {k: v for k, v in values.items() if k != "id"})
            if index is not None
            else values
        )
        merged = _merged(current, {**update, "id": rid})
        # A row that changes nothing in the address block is not blamed for its window.
        window = bool(WINDOW_FIELDS & set(update))
        place = RowPlace(row, merged, index, existing.located, source, report.columns)
        problems = row_problems(place, campaign_windows(existing.path.parent) if window else None)
        if problems:
            errors += problems
            continue
        claimed[rid] = row
        if index is None and person[0]:
            new_people.setdefault(person, rid)
        if index is None:
            changes.append(
                Change(rid, None, {k: v for k, v in values.items() if k != "id"}, merged)
            )
            report.added.append(Added(row.number, rid, str(values.get("name", ""))))
        elif update:
            changes.append(Change(rid, index, update, merged))
            names = [f"fields.{k}" for k in update.get("fields", {})]
            report.updated.append(
                Updated(row.number, rid, tuple(n for n in update if n != "fields") + tuple(names))
            )
        else:
            report.unchanged.append((row.number, rid))
    return changes, errors


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
        if isinstance(current, dict):  # a structured address, as rows.py makes it
            current = {k: _as_tuple(k, v) for k, v in current.items()}
        if current != value:
            changed[name] = value
    return changed


def _as_tuple(key: str, value: Any) -> Any:
    if isinstance(value, list) or (key == "street" and isinstance(value, str)):
        return tuple(value) if isinstance(value, list) else (value,)
    return value


def _merged(existing: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(existing)
    for name, value in changes.items():
        if name == "fields":
            fields = existing.get("fields")
            merged["fields"] = {**(fields if isinstance(fields, dict) else {}), **value}
        else:
            merged[name] = list(value) if isinstance(value, tuple) else value
    return merged
