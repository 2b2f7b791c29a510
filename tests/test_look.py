"""The sample letters look as they did: each page, rendered to pixels, matches its reference
PNG within a small tolerance (font rasterising differs by a hair between machines).

A change to the look is made on purpose: regenerate the references with
`pytest tests/test_look.py --update-golden` and review the PNGs in the diff. Work on speed
must not change them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageChops

PAGES = Path(__file__).parent / "golden" / "pages"
LETTERS = [
    "cybersecurity-law-2018/company-letter/apple-ceo",  # US Letter, English
    "cyber-dissidents-2003/government-demands/vn-president",  # A4, Vietnamese
]
DPI = 40
# A pixel counts as changed when it moves more than this (of 255) in grey...
LEVEL = 48
# ...and a page may have this share of changed pixels (anti-aliasing noise is far below).
SHARE = 0.002


def changed_share(reference: Image.Image, page: Image.Image) -> float:
    difference = ImageChops.difference(reference.convert("L"), page.convert("L"))
    histogram = difference.histogram()
    return sum(histogram[LEVEL + 1 :]) / (page.width * page.height)


@pytest.mark.slow
def test_the_sample_letters_look_as_their_reference_pages(sample, run, tmp_path, update_golden):
    result = run("build", "--format", "pdf", "-C", sample, env={"SOURCE_DATE_EPOCH": "1767225600"})
    assert result.exit_code == 0, result.stderr
    for letter in LETTERS:
        prefix = tmp_path / letter.replace("/", "-")
        subprocess.run(
            ["pdftoppm", "-png", "-r", str(DPI), sample / "out" / f"{letter}.pdf", prefix],
            check=True,
        )
        pages = sorted(tmp_path.glob(f"{prefix.name}-*.png"))
        assert pages, letter
        for page_file in pages:
            reference_file = PAGES / page_file.name
            if update_golden:
                PAGES.mkdir(parents=True, exist_ok=True)
                page_file.replace(reference_file)
                continue
            assert reference_file.exists(), f"no reference for {page_file.name}: --update-golden"
            with Image.open(reference_file) as reference, Image.open(page_file) as page:
                assert reference.size == page.size, page_file.name
                assert changed_share(reference, page) <= SHARE, page_file.name
        if not update_golden:
            expected = sorted(PAGES.glob(f"{prefix.name}-*.png"))
            assert [p.name for p in expected] == [p.name for p in pages], "pages added or lost"


def test_the_comparison_sees_a_moved_block(tmp_path):
    """The tolerance is not so loose that a shifted paragraph would pass."""
    from PIL import ImageDraw

    base = Image.new("L", (340, 440), 255)
    ImageDraw.Draw(base).rectangle((40, 100, 300, 160), fill=0)
    moved = Image.new("L", (340, 440), 255)
    ImageDraw.Draw(moved).rectangle((40, 106, 300, 166), fill=0)
    assert changed_share(base, base) == 0
    assert changed_share(base, moved) > SHARE
