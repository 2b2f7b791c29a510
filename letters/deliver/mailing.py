"""The mail of a case: one piece per letter, in the order of its print files, with the
address an envelope or a label carries; and how such a block of lines is fitted and set.

The order is the print file's by construction: the plan (`letters.output.plan`) gives the
letters in template order in the case, then recipient order, exactly as
`letters.output.print_files` takes them, and the pieces are grouped by paper size in the order
of the print files (`print.pdf`, or `print-a4.pdf` and `print-letter.pdf`), so a stack of
envelopes or labels matches the stack of letters. The address lines come from
`letters.compose.address.recipient_lines`, the same lines as the letter's window.
"""

from __future__ import annotations

import datetime as dt
import html
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from letters.compose.address import (
    POINT_MM,
    recipient_lines,
    sender_address_lines,
    text_width_mm,
)
from letters.errors import LettersError, LettersErrors
from letters.output.options import BuildOptions
from letters.output.plan import plan
from letters.output.printing import print_file_names
from letters.workspace import Workspace, load_workspace

SMALLEST_PT = 8.0  # DIN 5008's smallest size for an address: below it, an error
STEP_PT = 0.5


@dataclass(frozen=True)
class Mailpiece:
    """One letter's address, as an envelope or a label carries it."""

    case_id: str
    template: str
    recipient_id: str
    paper: str
    lines: tuple[str, ...]  # the address block: the letter's window lines

    @property
    def key(self) -> str:
        return f"{self.template}/{self.recipient_id}"


@dataclass(frozen=True)
class CaseMail:
    """The pieces of one case in print order, and what every piece of it shares."""

    case_id: str
    title: str
    date: dt.date  # the case's date (else today): the PDFs' creation date
    sender: tuple[str, ...]  # the return address: organisation (or name), postal lines
    pieces: tuple[Mailpiece, ...]

    def by_paper(self) -> list[tuple[str, list[Mailpiece]]]:
        """The pieces grouped like the print files: (paper, pieces) in print-file order."""
        return by_paper(self.pieces)


def by_paper(pieces: tuple[Mailpiece, ...] | list[Mailpiece]) -> list[tuple[str, list[Mailpiece]]]:
    """(paper, pieces) in the order of the print files, each group in plan order."""
    papers = print_file_names([piece.paper for piece in pieces])
    return [(paper, [p for p in pieces if p.paper == paper]) for paper in papers]


def print_order(pieces: list[Mailpiece]) -> tuple[Mailpiece, ...]:
    """The pieces as the print files hold them, one file after the other."""
    return tuple(piece for _, group in by_paper(pieces) for piece in group)


def case_mail(root: Path, options: BuildOptions, what: str) -> tuple[Workspace, list[CaseMail]]:
    """Every case's pieces (the cases `options` names, else all), in print order.

    `what` ("envelopes", "labels") names the output in the refusal of `--to`: like the print
    file, the file holds the whole case, so a partial run must never overwrite it."""
    if options.to:
        raise LettersError(
            f"{what} are made for the whole case, like its print file, so they cannot go with --to",
            hint=f"make the {what} without --to (an unchanged file is not rewritten)",
        )
    workspace, errors = load_workspace(root)
    if errors:
        raise LettersErrors(errors)
    jobs, errors = plan(workspace, list(options.cases), [], options.paper)
    if errors:
        raise LettersErrors(errors)
    if not jobs:
        raise LettersError(
            f"there are no letters to make {what} for: no `to:` list selects a recipient",
            workspace.root / "cases",
            hint="`letters list` shows who gets which letter",
        )
    mail: list[CaseMail] = []
    for case_id in dict.fromkeys(job.case_id for job in jobs):
        case = workspace.cases[case_id].case
        pieces = []
        for job in jobs:
            if job.case_id != case_id:
                continue
            recipient = workspace.recipient(job.recipient_id)
            assert recipient is not None
            pieces.append(
                Mailpiece(
                    case_id,
                    job.template_name,
                    job.recipient_id,
                    job.paper,
                    recipient_lines(recipient, case),
                )
            )
        sender = case.sender
        mail.append(
            CaseMail(
                case_id=case_id,
                title=case.title,
                date=case.date or options.today,
                sender=tuple(
                    line
                    for line in (sender.organisation or sender.name, *sender_address_lines(case))
                    if line
                ),
                pieces=print_order(pieces),
            )
        )
    return workspace, mail


