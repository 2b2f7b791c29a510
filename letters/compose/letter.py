"""The rendered letter as plain data: what every output stage (Markdown, HTML, PDF) lays out.

Only `body_markdown` and `closing_markdown` are Markdown (already escaped where data entered
them); every other field is plain text, to be escaped by whichever format shows it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from letters.workspace.language import Labels


@dataclass(frozen=True)
class SenderBlock:
    name: str
    title: str = ""
    organisation: str = ""
    address: tuple[str, ...] = ()
    email: str = ""
    phone: str = ""
    website: str = ""
    logo: str = ""  # path relative to the workspace, checked when the workspace loaded
    signature: str = ""

    @property
    def head(self) -> str:
        """The letterhead's first line: the organisation, or the sender's own name."""
        return self.organisation or self.name

    @property
    def contact(self) -> tuple[str, ...]:
        return tuple(value for value in (self.phone, self.email, self.website) if value)


@dataclass(frozen=True)
class Letter:
    case_id: str
    template_name: str
    recipient_id: str
    recipient_name: str
    language: str  # BCP 47 tag of the template variant used
    paper: str  # "a4" | "letter"
    date: dt.date
    date_text: str  # the date written out in the letter's language
    subject: str
    reference: str
    sender: SenderBlock
    recipient_lines: tuple[str, ...]  # the address block as it goes in the envelope window
    body_markdown: str  # the template's output up to (not including) the closing paragraph
    closing_markdown: str  # the template's last paragraph, e.g. "Yours sincerely,"
    signature_lines: tuple[str, ...]  # sender name, title, organisation
    labels: Labels = field(default_factory=Labels)
    template_file: Path | None = None
    # The address as the window prints it: wrapped to the window, at this size (empty when
    # the letter was made without a window, as for Markdown).
    window_lines: tuple[str, ...] = ()
    window_size_pt: float = 10.0
    recipient_language: str = ""  # the recipient's own, for names and addresses in its script

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.case_id, self.template_name, self.recipient_id)

    @property
    def sender_lines(self) -> tuple[str, ...]:
        """Letterhead lines: organisation (or name), postal address, then contact details."""
        sender = self.sender
        return tuple(v for v in (sender.head, *sender.address) if v) + sender.contact
