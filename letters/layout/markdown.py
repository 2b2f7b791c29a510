"""The complete letter as one Markdown document (the `--format md` output)."""

from __future__ import annotations

from letters.compose.escape import escape_markdown, hard_break_lines
from letters.compose.letter import Letter


def letter_markdown(letter: Letter) -> str:
    """Letterhead, date, address, reference, subject, body, closing, signature block."""
    head, *rest = letter.sender_lines or ("",)
    letterhead = "\n".join(
        part
        for part in (f"**{escape_markdown(head)}**" if head else "", hard_break_lines(rest))
        if part
    )
    if head and rest:
        letterhead = letterhead.replace("\n", "  \n", 1)
    labels = letter.labels
    reference = (
        f"{escape_markdown(labels.reference)}: {escape_markdown(letter.reference)}"
        if letter.reference
        else ""
    )
    subject = (
        f"**{escape_markdown(labels.subject)}: {escape_markdown(letter.subject)}**"
        if letter.subject.strip()
        else ""
    )
    parts = [
        letterhead,
        escape_markdown(letter.date_text),
        hard_break_lines(letter.recipient_lines),
        reference,
        subject,
        letter.body_markdown,
        letter.closing_markdown,
        hard_break_lines(letter.signature_lines),
    ]
    return "\n\n".join(part for part in parts if part) + "\n"
