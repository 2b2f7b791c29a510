"""Words and patterns the tool writes itself, per language (letters/workspace/languages/).

A campaign folder may bring its own `languages/<tag>.toml`, and a campaign folder may come
from a stranger. So a language file is read without following links (`Confined`), checked
against a schema (every key known, every required key present, every value short, one
line, free of control characters), its Babel locale and date patterns are tried once, and
its patterns use named placeholders only (`{name}`, `{honorific}`, `{family_name}`,
`{page}`, `{pages}`): they are filled by `fill_pattern`, never by `str.format`, so no
attribute, index or format spec is reachable. Every problem is a `LettersError` naming the
file and the line of the key (language_errors.py).

Salutations follow the language's convention: `[salutations]` maps honorifics to patterns,
and a pattern needing a field the recipient lacks gives way to `salutation_neutral`. Dates
are Gregorian, written by Babel with the file's patterns (`date_in_text_pattern` for the
middle of a sentence).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from letters.controls import describe_character, forbidden_character
from letters.errors import LettersError
from letters.fileio import COPY_IN_HINT, Confined, decode_utf8, read_text
from letters.workspace.language_errors import TOML_HINT, schema_error
from letters.workspace.language_errors import key_lines as key_lines  # re-exported
from letters.workspace.locales import script_variant
from letters.workspace.tomlio import parse_toml

LANGUAGES_DIR = Path(__file__).parent / "languages"
WORKSPACE_DIR = "languages"  # a campaign may bring its own <tag>.toml files
DEFAULT_LANGUAGE = "en"
FILE_LIMIT = 64 * 1024  # bytes in a campaign's language file
TEXT_LIMIT = 200  # characters in one value
DATE_PATTERN_LIMIT = 100  # characters in the Babel date pattern
SAMPLE_DATE = dt.date(2026, 12, 31)

# Which placeholders each pattern may use; every other value is plain text.
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "salutation": ("honorific", "name", "family_name"),
    "salutation_without_honorific": ("name", "family_name"),
    "salutation_neutral": (),
    "salutations": ("honorific", "name", "family_name"),  # each pattern in the table
    "page": ("page", "pages"),
}
SALUTATIONS_LIMIT = 100  # honorifics in one language file's [salutations] table
_DATE_PATTERNS = ("date_pattern", "date_in_text_pattern")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_BRACED = re.compile(r"\{[^{}\n]*\}")
_LOCALE_SHAPE = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")
_TAG = re.compile(r"^[A-Za-z0-9]{1,8}(-[A-Za-z0-9]{1,8})*$")


def fill_pattern(pattern: str, **values: str | int) -> str:
    """`pattern` with each `{placeholder}` replaced by its value, in one pass: a value that
    itself looks like a placeholder stays as it is. Only names given in `values` are
    replaced (a checked pattern uses no others)."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(values[name]) if name in values else match.group()

    return _PLACEHOLDER.sub(replace, pattern)


def pattern_problem(pattern: str, allowed: tuple[str, ...]) -> str:
    """Why `pattern` may not be used with the placeholders `allowed`, or "" if it may."""
    shown = ", ".join(f"{{{name}}}" for name in allowed) or "none"
    for match in _BRACED.finditer(pattern):
        placeholder = _PLACEHOLDER.fullmatch(match.group())
        if placeholder is None or placeholder.group(1) not in allowed:
            return f"placeholder {match.group()!r} is not allowed here (allowed: {shown})"
    rest = _BRACED.sub("", pattern)
    for brace in "{}":
        if brace in rest:
            return f"a lone {brace!r} is not allowed (placeholders allowed here: {shown})"
    return ""


