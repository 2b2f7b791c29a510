"""The rest of a print job after `letters build --print`: envelopes and address labels.

`check_print_job` runs before the build, so a wrong size or sheet is refused before any
letter is written; `finish_print_job` runs after a build that wrote its print files, and
writes the envelopes and labels in the same order (unchanged ones are left as they are).
"""

from __future__ import annotations

from pathlib import Path

from letters.deliver.envelopes import envelope_size, write_envelopes
from letters.deliver.label_sheets import label_sheet
from letters.deliver.labels import write_labels
from letters.deliver.mailing import case_mail
from letters.deliver.post_record import PostFile
from letters.errors import LettersError
from letters.output.options import BuildOptions

AUTO = "auto"  # --envelopes auto: DL for A4 letters, #10 for US Letter ones


def check_print_job(
    root: Path, options: BuildOptions, envelopes: str | None, labels: str | None
) -> None:
    """Refuse a print job that could not be finished, before anything is built."""
    if not (envelopes or labels):
        return
    if not options.print_file:
        raise LettersError(
            "--envelopes and --labels finish a print job, so they need --print",
            hint="add --print, or run `letters envelopes` / `letters labels` on their own",
        )
    if envelopes and envelopes != AUTO:
        envelope_size(envelopes)
    if labels:
        label_sheet(labels, root.resolve())


def finish_print_job(
    root: Path, options: BuildOptions, envelopes: str | None, labels: str | None
) -> list[PostFile]:
    """Write the envelopes (of size `envelopes`, or by paper with "auto") and the labels (on
    sheet `labels`) of the cases `options` built, in the order of their print files."""
    check_print_job(root, options, envelopes, labels)
    if not (envelopes or labels):
        return []
    loaded = case_mail(root, options, "envelopes" if envelopes else "labels")
    written: list[PostFile] = []
    if envelopes:
        size = None if envelopes == AUTO else envelopes
        written += write_envelopes(root, options, size, loaded)
    if labels:
        written += write_labels(root, options, labels, 0, loaded)
    return written
