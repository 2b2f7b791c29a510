"""Envelope and label pages as one PDF, rendered in chunks so that memory stays flat.

WeasyPrint keeps every page of a document in memory while it lays it out (about a quarter
of a megabyte per envelope), so a file of many pages is rendered as documents of at most
`CHUNK` pages, which are then joined with pikepdf. Both ways the output is deterministic:
a file of one chunk is WeasyPrint's own bytes; a joined file gets the first chunk's
metadata (title, the case's date as creation date, language) and an /ID derived from its
content, so a rebuild gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from letters.deliver.mailing import text
from letters.layout.pdf import PdfOutput, standalone_pdf

CHUNK = 200  # pages per WeasyPrint document
# The letter's Noto Serif (packaged), then the serif faces of other scripts where the system
# has them, so an address in Chinese, Korean, Arabic or Hebrew is set in a matching serif.
FONTS = (
    ", ".join(
        f'"{face}"'
        for face in (
            "Letters Noto Serif",
            "Noto Serif",
            "Noto Serif CJK SC",
            "Noto Serif CJK TC",
            "Noto Serif CJK JP",
            "Noto Serif CJK KR",
            "Noto Naskh Arabic",
            "Noto Serif Hebrew",
        )
    )
    + ", serif"
)


@dataclass(frozen=True)
class Pages:
    """A file's pages as HTML: one `<section>` per page, and what every page shares."""

    title: str
    created: dt.date  # the PDF's creation date: the case's date
    css: str
    sections: tuple[str, ...]
    language: str = "en"

    def html(self, start: int = 0, end: int | None = None) -> str:
        """The complete document of pages `start` to `end` (all of them by default)."""
        day = self.created.isoformat()
        body = "".join(self.sections[start:end])
        return (
            f'<!DOCTYPE html>\n<html lang="{text(self.language)}">\n<head>\n'
            f'<meta charset="utf-8">\n<title>{text(self.title)}</title>\n'
            f'<meta name="dcterms.created" content="{day}">\n'
            f'<meta name="dcterms.modified" content="{day}">\n'
            f"<style>\n{self.css}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
        )


def render_pages(pages: Pages, workspace: Path, label: str, chunk: int = CHUNK) -> PdfOutput:
    """The pages as PDF bytes, `chunk` pages per WeasyPrint document."""
    count = len(pages.sections)
    if count <= chunk:
        return standalone_pdf(pages.html(), workspace, label)
    import pikepdf

    warnings: list[str] = []
    sources: list[pikepdf.Pdf] = []  # open until the joined file is saved: it reads them
    stream = io.BytesIO()
    try:
        with pikepdf.Pdf.new() as joined:
            for start in range(0, count, chunk):
                part = standalone_pdf(pages.html(start, start + chunk), workspace, label)
                warnings += part.warnings
                sources.append(pikepdf.Pdf.open(io.BytesIO(part.data)))
                joined.pages.extend(sources[-1].pages)
            for key, value in sources[0].docinfo.items():  # title, dates, producer
                joined.docinfo[key] = value
            if "/Lang" in sources[0].Root:
                joined.Root.Lang = sources[0].Root.Lang
            joined.save(stream, deterministic_id=True, fix_metadata_version=False)
    finally:
        for source in sources:
            source.close()
    return PdfOutput(data=stream.getvalue(), warnings=list(dict.fromkeys(warnings)), pages=count)