class LanguageFile(BaseModel):
    """The schema of a language file: exactly these keys, every one a short line of text
    (`[salutations]` is a table of them). The last three keys are optional."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str
    babel_locale: str
    date_pattern: str
    subject: str
    reference: str
    page: str
    salutation: str
    salutation_without_honorific: str
    list_separator: str
    list_last_separator: str
    # The date in mid-sentence, where it differs from the dateline (vi: without "ngày").
    date_in_text_pattern: str = ""
    # The formal greeting that needs nothing from the recipient (fr "Madame, Monsieur,").
    salutation_neutral: str = ""
    # Honorific → salutation pattern (fr: Mme = "Madame,"), matched ignoring case and dots.
    salutations: dict[str, str] = {}

    @field_validator("salutations")
    @classmethod
    def _salutation_table(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        if len(value) > SALUTATIONS_LIMIT:
            raise ValueError(f"{len(value)} salutations; the limit is {SALUTATIONS_LIMIT}")
        for honorific, pattern in value.items():
            try:
                cls._short_plain_line(honorific, info)
                cls._short_plain_line(pattern, info)
            except ValueError as exc:
                raise ValueError(f"[salutations] {honorific!r}: {exc}") from None
        return value

    @field_validator(*(name for name in PLACEHOLDERS | {"name": ()} if name != "salutations"))
    @classmethod
    def _patterns(cls, value: str, info: ValidationInfo) -> str:
        return cls._short_plain_line(value, info)

    @field_validator(
        "babel_locale",
        "subject",
        "reference",
        "list_separator",
        "list_last_separator",
        *_DATE_PATTERNS,
    )
    @classmethod
    def _plain(cls, value: str, info: ValidationInfo) -> str:
        return cls._short_plain_line(value, info)

    @classmethod
    def _short_plain_line(cls, value: str, info: ValidationInfo) -> str:
        limit = DATE_PATTERN_LIMIT if info.field_name in _DATE_PATTERNS else TEXT_LIMIT
        if len(value) > limit:
            raise ValueError(f"this value is {len(value)} characters long; the limit is {limit}")
        if "\n" in value:
            raise ValueError("this value spans several lines; write it on one line")
        found = forbidden_character(value)
        if found is not None:
            raise ValueError(
                f"this value contains an invisible control character "
                f"({describe_character(found[1])})"
            )
        allowed = PLACEHOLDERS.get(info.field_name or "")
        problem = pattern_problem(value, allowed) if allowed is not None else ""
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("babel_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        from babel import Locale, UnknownLocaleError

        if not _LOCALE_SHAPE.match(value):
            raise ValueError(f"unknown locale {value!r}")
        try:
            Locale.parse(value.replace("-", "_"))
        except (ValueError, TypeError, UnknownLocaleError):
            raise ValueError(f"unknown locale {value!r}") from None
        return value.replace("-", "_")

    @field_validator(*_DATE_PATTERNS)
    @classmethod
    def _formats_a_date(cls, value: str, info: ValidationInfo) -> str:
        locale = info.data.get("babel_locale")
        if (
            locale is None or not value
        ):  # the locale is wrong, and reported: the pattern cannot be tried
            return value
        from babel.dates import format_date

        try:
            sample = format_date(SAMPLE_DATE, format=value, locale=locale)
        # Babel reports a field it cannot write for a date (hours, time zones) with whatever
        # the formatter happened to raise: any exception means the pattern is unusable.
        except Exception as exc:
            raise ValueError(f"Babel cannot write a date with this pattern ({exc})") from None
        if len(sample) > TEXT_LIMIT:
            raise ValueError(f"this pattern writes a date of {len(sample)} characters")
        return value


_HINTS = {
    "babel_locale": "write a locale Babel knows, such as en, fr, vi, de or pt_BR",
    "date_pattern": 'write a Babel date pattern such as "d MMMM y" (letters in quotes are '
    "kept as they are); see https://babel.pocoo.org/en/latest/dates.html",
}


@dataclass(frozen=True)
class Labels:
    """Words the tool itself writes, in the letter's language (see languages/ beside this)."""

    subject: str = "Subject"
    reference: str = "Our reference"
    page: str = "Page {page} of {pages}"


@dataclass(frozen=True)
class LanguagePack:
    tag: str
    path: Path
    name: str
    babel_locale: str
    date_pattern: str
    labels: Labels
    salutation: str
    salutation_without_honorific: str
    list_separator: str
    list_last_separator: str
    sha256: str = ""  # of the bytes read, so a build can tell when the file changed
    date_in_text_pattern: str = ""  # "" means date_pattern
    salutation_neutral: str = ""  # "" means salutation_without_honorific
    salutations: tuple[tuple[str, str], ...] = ()  # (honorific, pattern)

    def long_date(self, date: dt.date, pattern: str = "") -> str:
        """The date as the dateline writes it (Gregorian calendar, the file's pattern)."""
        # Babel's locale data is large; load it only when a date is actually written.
        from babel.dates import format_date

        return format_date(date, format=pattern or self.date_pattern, locale=self.babel_locale)

    def date_in_text(self, date: dt.date) -> str:
        """The date in the middle of a sentence (vi: "9 tháng 1 năm 2026", no "ngày")."""
        return self.long_date(date, self.date_in_text_pattern)

    def join(self, items: list[str]) -> str:
        if len(items) <= 1:
            return "".join(items)
        return self.list_separator.join(items[:-1]) + self.list_last_separator + items[-1]

    def default_salutation(self, honorific: str, name: str, family_name: str = "") -> str:
        """The greeting for a recipient without their own `salutation`: the pattern the file
        gives for the honorific, else its general one; where the pattern needs a field the
        recipient lacks (`{family_name}`), the language's neutral formal greeting."""
        wanted = _honorific_key(honorific)
        pattern = next((p for h, p in self.salutations if _honorific_key(h) == wanted), "")
        if not pattern:
            pattern = self.salutation if honorific else self.salutation_without_honorific
        values = {"honorific": honorific, "name": name, "family_name": family_name}
        needed = {match.group(1) for match in _PLACEHOLDER.finditer(pattern)}
        if any(not values.get(field) for field in needed):
            return self.salutation_neutral or fill_pattern(
                self.salutation_without_honorific, **values
            )
        return fill_pattern(pattern, **values)

    def page_label(self, page: int, pages: int) -> str:
        """The page label as text (html.py turns the same pattern into CSS counters)."""
        return fill_pattern(self.labels.page, page=page, pages=pages)


