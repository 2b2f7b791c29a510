"""Names as letters compares and makes them: headers matched loosely, names in plain ASCII,
recipient ids made from names, and a person told by name and organisation.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

MAX_ID_LENGTH = 64

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


def slugify(text: str) -> str:
    """A recipient id from a name: Nguyễn Thị Hoa → nguyen-thi-hoa."""
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text(text).lower()).strip("-")
    if len(slug) > MAX_ID_LENGTH:
        slug = slug[:MAX_ID_LENGTH].rsplit("-", 1)[0]
    return slug


def unique_id(base: str, taken: set[str]) -> str:
    base = base or "recipient"  # a name with no Latin letters at all
    candidate, counter = base, 2
    while candidate in taken:
        candidate, counter = f"{base}-{counter}", counter + 1
    return candidate


def person_key(name: Any, organisation: Any) -> tuple[str, str]:
    """Name and organisation compared the way a person reads them."""

    def clean(value: Any) -> str:
        text = value if isinstance(value, str) else ""
        return " ".join(unicodedata.normalize("NFC", text).casefold().split())

    return clean(name), clean(organisation)
