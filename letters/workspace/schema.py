"""The workspace schema (format version 1): what each YAML file may contain.

Every model forbids unknown keys so that a typo is an error, not silence. Values arrive as
text (see yamlio), so the types here are text, lists of text and free mappings.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from letters.workspace.postal import (
    check_country,
    country_name,
    missing_fields,
    postcode_problem,
)

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# BCP 47, loosely: a 2-3 letter language, then optional script/region/variant subtags.
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")

Paper = Literal["a4", "letter"]
PAPERS: tuple[str, ...] = get_args(Paper)


def _lines(value: Any) -> Any:
    """An address may be a YAML list or one block of text with a line per address line."""
    if isinstance(value, str):
        return [line.strip() for line in value.splitlines() if line.strip()]
    return value


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Lines = Annotated[tuple[str, ...], BeforeValidator(_lines)]
Texts = Annotated[tuple[str, ...], BeforeValidator(_one_or_many)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class PostalAddress(Strict):
    """An address as its parts, laid out by its country's postal rules (compose.postal)."""

    country: str  # ISO 3166-1 alpha-2; first, so the postcode's check can see it
    street: Lines = ()
    city: str = ""
    postcode: str = ""
    region: str = ""
    district: str = ""

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        return check_country(value)

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str, info: ValidationInfo) -> str:
        problem = postcode_problem(info.data.get("country", ""), value)
        if problem:
            raise ValueError(problem)
        return value.strip()

    @model_validator(mode="after")
    def _required(self) -> PostalAddress:
        present = {name for name in _PARTS if getattr(self, name)}
        missing = missing_fields(self.country, present)
        if missing:
            raise ValueError(
                f"an address in {country_name(self.country)} needs {' and '.join(missing)}: add "
                + ", ".join(f"`{name}:`" for name in missing)
            )
        return self


_PARTS = ("street", "city", "postcode", "region", "district")


def _address_kind(value: Any) -> str:
    return "[postal]" if isinstance(value, dict | PostalAddress) else "[lines]"


# A list of lines (or a block of text), or a mapping of parts; the tags start with "[" so
# that error messages leave them out of the field's path.
Address = Annotated[
    Annotated[Lines, Tag("[lines]")] | Annotated[PostalAddress, Tag("[postal]")],
    Discriminator(_address_kind),
]


class Recipient(Strict):
    id: str
    name: str
    family_name: str = ""  # for salutation patterns such as "Sehr geehrte Frau {family_name},"
    honorific: str = ""
    title: str = ""
    organisation: str = ""
    address: Address = ()
    salutation: str = ""
    language: str = "en"
    paper: Paper | None = None
    tags: Texts = ()
    email: str = ""
    fields: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError(
                "an id may contain only lowercase letters, digits and hyphens, "
                "and must start with a letter or digit (e.g. 'tim-cook')"
            )
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        return _check_language(value)


class RecipientsFile(Strict):
    """The shape of recipients.yaml (entries are validated one by one for better lines)."""

    recipients: list[Recipient]


class Sender(Strict):
    name: str
    title: str = ""
    organisation: str = ""
    address: Address = ()
    email: str = ""
    phone: str = ""
    website: str = ""
    logo: str = ""
    signature: str = ""


# An e-mail address, alone or as `Name <address>` (parsed again, strictly, when sending).
_MAILBOX = re.compile(r'(?:"[^"<>]*"|[^"<>@]*)\s*<[^\s<>@]+@[^\s<>@]+>|[^\s<>@"]+@[^\s<>@"]+')


class Send(BaseModel):
    """A case's `send:` block: who the e-mail comes from and where replies go, nothing else.

    The mail server (host, port, user, password, security, bcc) is the user's own setting,
    never a campaign's: extra keys are kept here only so that the loader can say, at their
    line, where each one belongs.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    from_: str = Field("", alias="from")
    reply_to: str = ""

    @field_validator("from_", "reply_to")
    @classmethod
    def _mailbox(cls, value: str) -> str:
        if value and not _MAILBOX.fullmatch(value.strip()):
            raise ValueError(
                'write an e-mail address, e.g. campaigns@example.org or "Open Net Watch" '
                "<campaigns@example.org>"
            )
        return value.strip()


class LetterRule(Strict):
    template: str
    to: Texts


# A language tag as a mapping's key (`translations: {fr: ...}`), checked like `language`.
LanguageKey = Annotated[str, AfterValidator(lambda value: _check_language(value))]


class SenderTranslation(Strict):
    title: str | None = None
    organisation: str | None = None
    address: Address | None = None


class CaseTranslation(Strict):
    """A case's values in another language, merged over the base ones for letters in it."""

    title: str | None = None
    demands: Texts | None = None
    facts: dict[str, Any] = Field(default_factory=dict)
    sender: SenderTranslation | None = None


class Case(Strict):
    title: str
    language: str = "en"  # the language the base values are written in
    date: dt.date | None = None
    reference: str = ""
    paper: Paper | None = None
    sender: Sender
    demands: Texts = ()
    facts: dict[str, Any] = Field(default_factory=dict)
    letters: list[LetterRule] = Field(min_length=1)
    send: Send | None = None  # e-mail sender details for `letters send`
    translations: dict[LanguageKey, CaseTranslation] = Field(default_factory=dict)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        return _check_language(value)

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value) if len(value) == 10 else _bad_date()
            except ValueError:
                _bad_date()
        return value


class FrontMatter(Strict):
    subject: str = ""
    language: str = ""

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        return _check_language(value) if value else value


def _bad_date() -> None:
    raise ValueError("write the date as YYYY-MM-DD, e.g. 2026-03-14")


def _check_language(value: str) -> str:
    if not LANGUAGE_TAG.match(value):
        raise ValueError("write a language as a BCP 47 tag such as en, vi, fr or pt-BR")
    return value
