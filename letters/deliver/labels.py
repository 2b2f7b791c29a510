"""Address labels: every letter's address on label sheets, in the order of the print files.

`out/<case>/labels-<sheet>.pdf` holds one page per sheet, the size of the sheet, each label
exactly where the sheet's definition (`letters.deliver.label_sheets`) puts it. The text of a
label is set at the largest size from the sheet's `max_font_size` down to 8 pt at which it
fits inside the label's padding (shrunk, never cut), centred vertically in the label and
aligned to the start side of its script; an address that does not fit at 8 pt is an error
naming the recipient. `--skip N` starts on label N + 1 of the first sheet, for a sheet that is
partly used. A sheet whose `contents` is "sender" (L7651) carries the case's return address
instead, one label per letter, for envelopes without a printed return address.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from letters.deliver.label_sheets import LabelSheet, label_sheet
from letters.deliver.mailing import (
    CaseMail,
    case_mail,
    fit,
    lines_html,
    mm,
    pt,
    recipient_error,
    sender_error,
    too_big,
)
from letters.deliver.post_record import PostFile, common_inputs, digest, produce
from letters.deliver.render import FONTS, Pages, render_pages
from letters.errors import LettersError, LettersErrors
from letters.output.folder import open_output_folder
from letters.output.options import BuildOptions
from letters.workspace import Workspace

LEADING = 1.2  # line height, as a multiple of the size

CSS = """\
@page { size: %(width)s %(height)s; margin: 0; }
html { font-family: %(fonts)s; color: #111; }
body { margin: 0; }
.sheet { position: relative; width: %(width)s; height: %(height)s; overflow: hidden;
  break-after: page; }
.sheet:last-child { break-after: auto; }
.label { position: absolute; hyphens: manual; }
.line { white-space: pre; }
.label[dir="rtl"] { text-align: right; }
"""


@dataclass(frozen=True)
class PlacedLabel:
    """One label's text and where it goes: sheet (0-based), cell on it, and its block."""

    sheet: int
    cell: int
    lines: tuple[str, ...]
    left: float  # mm, of the text block
    top: float
    width: float
    size: float  # pt
    line_height: float  # pt


def check_skip(sheet: LabelSheet, skip: int) -> None:
    if not 0 <= skip < sheet.per_sheet:
        raise LettersError(
            f"--skip {skip}: a sheet of {sheet.name} has {sheet.per_sheet} labels",
            hint=f"give the number of labels already used on the first sheet, "
            f"0 to {sheet.per_sheet - 1}",
        )


def place_labels(
    mail: CaseMail, sheet: LabelSheet, skip: int, workspace: Workspace
) -> list[PlacedLabel]:
    """Every letter's label in print order, starting on label `skip` + 1 of the first sheet;
    raises the errors of every address that does not fit a label even at 8 pt."""
    check_skip(sheet, skip)
    inner_width = sheet.label_width - 2 * sheet.padding_x
    inner_height = sheet.label_height - 2 * sheet.padding_y
    where = f"a label of {sheet.name} ({sheet.label_width:g} × {sheet.label_height:g} mm)"
    hint = "shorten the longest line, or choose a sheet with larger labels"
    placed: list[PlacedLabel] = []
    errors: list[LettersError] = []
    for index, piece in enumerate(mail.pieces):
        lines = mail.sender if sheet.contents == "sender" else piece.lines
        fitted = fit(lines, inner_width, inner_height, sheet.max_font_size, LEADING)
        if fitted is None:
            message = too_big(lines, inner_width, inner_height, LEADING, where)
            if sheet.contents == "sender":
                raise sender_error(workspace, mail.case_id, message, hint)
            errors.append(recipient_error(workspace, piece, message, hint))
            continue
        number, cell = divmod(index + skip, sheet.per_sheet)
        left, top = sheet.position(cell)
        block = len(fitted.lines) * fitted.height
        placed.append(
            PlacedLabel(
                number,
                cell,
                fitted.lines,
                left + sheet.padding_x,
                top + (sheet.label_height - block) / 2,
                inner_width,
                fitted.size,
                fitted.line_height,
            )
        )
    if errors:
        raise LettersErrors(errors) if len(errors) > 1 else errors[0]
    return placed


def labels_page(mail: CaseMail, sheet: LabelSheet, placed: list[PlacedLabel]) -> Pages:
    """The label sheets as HTML: one page per sheet."""
    sheets: dict[int, list[str]] = {}
    for label in placed:
        style = (
            f"left: {mm(label.left)}; top: {mm(label.top)}; width: {mm(label.width)}; "
            f"font-size: {pt(label.size)}; line-height: {pt(label.line_height)};"
        )
        sheets.setdefault(label.sheet, []).append(lines_html(label.lines, "label", style))
    sections = tuple(
        f'<section class="sheet">{"".join(labels)}</section>\n' for labels in sheets.values()
    )
    css = CSS % {"width": mm(sheet.page_width), "height": mm(sheet.page_height), "fonts": FONTS}
    return Pages(f"{mail.title}: labels ({sheet.name})", mail.date, css, sections)


def write_labels(
    root: Path,
    options: BuildOptions,
    sheet_name: str,
    skip: int = 0,
    loaded: tuple[Workspace, list[CaseMail]] | None = None,
) -> list[PostFile]:
    """Write `out/<case>/labels-<sheet>.pdf` for the cases `options` names (all by default),
    skipping files whose inputs have not changed. Every address is checked before anything
    is written. `loaded` is the cases' mail when the caller has it already."""
    sheet = label_sheet(sheet_name, root.resolve())
    check_skip(sheet, skip)
    workspace, mail = loaded or case_mail(root, options, "labels")
    planned: list[tuple[CaseMail, int, Pages]] = []
    errors: list[LettersError] = []
    for case in mail:
        try:
            placed = place_labels(case, sheet, skip, workspace)
        except LettersErrors as many:
            errors.extend(many.errors)
            continue
        except LettersError as error:
            errors.append(error)
            continue
        planned.append((case, len(placed), labels_page(case, sheet, placed)))
    if errors:
        raise LettersErrors(errors) if len(errors) > 1 else errors[0]
    out_dir = options.output_folder(workspace.root)
    out = open_output_folder(out_dir, [case.case_id for case in mail], create=not options.dry_run)
    written: list[PostFile] = []
    for case, count, page in planned:
        texts = [case.sender] * count if sheet.contents == "sender" else None
        inputs = {
            "addresses": digest(texts or [piece.lines for piece in case.pieces]),
            "options": digest("labels", sheet.id, sheet.sha256, skip),
            "layout": digest(page.html()),
            **common_inputs(),
        }
        name = f"labels-{sheet.id}"
        written.append(
            produce(
                out,
                case.case_id,
                f"{name}.pdf",
                inputs,
                partial(render_pages, page, workspace.root, name),
                kind="labels",
                pieces=count,
                force=options.force,
                dry_run=options.dry_run,
            )
        )
    return written
