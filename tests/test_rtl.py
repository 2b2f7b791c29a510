"""Right-to-left letters: direction from CLDR, the page mirrored, data values bidi-isolated,
the envelope window where the envelope has it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from letters.compose.escape import FSI, PDI
from letters.layout.html import page_number_css, text_direction
from letters.workspace.locales import direction, is_rtl
from tests.pdf_helpers import words
from tests.script_campaign import RECIPIENTS, script_campaign

A4_WIDTH_PT = 595.28
PT_PER_MM = 72 / 25.4


def test_direction_comes_from_cldr():
    for tag in ("ar", "fa", "he", "ur", "ar-EG", "ps", "yi"):
        assert is_rtl(tag), tag
    for tag in ("en", "zh-Hant", "ko", "ru", "vi", "tr", "xx-unknown"):
        assert not is_rtl(tag), tag
    assert direction("fa") == "rtl" and direction("de") == "ltr"


def test_text_direction_is_the_first_strong_character():
    assert text_direction(["12", "قصر الاتحادية"]) == "rtl"
    assert text_direction(["12 Mill Lane"]) == "ltr"
    assert text_direction(["12", "—"]) == ""


def build_html(tmp_path: Path, run, **files: str) -> Path:
    root = script_campaign(tmp_path / "ws", **files)
    result = run("build", "--format", "html", "--format", "md", "-C", root)
    assert result.exit_code == 0, result.stderr
    return root / "out/appeal/appeal"


def test_an_arabic_letter_is_laid_out_right_to_left(tmp_path, run):
    out = build_html(tmp_path, run)
    page = (out / "sisi.html").read_text("utf-8")
    assert '<html lang="ar" dir="rtl">' in page
    # Page numbers move to the bottom left; the address keeps its own direction.
    assert "@bottom-left { content: " in page and "@bottom-right { content:" not in page
    assert '<address class="recipient" dir="rtl"' in page
    assert '<p class="return-address"><span>' in page  # the Latin return address: no dir
    # Data values are isolated, so a Latin name or a number keeps its place.
    assert f"بشأن {FSI}Ahmed Mansoor{PDI}، الذي" in page
    assert f"المادة {FSI}28{PDI}." in page
    assert f"{FSI}release Ahmed Mansoor{PDI}" in page
    # Numbers the template writes itself (loop.index) are not data: a list stays a list.
    assert "<ol" in page
    persian = (out / "pezeshkian.html").read_text("utf-8")
    assert '<html lang="fa" dir="rtl">' in persian


def test_left_to_right_letters_are_unchanged(tmp_path, run):
    out = build_html(tmp_path, run)
    for name in ("lavrov", "xi", "hoa"):
        for suffix in (".html", ".md"):
            text = (out / f"{name}{suffix}").read_text("utf-8")
            assert FSI not in text and PDI not in text, name
            assert 'dir="' not in text, name
    page = (out / "tsai.html").read_text("utf-8")
    assert '<html lang="zh-Hant">' in page  # the script CLDR gives zh-TW, for the fonts


def test_an_arabic_address_in_an_english_letter_starts_on_the_right(tmp_path, run):
    recipients = RECIPIENTS.replace("    language: ar\n", "    language: en\n", 1)
    out = build_html(tmp_path, run, **{"recipients.yaml": recipients})
    page = (out / "sisi.html").read_text("utf-8")
    assert '<html lang="en">' in page
    assert '<address class="recipient" dir="rtl"' in page


def test_page_numbers_mirror():
    assert "@bottom-left" in page_number_css("{page}/{pages}", "left")
    assert "@bottom-right" in page_number_css("{page}/{pages}")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_arabic_lines_are_right_aligned_and_the_window_stays_left(tmp_path, run):
    root = script_campaign(tmp_path / "ws")
    result = run("build", "--format", "pdf", "--to", "sisi", "--to", "lavrov", "-C", root)
    assert result.exit_code == 0, result.stderr
    arabic = words(root / "out/appeal/appeal/sisi.pdf")
    right_edge = A4_WIDTH_PT - 20 * PT_PER_MM  # the text column's right edge
    lines: dict[float, list[tuple[float, float, float, str]]] = {}
    for word in arabic:
        lines.setdefault(round(word[2]), []).append(word)
    window = (20 * PT_PER_MM, 105 * PT_PER_MM + 1)  # DIN 5008: from 20 mm, text from 25 mm
    body = [line for y, line in lines.items() if y > 130 * PT_PER_MM]
    assert len(body) >= 6
    for line in body:
        ends = max(word[1] for word in line)
        starts = min(word[0] for word in line)
        # Every line of the body and signature starts on the right.
        assert abs(ends - right_edge) < 5, line  # a list marker sits in its own box
        assert starts > 25 * PT_PER_MM, line
    # The address stays in the window, its Arabic lines set against its right side.
    address = [line for y, line in lines.items() if 59 * PT_PER_MM < y < 85 * PT_PER_MM]
    assert address
    for line in address:
        assert window[0] <= min(word[0] for word in line)
        assert max(word[1] for word in line) <= window[1]
    ends = [max(word[1] for word in line) for line in address]
    starts = [min(word[0] for word in line) for line in address]
    assert len(address) == 4 and max(ends) - min(ends) < 1  # flush right in the window
    assert max(starts) - min(starts) > 10  # and ragged on the left
    # A Russian letter is left-aligned.
    russian = words(root / "out/appeal/appeal/lavrov.pdf")
    texts = [word for word in russian if word[3] == "Уважаемый"]
    assert texts and abs(texts[0][0] - 25 * PT_PER_MM) < 2
