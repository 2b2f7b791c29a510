"""A case's values in the letter's language: its `translations:` entry for that language
merged over the base values (mappings deep-merged, lists and text replaced).

A letter in `fr-CA` takes the `fr-CA` translation, else the `fr` one; a letter in the
case's own `language`, or in one the case has no translation for, sees the base values
(`fallbacks` lists the latter, for `letters check` to warn about).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from letters.workspace.located import Located, Path_
from letters.workspace.schema import Case
from letters.workspace.validation import validate


def translation_key(case: Case, language: str) -> str | None:
    """The `translations:` key a letter in `language` uses (None: the base values)."""
    for tag in (language, language.split("-")[0]):
        if tag in case.translations:
            return tag
    return None


def needs_translation(case: Case, language: str) -> bool:
    """Whether a letter in `language` falls back to base values written in another one."""
    base = case.language.split("-")[0]
    return translation_key(case, language) is None and language.split("-")[0] != base


# Replaced whole, never merged: half of a French postal address over half of an American
# one is no address at all.
WHOLE = frozenset({"address"})


def merged(base: Any, overlay: Any) -> Any:
    """`overlay` over `base`: mappings merged key by key, anything else replaced."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        result = dict(base)
        for key, value in overlay.items():
            whole = key in WHOLE or key not in base
            result[key] = value if whole else merged(base.get(key), value)
        return result
    return overlay


@dataclass
class _TranslationPlace:
    """A `Locator` for a merged case: a value the translation gives is at its own line in
    the `translations:` entry, any other at the base value's line."""

    data: Any
    located: Located
    key: str

    def error(self, path: Path_, message: str, hint: str = "", *, key: bool = False) -> Any:
        translated = ("translations", self.key, *path)
        inside = self.located.line_of(translated, key=key) != self.located.line_of(
            ("translations", self.key), key=key
        )
        return self.located.error(translated if inside else path, message, hint, key=key)


class TranslatedCases:
    """Each case in each language, merged once and kept (cases are immutable)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, str], tuple[Case, Case]] = {}

    def get(self, case: Case, language: str, located: Located | None = None) -> Case:
        key = translation_key(case, language)
        if key is None:
            return case
        found = self._cache.get((id(case), key))
        if found is not None and found[0] is case:
            return found[1]
        overlay = case.translations[key].model_dump(exclude_unset=True)
        data = merged(case.model_dump(by_alias=True, exclude_unset=True), overlay)
        data.pop("translations", None)
        if located is None:
            translated = Case.model_validate(data)
        else:
            # The merged values are checked like the case file: each problem at its line.
            translated = validate(Case, _TranslationPlace(data, located, key))
        self._cache[(id(case), key)] = (case, translated)
        return translated
