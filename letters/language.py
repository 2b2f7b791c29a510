"""Words and patterns the tool writes itself, per language, read from letters/languages/*.toml."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from letters.errors import LettersError
from letters.letter import Labels

LANGUAGES_DIR = Path(__file__).parent / "languages"
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class LanguagePack:
    tag: str
    name: str
    babel_locale: str
    date_pattern: str
    labels: Labels
    salutation: str
    salutation_without_honorific: str
    list_separator: str
    list_last_separator: str

    def long_date(self, date: dt.date) -> str:
        # Babel's locale data is large; load it only when a date is actually written.
        from babel.dates import format_date

        return format_date(date, format=self.date_pattern, locale=self.babel_locale)

    def join(self, items: list[str]) -> str:
        if len(items) <= 1:
            return "".join(items)
        return self.list_separator.join(items[:-1]) + self.list_last_separator + items[-1]

    def default_salutation(self, honorific: str, name: str) -> str:
        if honorific:
            return self.salutation.format(honorific=honorific, name=name)
        return self.salutation_without_honorific.format(name=name)


def available_languages() -> list[str]:
    return sorted(path.stem for path in LANGUAGES_DIR.glob("*.toml"))


def fallback_chain(tag: str) -> list[str]:
    """`pt-BR` → [`pt-BR`, `pt`]: the tag, then each shorter prefix."""
    parts = tag.split("-")
    return ["-".join(parts[:size]) for size in range(len(parts), 0, -1)]


@cache
def language_pack(tag: str) -> LanguagePack:
    """The pack for `tag`, falling back along its prefixes and finally to English."""
    for candidate in [*fallback_chain(tag), DEFAULT_LANGUAGE]:
        path = LANGUAGES_DIR / f"{candidate}.toml"
        if path.is_file():
            return _read_pack(path)
    raise LettersError(f"no language file for {tag!r}", LANGUAGES_DIR)  # pragma: no cover


def _read_pack(path: Path) -> LanguagePack:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return LanguagePack(
        tag=path.stem,
        name=data["name"],
        babel_locale=data["babel_locale"],
        date_pattern=data["date_pattern"],
        labels=Labels(subject=data["subject"], reference=data["reference"], page=data["page"]),
        salutation=data["salutation"],
        salutation_without_honorific=data["salutation_without_honorific"],
        list_separator=data["list_separator"],
        list_last_separator=data["list_last_separator"],
    )