def _honorific_key(honorific: str) -> str:
    return " ".join(honorific.replace(".", " ").split()).casefold()


def fallback_chain(tag: str) -> list[str]:
    """`pt-BR` → [`pt-BR`, `pt`]: the tag, then each shorter prefix; the language with the
    script CLDR finds likely for the tag comes before the bare language where Babel has data
    for it: `zh-TW` → [`zh-TW`, `zh-Hant`, `zh`], `zh` → [`zh`, `zh-Hans`]."""
    parts = tag.split("-")
    chain = ["-".join(parts[:size]) for size in range(len(parts), 0, -1)]
    variant = script_variant(tag) if _TAG.match(tag) else ""
    if variant and variant not in chain:
        chain.insert(max(len(chain) - 1, 1), variant)
    return chain


def find_language_file(tag: str, root: Path | None = None) -> Path | None:
    """The file for `tag` or its nearest prefix (pt-BR → pt), without the English fallback.

    A campaign's own `languages/` comes first. Anything there under the name (a link, a
    named pipe) counts as the campaign's file, without being followed: reading it then
    says what is wrong with it, rather than quietly using the shipped file instead.
    """
    if not _TAG.match(tag):
        return None
    for candidate in fallback_chain(tag):
        if root is not None and Confined(root).kind(_relative(candidate)) != "missing":
            return root / WORKSPACE_DIR / f"{candidate}.toml"
        shipped = LANGUAGES_DIR / f"{candidate}.toml"
        if shipped.is_file():
            return shipped
    return None


def language_pack(tag: str, root: Path | None = None) -> LanguagePack:
    """The pack for `tag`, falling back along its prefixes and finally to English."""
    path = find_language_file(tag, root) or LANGUAGES_DIR / f"{DEFAULT_LANGUAGE}.toml"
    if root is not None and path.parent != LANGUAGES_DIR:
        return _read_campaign_file(Confined(root), path)
    return _read_shipped(path, path.stat().st_mtime_ns)


def _read_campaign_file(folder: Confined, path: Path) -> LanguagePack:
    """A campaign's language file, read without following a link or waiting on a pipe."""
    relative = _relative(path.stem)
    for part in (WORKSPACE_DIR, relative):
        if folder.kind(part) == "link":
            # Named in the message too: a location is shown resolved, i.e. as the link's target.
            raise LettersError(
                f"{part} is a link; letters does not follow it",
                folder.path(part),
                hint=COPY_IN_HINT,
            )
    return _parse(path, folder.read_bytes(relative, limit=FILE_LIMIT))


def _relative(tag: str) -> str:
    return f"{WORKSPACE_DIR}/{tag}.toml"


@cache
def _read_shipped(path: Path, modified: int) -> LanguagePack:
    """One read per version of a shipped file (`modified` is part of the cache key)."""
    return _parse(path, read_text(path).encode("utf-8"))


@lru_cache(maxsize=64)
def _parse(path: Path, data: bytes) -> LanguagePack:
    """The pack in `data` (the bytes of `path`), or the first problem in it."""
    text = decode_utf8(data, path)
    raw = parse_toml(text, path, "language file", TOML_HINT)
    try:
        checked = LanguageFile.model_validate(raw)
    except ValidationError as exc:
        raise schema_error(
            exc, path, text, list(LanguageFile.model_fields), _HINTS, PLACEHOLDERS
        ) from None
    return LanguagePack(
        tag=path.stem,
        path=path,
        name=checked.name,
        babel_locale=checked.babel_locale,
        date_pattern=checked.date_pattern,
        labels=Labels(subject=checked.subject, reference=checked.reference, page=checked.page),
        salutation=checked.salutation,
        salutation_without_honorific=checked.salutation_without_honorific,
        list_separator=checked.list_separator,
        list_last_separator=checked.list_last_separator,
        sha256=hashlib.sha256(data).hexdigest(),
        date_in_text_pattern=checked.date_in_text_pattern,
        salutation_neutral=checked.salutation_neutral,
        salutations=tuple(checked.salutations.items()),
    )
