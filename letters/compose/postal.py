"""A structured address laid out by its country's postal rules (letters.workspace.postal):
the fields in the country's order ("75007 PARIS", "CUPERTINO, CA 95014", "〒100-8111" first
in Japan), the fields its post wants in capitals in capitals, the title right after the
name wherever the country puts the name (last, in Korea and Japan), and the country's name
last, in capitals, in the sender's language (the Universal Postal Union's rule: the post of
the country the letter leaves reads it), left out when the letter stays in one country.

The values are the user's own, printed as written; only their order and case change.
"""

from __future__ import annotations

import re
from typing import Any

from babel import Locale, UnknownLocaleError

from letters.workspace.postal import FIELD_CODES, rules

# A letter beyond Latin (and its extensions, Greek and Cyrillic included) means the address
# is written in the country's own script, and the local format applies.
_LATIN_MAX = 0x52F


def country_name(code: str, language: str = "en") -> str:
    """The country's name in `language`, from CLDR (English when Babel has no such locale)."""
    try:
        locale = Locale.parse(language.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        locale = Locale.parse("en")
    return str(locale.territories.get(code) or Locale.parse("en").territories.get(code, code))


def origin_country(address: Any) -> str:
    """The country a structured address (or its mapping) is in; "" for a list of lines."""
    if isinstance(address, dict):
        return str(address.get("country", "")).upper()
    return str(getattr(address, "country", "") or "")


def _values(address: Any) -> dict[str, Any]:
    if isinstance(address, dict):
        return dict(address)
    return {name: getattr(address, name, "") for name in (*FIELD_CODES.values(), "country")}


def _local_script(values: dict[str, Any]) -> bool:
    text = "".join(_text(values.get(name)) for name in FIELD_CODES.values())
    return any(ord(char) > _LATIN_MAX and char.isalpha() for char in text)


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "\n".join(str(v) for v in value if v)
    return str(value or "")


def postal_lines(
    address: Any,
    *,
    name_lines: tuple[str, ...] = (),
    organisation: str = "",
    origin: str = "",
    language: str = "en",
) -> tuple[str, ...]:
    """The lines of a structured address (a PostalAddress or its mapping), with the name
    block where the country puts it: `name_lines` (name, then title) and `organisation`.

    The country's name is added last unless `origin`, the country the letter is posted
    from, is the same; it is written in `language`, the sender's."""
    values = _values(address)
    country = str(values.get("country", "")).upper()
    country_rules = rules(country)
    layout = country_rules.format if _local_script(values) else country_rules.latin_format
    upper = set(country_rules.upper)
    fields: dict[str, str] = {name: _text(values.get(name)) for name in FIELD_CODES.values()}
    # Where the name comes last (Korea, Japan, China in their own script), the title
    # follows it on its line, as those countries write it: "이건희 회장".
    name_last = "%A" in layout and "%N" in layout and layout.index("%N") > layout.index("%A")
    fields["name"] = (" " if name_last else "\n").join(line for line in name_lines if line)
    fields["organisation"] = organisation
    for name in upper:
        if name in FIELD_CODES.values():
            fields[name] = fields[name].upper()
    codes = {**FIELD_CODES, "N": "name", "O": "organisation"}
    layout = _with_missing_places(layout, fields)
    if "%N" not in layout:
        layout = "%N%n" + layout
    if "%O" not in layout:
        layout = layout.replace("%N", "%N%n%O", 1)
    text = re.sub(r"%([A-Za-z])", lambda m: _code(m[1], codes, fields), layout)
    lines = [" ".join(line.split()) for line in text.split("\n")]
    lines = [_tidy(line) for line in lines]
    if country and country != origin.upper():
        lines.append(country_name(country, language).upper())
    return tuple(line for line in lines if line)


def _with_missing_places(layout: str, fields: dict[str, str]) -> str:
    """The layout with a town or district the user gave but the country's format has no
    place for (Japan's puts the ward in the street lines) next to the street: after it
    where addresses run from the street up, before it where they run from the region down.
    A region the format leaves out is left out: that country's post does not want it."""
    missing = [
        code for code in ("D", "C") if fields[FIELD_CODES[code]] and f"%{code}" not in layout
    ]
    if not missing or "%A" not in layout:
        return layout
    street = layout.index("%A")
    later = [layout.find(code) for code in ("%S", "%Z") if code in layout]
    if later and street < min(later):
        return layout.replace("%A", "%A" + "".join(f"%n%{code}" for code in missing), 1)
    return layout.replace("%A", "".join(f"%{code}%n" for code in reversed(missing)) + "%A", 1)


def _code(code: str, codes: dict[str, str], fields: dict[str, str]) -> str:
    if code == "n":
        return "\n"
    return fields.get(codes.get(code, ""), "")


def _tidy(line: str) -> str:
    """A line left with separators around an empty field: "Paris, " → "Paris", "〒" → ""."""
    line = re.sub(r"\s*,(\s*,)+", ",", line).strip(" ,")
    return "" if line in {"〒", "-"} else line
