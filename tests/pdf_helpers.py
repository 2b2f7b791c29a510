"""Letters built by hand and ways to read back what a PDF shows, for the HTML and PDF tests."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pikepdf
from pypdf import PdfReader

from letters.compose.letter import Letter, SenderBlock
from letters.layout.html import letter_page
from letters.layout.pdf import PdfOutput, PdfRenderer

PT_PER_MM = 72 / 25.4

PARAGRAPH = (
    "Our rivers are the arteries of the countryside. Over the past decade, monitoring data "
    "collected by volunteers along the Thames and its tributaries has shown a steady decline "
    "in water quality, driven by storm overflows, agricultural run-off and the slow erosion "
    "of the riverbank habitats that once filtered these pollutants naturally."
)

SENDER = SenderBlock(
    name="Amelia Hart",
    title="Campaign Director",
    organisation="Friends of the River",
    address=("12 Mill Lane", "Oxford OX1 2AB"),
    email="amelia@river.example",
    phone="+44 1865 555 0199",
)


def make_letter(**changes: Any) -> Letter:
    """A short, valid A4 English letter; keyword arguments replace its fields."""
    letter = Letter(
        case_id="rivers",
        template_name="appeal",
        recipient_id="jane",
        recipient_name="Jane Doe",
        language="en-GB",
        paper="a4",
        date=dt.date(2026, 3, 14),
        date_text="14 March 2026",
        subject="Protecting the Thames",
        reference="FRA/017",
        sender=SENDER,
        recipient_lines=("Rt Hon Jane Doe MP", "2 Marsham Street", "London SW1P 4DF"),
        body_markdown="Dear Minister,\n\n" + PARAGRAPH,
        closing_markdown="Yours sincerely,",
        signature_lines=("Amelia Hart", "Campaign Director", "Friends of the River"),
    )
    return replace(letter, **changes)


def long_body(paragraphs: int) -> str:
    """A body with a numbered list, a bulleted list and enough text for several pages."""
    parts = [
        "Dear Minister,",
        "We ask for three things:",
        "1. Publish discharge data.\n2. Restore 40 km of riverbank.\n3. Report every year.",
        "* monthly sampling;\n* tree planting;\n* open days.",
    ]
    parts += [f"Paragraph {n}. {PARAGRAPH}" for n in range(1, paragraphs + 1)]
    return "\n\n".join(parts)


def render(renderer: PdfRenderer, letter: Letter) -> PdfOutput:
    return renderer.render(letter_page(letter, renderer.workspace), letter)


def reader(output: PdfOutput) -> PdfReader:
    return PdfReader(io.BytesIO(output.data))


def page_texts(output: PdfOutput) -> list[str]:
    return [page.extract_text() for page in reader(output).pages]


def embedded_images(output: PdfOutput) -> int:
    """Image streams anywhere in the file, including backgrounds drawn through patterns."""
    with pikepdf.open(io.BytesIO(output.data)) as pdf:
        return sum(
            1
            for obj in pdf.objects
            if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Image"
        )


def text_lines(output: PdfOutput, page: int = 0) -> list[tuple[float, float, str]]:
    """(x, y) of each piece of text, in mm from the paper's left and top edges."""
    pdf_page = reader(output).pages[page]
    height = float(pdf_page.mediabox.height)
    found: list[tuple[float, float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: Any) -> None:
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            found.append((x / PT_PER_MM, (height - y) / PT_PER_MM, text.strip()))

    pdf_page.extract_text(visitor_text=visit)
    return found


def position_of(output: PdfOutput, text: str, page: int = 0) -> tuple[float, float]:
    """Where the first piece of text starting with `text` sits (its baseline), in mm."""
    for x, y, piece in text_lines(output, page):
        if piece.startswith(text):
            return x, y
    raise AssertionError(f"{text!r} not found on page {page + 1}")


def write_png(path: Path, size: tuple[int, int] = (60, 20)) -> Path:
    """A small opaque PNG, made with Pillow (a WeasyPrint dependency)."""
    from PIL import Image

    Image.new("RGB", size, (20, 90, 140)).save(path)
    return path


_WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>'
)


def words(pdf: Path, pages: tuple[int, int] = (1, 1)) -> list[tuple[float, float, float, str]]:
    """(xMin, xMax, yMin, text) of each word on `pages` (first, last), from `pdftotext -bbox`."""
    first, last = pages
    html = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(first), "-l", str(last), str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [(float(x0), float(x1), float(y0), text) for x0, y0, x1, text in _WORD.findall(html)]
