"""The filters letters adds to templates: lists and dates in the letter's language, the
address block, trusted Markdown. A filter that rejects a value raises DataValueError, so
the error can name the YAML line the value came from, not only the template's."""

from __future__ import annotations

import datetime as dt
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from letters.compose.address import recipient_lines
from letters.compose.escape import MarkdownText, escape_markdown, hard_break_lines, isolate
from letters.workspace.language import LanguagePack, language_pack
from letters.workspace.locales import is_rtl

LANGUAGE_KEY = "_letters_language"  # the letter's language tag (plain text)


class DataValueError(ValueError):
    """A filter cannot use a value from the data; `value` is the value itself."""

    def __init__(self, message: str, value: Any, hint: str = "") -> None:
        super().__init__(message)
        self.value = value
        self.hint = hint


def _language(context: Context) -> LanguagePack:
    packs = getattr(context.environment, "language_packs", {})
    pack = packs.get(context.get(LANGUAGE_KEY))
    return pack if isinstance(pack, LanguagePack) else language_pack("en")


@pass_context
def prose_list(context: Context, items: Any) -> str:
    if isinstance(items, str):
        return items
    return _language(context).join([str(item) for item in items])


@pass_context
def long_date(context: Context, value: Any) -> str:
    """The date as the dateline writes it (vi: "ngày 9 tháng 1 năm 2026")."""
    return _language(context).long_date(_date(value, "long_date"))


@pass_context
def date_in_text(context: Context, value: Any) -> str:
    """The date in mid-sentence (vi: "9 tháng 1 năm 2026", for "bị bắt ngày {{ d |
    date_in_text }}"); the same as long_date where the language file gives no other form."""
    return _language(context).date_in_text(_date(value, "date_in_text"))


def _date(value: Any, name: str) -> dt.date:
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            raise DataValueError(
                f"{name} needs a YYYY-MM-DD date, not {value!r}",
                value,
                "write the date as YYYY-MM-DD, e.g. 2026-01-09",
            ) from None
    if not isinstance(value, dt.date):
        raise DataValueError(f"{name} needs a date, not {value!r}", value)
    return value


@pass_context
def escape_in_letter(context: Context, value: Any) -> MarkdownText:
    """How a value enters a letter's Markdown (the environment's `finalize`): escaped, and in
    a right-to-left letter a data value (text, not Markdown) is also bidi-isolated."""
    text = escape_markdown(value)
    if isinstance(value, str) and not isinstance(value, MarkdownText):
        language = context.get(LANGUAGE_KEY)
        if isinstance(language, str) and is_rtl(language):
            return isolate(text)
    return text


def address_block(recipient: Any) -> MarkdownText:
    return hard_break_lines(recipient_lines(recipient))
