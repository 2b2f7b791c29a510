"""Envelopes: one page per letter, the size of the envelope, in the order of the print file.

Each page carries the sender's return address top left in small type, keeps the stamp and
franking zone (top right) clear, and sets the recipient's address block (the letter's window
lines) in the delivery zone where the post reads it:

- DL, C5, C4, C6 (ISO 269, landscape): the block starts at least 40 mm below the top edge
  (stamp and franking zone), ends at least 15 mm above the bottom edge (the post's code zone)
  and starts about 100 mm from the left (85 mm on C6, whose 162 mm leave too little room
  otherwise), at least 10 mm from the right edge;
- #10 (US, 9 1/2 × 4 1/8 in): the block lies between 5/8 in and 2 3/4 in above the bottom edge
  and at least 1/2 in from each side (the USPS OCR read area), starting 4 in from the left.

The block is centred vertically in that zone, set at the largest size that fits from 11 pt
(12 pt on C4) down to 8 pt; an address that does not fit at 8 pt is an error naming the
recipient. A4 letters get DL envelopes by default and US Letter ones #10: one file per size,
`out/<case>/envelopes-<size>.pdf`, each in the order of the matching print file.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from letters.deliver.mailing import (
    CaseMail,
    Mailpiece,
    case_mail,
    fit,
    lines_html,
    mm,
    pt,
    recipient_error,
    too_big,
)
from letters.deliver.post_record import PostFile, common_inputs, digest, produce
from letters.deliver.render import FONTS, Pages, render_pages
from letters.errors import LettersError, LettersErrors
from letters.output.folder import open_output_folder
from letters.output.options import BuildOptions
from letters.workspace import Workspace

IN = 25.4
LEADING = 1.25  # line height, as a multiple of the size


@dataclass(frozen=True)
class Envelope:
    """An envelope's size and zones, in mm from its top-left corner (landscape)."""

    id: str  # as given to --size: dl, c5, c4, c6, 10
    name: str
    width: float
    height: float
    zone: tuple[float, float, float, float]  # delivery zone: left, top, right, bottom
    corner: float  # the return address's distance from the top and left edges
    return_width: float  # how wide the return address may run (clear of the stamp zone)
    return_size: float  # pt
    largest: float  # pt: the address block's size when it fits

    @property
    def zone_width(self) -> float:
        return self.zone[2] - self.zone[0]

    @property
    def zone_height(self) -> float:
        return self.zone[3] - self.zone[1]


def _iso(id_: str, width: float, height: float, left: float, largest: float) -> Envelope:
    return Envelope(
        id_,
        id_.upper(),
        width,
        height,
        (left, 40.0, width - 10.0, height - 15.0),
        corner=10.0,
        return_width=min(90.0, width - 85.0),
        return_size=7.5,
        largest=largest,
    )


ENVELOPES: dict[str, Envelope] = {
    "dl": _iso("dl", 220.0, 110.0, 100.0, 11.0),
    "c5": _iso("c5", 229.0, 162.0, 100.0, 11.0),
    "c4": _iso("c4", 324.0, 229.0, 100.0, 12.0),
    "c6": _iso("c6", 162.0, 114.0, 85.0, 11.0),
    "10": Envelope(
        "10",
        "#10",
        9.5 * IN,
        4.125 * IN,
        (4.0 * IN, (4.125 - 2.75) * IN, 9.0 * IN, (4.125 - 0.625) * IN),
        corner=0.375 * IN,
        return_width=3.25 * IN,
        return_size=7.5,
        largest=11.0,
    ),
}
# The envelope each paper size folds into when --size is not given.
DEFAULT_SIZE = {"a4": "dl", "letter": "10"}

CSS = """\
@page { size: %(width)s %(height)s; margin: 0; }
html { font-family: %(fonts)s; color: #111; }
body { margin: 0; }
.envelope { position: relative; width: %(width)s; height: %(height)s; overflow: hidden;
  break-after: page; }
.envelope:last-child { break-after: auto; }
.return, .address { position: absolute; hyphens: manual; }
.line { white-space: pre; }
.return { color: #333; }
.return .line:first-child { font-weight: bold; }
.address[dir="rtl"] { text-align: right; }
"""


def envelope_size(name: str) -> Envelope:
    """The envelope `--size` names (dl, c5, c4, c6, 10; "#10" works too)."""
    wanted = name.strip().lower().lstrip("#")
    if wanted not in ENVELOPES:
        raise LettersError(
            f"--size {name!r} is not an envelope size",
            hint=f"use one of: {', '.join(ENVELOPES)}",
        )
    return ENVELOPES[wanted]