def recipient_error(
    workspace: Workspace, piece: Mailpiece, message: str, hint: str
) -> LettersError:
    """A problem with a recipient's address, at its `address:` line in recipients.yaml."""
    file, line, column = workspace.recipient_line(piece.recipient_id, "address", key=True)
    return LettersError(
        f"recipient {piece.recipient_id!r}: {message}",
        file,
        line,
        column,
        hint,
        letter=f"{piece.case_id}/{piece.key}",
    )


def sender_error(workspace: Workspace, case_id: str, message: str, hint: str) -> LettersError:
    """A problem with a case's return address, at its `sender:` line."""
    located = workspace.cases[case_id].located
    return located.error(("sender", "address"), f"the sender of case {case_id!r}: {message}", hint)


@dataclass(frozen=True)
class Fit:
    lines: tuple[str, ...]  # as set: the address's lines, wrapped only where they must be
    size: float  # pt
    line_height: float  # pt

    @property
    def height(self) -> float:
        """The height of one line, in mm."""
        return self.line_height * POINT_MM


def fit(
    lines: tuple[str, ...], width: float, height: float, largest: float, leading: float
) -> Fit | None:
    """How to set an address block in a space `width` × `height` (mm), lines `leading` times
    the size apart: at the largest size from `largest` down to 8 pt at which every line fits
    as it is; else wrapped to the width (at spaces first, by the address module's rule) at
    the largest size at which the wrapped block fits; None if it fits at no size."""
    for wrapped in (False, True):
        size = largest
        while size >= SMALLEST_PT - 1e-9:
            block = _wrapped(lines, width, size) if wrapped else lines
            widest = max((text_width_mm(line, size) for line in block), default=0.0)
            tall = max(len(block), 1) * size * leading * POINT_MM
            if widest <= width + 1e-9 and tall <= height + 1e-9:
                return Fit(block, size, size * leading)
            size -= STEP_PT
    return None


def _wrapped(lines: tuple[str, ...], width: float, size: float) -> tuple[str, ...]:
    from letters.compose.address import wrap

    return tuple(piece for line in lines for piece in wrap(line, width, size))


def too_big(lines: tuple[str, ...], width: float, height: float, leading: float, where: str) -> str:
    """Why an address does not fit even at 8 pt, wrapped to the width."""
    block = _wrapped(lines, width, SMALLEST_PT)
    tall = len(block) * SMALLEST_PT * leading * POINT_MM
    return (
        f"the address does not fit {where} even at {SMALLEST_PT:g} pt: wrapped to its width "
        f"({width:.0f} mm) it takes {len(block)} lines, {tall:.0f} mm, and the space is "
        f"{height:.0f} mm high"
    )


def right_to_left(lines: tuple[str, ...]) -> bool:
    """Whether the address is written in a right-to-left script (its first strong letter):
    the block is then aligned to the right, the start side of that script."""
    for char in "".join(lines):
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


def text(value: str) -> str:
    """Data as HTML text."""
    return html.escape(value, quote=True)


def lines_html(lines: tuple[str, ...], css_class: str, style: str) -> str:
    """A block of lines, each on its own line and never wrapped (the fit made them fit)."""
    direction = ' dir="rtl"' if right_to_left(lines) else ""
    inner = "".join(f'<div class="line">{text(line)}</div>' for line in lines)
    return f'<div class="{css_class}"{direction} style="{style}">{inner}</div>'


def mm(value: float) -> str:
    """A length for CSS, rounded so that the same layout gives the same text."""
    return f"{round(value, 3):g}mm"


def pt(value: float) -> str:
    return f"{round(value, 3):g}pt"
