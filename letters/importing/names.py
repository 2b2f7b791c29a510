"""Names as letters compares and makes them: headers matched loosely, names in plain ASCII,
recipient ids made from names, and a person told by name and organisation.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from anyascii import anyascii
from babel import Locale

MAX_ID_LENGTH = 64
# From here on (CJK radicals, kana, Han, Hangul...) a character is a syllable or word.
_SYLLABIC = 0x2E80
# Country names Babel does not list, as offices write them.
_COUNTRY_ALIASES = {"usa": "US", "u s a": "US", "u s": "US", "uk": "GB", "u k": "GB"}
COUNTRY_LANGUAGES = ("en", "fr", "de", "es", "it", "pt", "nl", "ru", "zh", "ja", "ko", "ar", "vi")

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


def normalise_header(text: str) -> str:
    text = unicodedata.normalize("NFC", text).casefold()
    return " ".join(re.sub(r"[_\-.:/]", " ", text).split())


def ascii_text(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_ASCII_LETTERS))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def transliterate(text: str) -> str:
    """`text` in ASCII letters, from any script (anyascii): each Chinese character, Korean
    syllable or kana a word of its own, so 習近平 → "Xi Jin Ping", Путин → "Putin"."""
    parts = []
    for char in unicodedata.normalize("NFC", text):
        if ord(char) < _SYLLABIC:
            parts.append(anyascii(ascii_text(char)))
        else:
            parts.append(f" {anyascii(char)} ")
    return " ".join("".join(parts).split())


def slugify(text: str) -> str:
    """A recipient id from a name in any script: Nguyễn Thị Hoa → nguyen-thi-hoa,
    習近平 → xi-jin-ping, Владимир Путин → vladimir-putin."""
    slug = re.sub(r"[^a-z0-9]+", "-", transliterate(text).lower()).strip("-")
    if len(slug) > MAX_ID_LENGTH:
        slug = slug[:MAX_ID_LENGTH].rsplit("-", 1)[0]
    return slug


def unique_id(base: str, taken: set[str]) -> str:
    """`base`, or `base-2`, `base-3`, ...: the first free one after a run of taken ones.

    Numbers are probed by doubling, then halving (a spreadsheet of 100,000 rows of one name
    would otherwise try 2, 3, 4, ... again for every row: billions of lookups)."""
    base = base or "recipient"  # a name with no Latin letters at all
    if base not in taken:
        return base

    def used(number: int) -> bool:
        return f"{base}-{number}" in taken

    low, high = 1, 2  # `low` is taken (1 stands for `base` itself); is `high`?
    while used(high):
        low, high = high, high * 2
    while high - low > 1:  # the first free number after low's run
        middle = (low + high) // 2
        if used(middle):
            low = middle
        else:
            high = middle
    return f"{base}-{high}"


def person_key(name: Any, organisation: Any) -> tuple[str, str]:
    """Name and organisation compared the way a person reads them."""

    def clean(value: Any) -> str:
        text = value if isinstance(value, str) else ""
        return " ".join(unicodedata.normalize("NFC", text).casefold().split())

    return clean(name), clean(organisation)


def country_code(text: str) -> str:
    """The ISO 3166-1 code of a country written by name in a usual language (Babel's
    territory names: "France", "Deutschland", "Việt Nam", "대한민국"), or as its code; ""
    when it is none of these."""
    wanted = _country_key(text)
    if wanted in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[wanted]
    return _country_names().get(wanted, "")


def _country_key(text: str) -> str:
    return " ".join(re.sub(r"[.,()'’-]", " ", ascii_text(text).casefold()).split())


_NAMES: dict[str, str] = {}


def _country_names() -> dict[str, str]:
    if not _NAMES:
        for language in COUNTRY_LANGUAGES:
            for code, name in Locale.parse(language).territories.items():
                code = str(code)
                if len(code) == 2 and code.isalpha():
                    _NAMES.setdefault(_country_key(name), code)
                    _NAMES.setdefault(code.casefold(), code)
    return _NAMES