def envelope_page(
    mail: CaseMail, pieces: list[Mailpiece], envelope: Envelope, workspace: Workspace
) -> Pages:
    """The envelopes of `pieces` as HTML (one page each); raises the errors of every
    address that does not fit the delivery zone even at 8 pt."""
    errors: list[LettersError] = []
    pages: list[str] = []
    sender = _return_block(mail.sender, envelope)
    left, top, _, _ = envelope.zone
    for piece in pieces:
        lines = piece.lines
        fitted = fit(lines, envelope.zone_width, envelope.zone_height, envelope.largest, LEADING)
        if fitted is None:
            where = f"the delivery zone of a {envelope.name} envelope"
            message = too_big(lines, envelope.zone_width, envelope.zone_height, LEADING, where)
            hint = "shorten the longest line, or split it over two address lines"
            errors.append(recipient_error(workspace, piece, message, hint))
            continue
        block = len(fitted.lines) * fitted.height
        block_top = top + (envelope.zone_height - block) / 2
        # As wide as its widest line (shrink-to-fit), so that a block in a right-to-left
        # script starts where any other does, its lines aligned to their own start side.
        style = (
            f"left: {mm(left)}; top: {mm(block_top)}; max-width: {mm(envelope.zone_width)}; "
            f"font-size: {pt(fitted.size)}; line-height: {pt(fitted.line_height)};"
        )
        address = lines_html(fitted.lines, "address", style)
        pages.append(f'<section class="envelope">{sender}{address}</section>\n')
    if errors:
        raise LettersErrors(errors) if len(errors) > 1 else errors[0]
    css = CSS % {"width": mm(envelope.width), "height": mm(envelope.height), "fonts": FONTS}
    return Pages(f"{mail.title}: envelopes ({envelope.name})", mail.date, css, tuple(pages))


def _return_block(sender: tuple[str, ...], envelope: Envelope) -> str:
    size = envelope.return_size
    style = (
        f"left: {mm(envelope.corner)}; top: {mm(envelope.corner)}; "
        f"max-width: {mm(envelope.return_width)}; font-size: {pt(size)}; "
        f"line-height: {pt(size * 1.3)};"
    )
    return lines_html(sender, "return", style)


def envelope_files(mail: CaseMail, size: str | None) -> list[tuple[Envelope, list[Mailpiece]]]:
    """Which envelope files a case gets: one of `size` with every piece in print order, or
    by default one per paper size (A4 → DL, US Letter → #10), in print-file order."""
    if size is not None:
        return [(envelope_size(size), list(mail.pieces))]
    files: dict[str, list[Mailpiece]] = {}
    for paper, pieces in mail.by_paper():
        files.setdefault(DEFAULT_SIZE[paper], []).extend(pieces)
    return [(ENVELOPES[name], pieces) for name, pieces in files.items()]


def write_envelopes(
    root: Path,
    options: BuildOptions,
    size: str | None,
    loaded: tuple[Workspace, list[CaseMail]] | None = None,
) -> list[PostFile]:
    """Write `out/<case>/envelopes-<size>.pdf` for the cases `options` names (all by default),
    skipping files whose inputs have not changed. Every address is checked before anything
    is written. `loaded` is the cases' mail when the caller has it already."""
    if size is not None:
        envelope_size(size)  # refused before anything is loaded
    workspace, mail = loaded or case_mail(root, options, "envelopes")
    base = workspace.root
    planned: list[tuple[CaseMail, Envelope, list[Mailpiece], Pages]] = []
    errors: list[LettersError] = []
    for case in mail:
        for envelope, pieces in envelope_files(case, size):
            try:
                planned.append(
                    (case, envelope, pieces, envelope_page(case, pieces, envelope, workspace))
                )
            except LettersErrors as many:
                errors.extend(many.errors)
            except LettersError as error:
                errors.append(error)
    if errors:
        raise LettersErrors(errors) if len(errors) > 1 else errors[0]
    out_dir = options.output_folder(workspace.root)
    out = open_output_folder(out_dir, [case.case_id for case in mail], create=not options.dry_run)
    written: list[PostFile] = []
    for case, envelope, pieces, page in planned:
        inputs = {
            "addresses": digest(case.sender, [piece.lines for piece in pieces]),
            "options": digest("envelopes", envelope.id),
            "layout": digest(page.html()),
            **common_inputs(),
        }
        label = f"envelopes-{envelope.id}"
        written.append(
            produce(
                out,
                case.case_id,
                f"{label}.pdf",
                inputs,
                partial(render_pages, page, base, label),
                kind="envelopes",
                pieces=len(pieces),
                force=options.force,
                dry_run=options.dry_run,
            )
        )
    return written
