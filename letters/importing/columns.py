"""Which column feeds which recipient field: headers matched to fields, `--map` options
parsed, and the plan of the columns checked as a whole.

Columns are matched to recipient fields by their header, ignoring case, spaces,
underscores, hyphens and dots:

==============  ===============================================================
field           headers
==============  ===============================================================
id              Id, Recipient id, Key, Slug
name            Name, Full name, Contact, Contact name, Recipient, Person
given_name      First name, Given name, Forename, Prénom, Vorname, Nombre,
                Nome, Voornaam, Imię, Имя (joined into the name)
family_name     Last name, Surname, Family name, Nom, Nom de famille,
                Nachname, Apellido(s), Cognome, Achternaam, Nazwisko, Фамилия
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

The parts of an address ("Address 1", "Street", "City", "State", "Postcode", "Country"...)
are matched too; rows.py puts their lines in postal order. ``--map "Column=field"`` overrides
the table for one column; the field may be any of the above, ``fields.KEY``, or ``-`` to
drop the column. A column matched by nothing is kept under ``fields`` with its header as key
in lowercase ASCII joined by underscores ("Date of birth" → ``fields.date_of_birth``), so a
template can write ``recipient.fields.date_of_birth``; the report lists these columns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from letters.controls import forbidden_character, forbidden_message, normalise_newlines
from letters.errors import LettersError, LettersErrors
from letters.importing.names import ascii_text, normalise_header
from letters.workspace.validation import suggest

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
    # Joined into `name` (rows.py), in the order the person's culture writes them.
    "given_name": (
        *("first name", "firstname", "given name", "givenname", "forename", "first"),
        *("prénom", "prenom", "vorname", "nombre", "nome", "voornaam", "imię", "имя"),
    ),
    "family_name": (
        *("last name", "lastname", "surname", "family name", "familyname", "last"),
        *("nom", "nom de famille", "nachname", "familienname", "apellido", "apellidos"),
        *("cognome", "achternaam", "nazwisko", "фамилия"),
    ),
}
# Address parts in the order their lines are written; rank 0 is the "Address" block itself.
_ADDRESS_PARTS: tuple[tuple[str, ...], ...] = (
    ("address 1", "address1", "address line 1", "street", "street 1", "rue", "straße", "calle"),
    ("address 2", "address2", "address line 2", "street 2"),
    ("address 3", "address3", "address line 3", "street 3"),
    ("city", "town", "locality", "ville", "stadt", "ort", "ciudad", "localidad"),
    ("state", "region", "province", "county", "région", "bundesland", "provincia", "estado"),
    (
        *("postcode", "post code", "postal code", "zip", "zip code", "zipcode"),
        *("code postal", "plz", "postleitzahl", "código postal", "codigo postal"),
    ),
    ("country", "pays", "land", "país", "pais"),
)
# City, State and Postcode share one line: "Cupertino, CA 95014", "Manchester M1 1AA".
CITY, STATE, POSTCODE, COUNTRY = (
    next(rank for rank, part in enumerate(_ADDRESS_PARTS, 1) if part[0] == name)
    for name in ("city", "state", "postcode", "country")
)
LOCALITY = (CITY, STATE, POSTCODE)
_HEADERS: dict[str, tuple[str, int]] = {
    **{header: (name, 0) for name, headers in _SYNONYMS.items() for header in headers},
    **{header: ("address", rank) for rank, part in enumerate(_ADDRESS_PARTS, 1) for header in part},
}
# The order keys are written in, as in the sample recipients.yaml.
FIELD_ORDER = (
    "id",
    "name",
    "family_name",
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
MAP_TARGETS = (*(name for name in FIELD_ORDER if name != "fields"), "given_name")
NAME_PARTS = ("given_name", "family_name")
IGNORE = "-"


@dataclass(frozen=True)
class Column:
    """How one spreadsheet column is used."""

    number: int  # 1-based: column A is 1
    header: str
    target: str  # a recipient field, "fields.KEY", or "" when the column is dropped
    rank: int = 0  # the order of its line in the address
    how: str = "header"  # "header", "map" (--map), "unmapped" (to fields) or "ignored"


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
    named = ("id", "name", *NAME_PARTS)
    if not any(column.target in named for column in columns) and not errors:
        errors.append(
            LettersError(
                "no column gives the recipient's name (or id)",
                source,
                header_row,
                hint='name the column "Name", or pass --map "YOUR COLUMN=name"; '
                "the header is the first row that is not empty",
            )
        )
    raise_all(errors)
    return columns


def _label(target: str, rank: int) -> str:
    if target == "address" and rank:
        return f"address line {_ADDRESS_PARTS[rank - 1][0]!r}"
    return target


def _spare(target: str, header: str) -> str:
    return "fields." + _field_key(header, 0) if not target.startswith("fields.") else IGNORE


def _field_key(header: str, number: int) -> str:
    words = re.findall(r"[a-z0-9]+", ascii_text(header).lower())
    return "_".join(words) or f"column_{number}"


def _unique_key(key: str, taken: set[str]) -> str:
    candidate, counter = key, 2
    while candidate in taken:
        candidate, counter = f"{key}_{counter}", counter + 1
    return candidate


def first_column(columns: list[Column], target: str) -> Column | None:
    return next((column for column in columns if column.target == target), None)


def raise_all(errors: list[LettersError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise LettersErrors(errors)
