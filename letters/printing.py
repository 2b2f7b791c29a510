"""One print file per case (and paper size): every letter, each starting on a new sheet.

pikepdf (qpdf) copies page data lazily from the source files at save time, so memory does
not grow with the whole campaign; letters are merged in chunks so that only a bounded
number of files is open at once.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pikepdf

CHUNK = 200


def print_file_names(papers: list[str]) -> dict[str, str]:
    """print.pdf when a case uses one paper size, else print-a4.pdf and print-letter.pdf."""
    distinct = list(dict.fromkeys(papers))
    if len(distinct) == 1:
        return {distinct[0]: "print.pdf"}
    return {paper: f"print-{paper}.pdf" for paper in distinct}


def write_print_files(case_dir: Path, letters: list[tuple[str, Path]], duplex: bool) -> list[Path]:
    """Merge `letters` ((paper, pdf path) in print order) into print file(s) in `case_dir`."""
    if not letters:
        return []
    names = print_file_names([paper for paper, _ in letters])
    written = []
    for paper, name in names.items():
        target = case_dir / name
        merge_pdfs([path for p, path in letters if p == paper], target, duplex)
        written.append(target)
    for stale in ("print.pdf", "print-a4.pdf", "print-letter.pdf"):
        if stale not in names.values():
            (case_dir / stale).unlink(missing_ok=True)
    return written


def merge_pdfs(sources: list[Path], target: Path, duplex: bool) -> None:
    """Concatenate PDFs into `target` atomically; with `duplex`, pad each to an even count."""
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".print-") as scratch:
        parts = []
        for start in range(0, len(sources), CHUNK):
            part = Path(scratch) / f"part-{start // CHUNK:05d}.pdf"
            _concatenate(sources[start : start + CHUNK], part, duplex)
            parts.append(part)
        while len(parts) > 1:
            merged = []
            for start in range(0, len(parts), CHUNK):
                part = Path(scratch) / f"merge-{len(parts)}-{start // CHUNK:05d}.pdf"
                _concatenate(parts[start : start + CHUNK], part, duplex=False)
                merged.append(part)
            parts = merged
        os.replace(parts[0], target)


def _concatenate(sources: list[Path], target: Path, duplex: bool) -> None:
    output = pikepdf.Pdf.new()
    opened = []
    try:
        for source in sources:
            pdf = pikepdf.Pdf.open(source)
            opened.append(pdf)
            output.pages.extend(pdf.pages)
            if duplex and len(pdf.pages) % 2:
                box = pdf.pages[-1].mediabox
                output.add_blank_page(page_size=(float(box[2]), float(box[3])))
        output.save(target, deterministic_id=True)
    finally:
        output.close()
        for pdf in opened:
            pdf.close()
