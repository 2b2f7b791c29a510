"""One letter as an e-mail message: its text and HTML parts, its PDF, its headers, and the
content hash that names it.

Owns what a message says. The headers are made by Python's `email` package (EmailMessage,
policy SMTP, or SMTPUTF8 when an address needs it) from values made one line first, so no
value from a campaign can add a header. The Message-ID holds the hash of everything the
message says (not its Date), so the same letter resent has the same Message-ID and a
changed letter is a new message.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import html
import json
import re
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from letters.compose.escape import unescape_markdown
from letters.compose.letter import Letter
from letters.deliver.mail_address import message_id_domain, needs_utf8, one_line
from letters.layout.html import markdown_to_html
from letters.layout.markdown import letter_markdown

# A template may write Markdown images; a mail client would fetch them (and tell a stranger
# that the letter was read), so the HTML part has none.
_IMAGE = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_PAGE_STYLE = "margin:0;padding:24px 16px;background:#ffffff;"
_TEXT_STYLE = (
    "max-width:40em;margin:0 auto;font-family:Georgia,'Noto Serif','Times New Roman',serif;"
    "font-size:16px;line-height:1.5;color:#1a1a1a;"
)


@dataclass(frozen=True)
class Body:
    text: str  # the plain-text part: the Markdown without its escapes
    html: str  # the HTML part: a whole document, inline styles, nothing fetched


def plain_text(markdown: str) -> str:
    """Markdown as a plain-text part: no `&amp;`, no `\\_`, no trailing spaces."""
    lines = [line.rstrip() for line in unescape_markdown(markdown).split("\n")]
    return "\n".join(lines).strip("\n") + "\n"


def html_document(markdown: str, title: str, language: str) -> str:
    """The Markdown rendered as one small HTML document with inline styles only."""
    body = _IMAGE.sub("", markdown_to_html(markdown))
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{html.escape(language)}">\n'
        '<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(one_line(title))}</title>\n</head>\n"
        f'<body style="{_PAGE_STYLE}">\n<div style="{_TEXT_STYLE}">\n{body}\n</div>\n'
        "</body>\n</html>\n"
    )


def letter_body(letter: Letter) -> Body:
    """The whole letter as the message's body."""
    markdown = letter_markdown(letter)
    return Body(plain_text(markdown), html_document(markdown, letter.subject, letter.language))


def note_body(note_markdown: str, letter: Letter) -> Body:
    """A cover note (templates/email/...) as the body; the letter goes as the attachment."""
    return Body(
        plain_text(note_markdown), html_document(note_markdown, letter.subject, letter.language)
    )


def attachment_name(letter: Letter, with_note: bool) -> str:
    """`<recipient>-<case>.pdf`, or `<case>-<template>-<recipient>.pdf` under a cover note."""
    if with_note:
        return f"{letter.case_id}-{letter.template_name}-{letter.recipient_id}.pdf"
    return f"{letter.recipient_id}-{letter.case_id}.pdf"


@dataclass(frozen=True)
class Draft:
    """Everything one message says except its Date (which is the time of each try)."""

    sender: Address
    to: Address
    reply_to: Address | None
    subject: str
    body: Body
    attachment_name: str = ""  # "" without an attachment
    attachment: bytes | None = None  # None while the PDF is not built yet (a dry run)

    @property
    def utf8(self) -> bool:
        """Whether an address needs SMTPUTF8 (a name never does: it is encoded)."""
        addresses = [self.sender, self.to, *([self.reply_to] if self.reply_to else [])]
        return any(needs_utf8(address) for address in addresses)

    @functools.cached_property
    def content_hash(self) -> str:
        """The hash of everything the message says: it names the message."""
        return self._hash(self.attachment)

    @functools.cached_property
    def body_hash(self) -> str:
        """The hash of everything but the PDF's bytes: known before the PDF is built."""
        return self._hash(None)

    def _hash(self, pdf: bytes | None) -> str:
        attachment = hashlib.sha256(pdf).hexdigest() if pdf else None
        parts = [
            [self.sender.display_name, self.sender.addr_spec],
            [self.to.display_name, self.to.addr_spec],
            [self.reply_to.display_name, self.reply_to.addr_spec] if self.reply_to else None,
            one_line(self.subject),
            self.body.text,
            self.body.html,
            self.attachment_name,
            attachment,
        ]
        text = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def message_id(self) -> str:
        return f"<letters.{self.content_hash}@{message_id_domain(self.sender)}>"

    def message(self, date: dt.datetime) -> EmailMessage:
        message = EmailMessage(policy=policy.SMTPUTF8 if self.utf8 else policy.SMTP)
        message["From"] = self.sender
        message["To"] = self.to
        if self.reply_to is not None:
            message["Reply-To"] = self.reply_to
        message["Subject"] = one_line(self.subject)
        message["Date"] = format_datetime(date)
        message["Message-ID"] = self.message_id
        message.set_content(self.body.text)
        message.add_alternative(self.body.html, subtype="html")
        if self.attachment_name and self.attachment is not None:
            message.add_attachment(
                self.attachment,
                maintype="application",
                subtype="pdf",
                filename=self.attachment_name,
            )
        return message

    def as_bytes(self, date: dt.datetime) -> bytes:
        """The message as it goes over the wire (CRLF line ends)."""
        return self.message(date).as_bytes()

    @property
    def size(self) -> int:
        """About what the message weighs (the PDF is base64: a third more)."""
        return len(self.as_bytes(dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))
