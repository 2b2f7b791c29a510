"""Words and patterns the tool writes itself, per language, read from letters/languages/*.toml."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from letters.errors import LettersError
from letters.fileio import read_text
from letters.letter import Labels

LANGUAGES_DIR = Path(__file__).parent / "languages"
WORKSPACE_DIR = "languages"  # a campaign may bring its own <tag>.toml files
DEFAULT_LANGUAGE = "en"


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


def available_languages(root: Path | None = None) -> list[str]:
    return sorted({path.stem for folder in _folders(root) for path in folder.glob("*.toml")})


def fallback_chain(tag: str) -> list[str]:
    """`pt-BR` → [`pt-BR`, `pt`]: the tag, then each shorter prefix."""
    parts = tag.split("-")
    return ["-".join(parts[:size]) for size in range(len(parts), 0, -1)]


def _folders(root: Path | None) -> list[Path]:
    """A campaign's own languages/ folder first, then the ones shipped with letters."""
    return ([root / WORKSPACE_DIR] if root is not None else []) + [LANGUAGES_DIR]


def find_language_file(tag: str, root: Path | None = None) -> Path | None:
    """The file for `tag` or its nearest prefix (pt-BR → pt), without the English fallback."""
    for candidate in fallback_chain(tag):
        for folder in _folders(root):
            path = folder / f"{candidate}.toml"
            if path.is_file():
                return path
    return None


def language_pack(tag: str, root: Path | None = None) -> LanguagePack:
    """The pack for `tag`, falling back along its prefixes and finally to English."""
    path = find_language_file(tag, root) or LANGUAGES_DIR / f"{DEFAULT_LANGUAGE}.toml"
    return _read_pack(path, path.stat().st_mtime_ns)


@cache
def _read_pack(path: Path, modified: int) -> LanguagePack:
    """One read per version of a language file (`modified` is part of the cache key)."""
    try:
        data = tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise LettersError(f"language file is not valid TOML: {exc}", path) from None
    try:
        return LanguagePack(
            tag=path.stem,
            path=path,
            name=str(data["name"]),
            babel_locale=str(data["babel_locale"]),
            date_pattern=str(data["date_pattern"]),
            labels=Labels(
                subject=str(data["subject"]),
                reference=str(data["reference"]),
                page=str(data["page"]),
            ),
            salutation=str(data["salutation"]),
            salutation_without_honorific=str(data["salutation_without_honorific"]),
            list_separator=str(data["list_separator"]),
            list_last_separator=str(data["list_last_separator"]),
        )
    except KeyError as exc:
        raise LettersError(
            f"language file has no {exc.args[0]!r}",
            path,
            hint="copy letters/languages/en.toml and translate every line",
        ) from None
