"""What CLDR (through Babel) knows about a language tag: its script and its direction.

`zh-TW` and `zh-HK` are written in Traditional characters and `zh-CN` in Simplified ones:
CLDR's likely subtags say so, and Babel applies them when it parses a tag. The same rule
picks a template variant (`appeal.zh-Hant.md.j2` for a `zh-TW` recipient), a language file
and the fonts of the page. Whether a language is written right to left is CLDR's too
(`Locale.character_order`), never a hand-kept list.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel import Locale

_SEPARATORS = str.maketrans("-", "_")


@lru_cache(maxsize=256)
def _locale(tag: str) -> Locale | None:
    """Babel's locale for `tag` (Babel is imported here, lazily: its data is large)."""
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(tag.translate(_SEPARATORS))
    except (ValueError, TypeError, UnknownLocaleError):
        return None


@lru_cache(maxsize=256)
def script_variant(tag: str) -> str:
    """`zh-TW` → `zh-Hant`, `zh` → `zh-Hans`, `sr-RS` → `sr-Cyrl`: the language with the
    script CLDR finds likely for the tag, when Babel has data for that pair (so the script
    matters for that language); "" otherwise (`pt-BR`, `ar`, `ko`) or when the tag already
    names a script."""
    from babel import localedata
    from babel.core import get_global

    parts = tag.split("-")
    if any(len(part) == 4 and part.isalpha() for part in parts[1:]):
        return ""
    locale = _locale(tag)
    if locale is None:
        return ""
    script = locale.script
    if not script:
        likely = get_global("likely_subtags").get(locale.language, "")
        pieces = likely.split("_")
        script = pieces[1] if len(pieces) > 2 else ""
    # Babel's file for the pair, by its exact name: both parts come from Babel in the case
    # its files use, and `localedata.exists` would list all 1,100 files to compare names
    # without case when there is none (a few ms in every command, for en, vi or ko).
    if not script or not os.path.exists(
        localedata.resolve_locale_filename(f"{locale.language}_{script}")
    ):
        return ""
    return f"{locale.language}-{script}"


def with_script(tag: str) -> str:
    """The tag with its likely script inserted where the script matters: `zh-TW` →
    `zh-Hant-TW` (so `:lang(zh-Hant)` matches it), `zh` → `zh-Hans`; others unchanged."""
    variant = script_variant(tag)
    if not variant:
        return tag
    rest = tag.split("-")[1:]
    return "-".join([variant, *rest])


@lru_cache(maxsize=256)
def is_rtl(tag: str) -> bool:
    """Whether CLDR writes the language of `tag` right to left (ar, fa, he, ur, ...)."""
    locale = _locale(tag)
    return locale is not None and locale.character_order == "right-to-left"


def direction(tag: str) -> str:
    """ "rtl" or "ltr", for an HTML `dir` attribute."""
    return "rtl" if is_rtl(tag) else "ltr"
