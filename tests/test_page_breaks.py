"""Letters laid out like a professional's: a short list of demands is never split over two
pages, a long one keeps two items on each side of a break, and a web address in the
letterhead breaks only at a slash."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from letters.layout.pdf import PdfRenderer
from tests.pdf_helpers import PARAGRAPH, SENDER, make_letter, page_texts, render
from tests.pdf_helpers import words as pdf_words

DEMANDS = "\n".join(f"{n}. Demand number {n} of our appeal." for n in range(1, 4))
LONG_LIST = "\n".join(f"{n}. Demand number {n} of our appeal." for n in range(1, 11))


def pages_holding(texts: list[str], needle: str) -> list[int]:
    return [index for index, text in enumerate(texts) if needle in text]


@pytest.mark.slow
def test_a_short_list_moves_to_the_next_page_whole(tmp_path: Path):
    renderer = PdfRenderer(tmp_path)
    split_somewhere = False
    # Slide the list down the page a few words at a time: wherever the page ends, its
    # three items stay on one page.
    for words in range(0, 400, 25):
        filler = " ".join(["word"] * words)
        body = "\n\n".join(["Dear Minister,", PARAGRAPH, PARAGRAPH, PARAGRAPH, filler, DEMANDS])
        texts = page_texts(render(renderer, make_letter(body_markdown=body)))
        pages = {p for n in (1, 2, 3) for p in pages_holding(texts, f"Demand number {n} ")}
        assert len(pages) == 1, (words, pages)
        split_somewhere |= len(texts) > 1 and pages == {1}
    assert split_somewhere  # the list did reach a page break and moved


@pytest.mark.slow
def test_a_long_list_keeps_two_items_on_each_side_of_a_break(tmp_path: Path):
    renderer = PdfRenderer(tmp_path)
    for words in range(0, 400, 40):
        filler = " ".join(["word"] * words)
        body = "\n\n".join(["Dear Minister,", PARAGRAPH, PARAGRAPH, PARAGRAPH, filler, LONG_LIST])
        texts = page_texts(render(renderer, make_letter(body_markdown=body)))
        per_page = [sum(f"Demand number {n} " in text for n in range(1, 11)) for text in texts]
        assert all(count == 0 or count >= 2 for count in per_page), (words, per_page)


@pytest.mark.slow
def test_a_web_address_in_the_letterhead_breaks_only_at_a_slash(tmp_path: Path):
    url = "https://www.opennetwatch-campaigns.example/take-action/viet-nam/cybersecurity-law-2018"
    sender = replace(SENDER, website=url)
    text = page_texts(render(PdfRenderer(tmp_path), make_letter(sender=sender)))[0]
    lines = [line.strip() for line in text.splitlines()]
    joined = next(i for i, line in enumerate(lines) if "https://" in line)
    address = lines[joined][lines[joined].index("https://") :]
    while address != url:
        assert address.endswith("/"), address  # every break comes after a slash
        joined += 1
        address += lines[joined]
    assert "\u200b" not in text  # the break opportunities do not reach the text


@pytest.mark.slow
def test_a_one_item_list_is_not_glued_to_the_paragraph_after_it(tmp_path: Path):
    # "Keep two items on each side" must not make a lone item hold on to the next paragraph:
    # that pulled the item, and the last lines before it, over to a new page, and a letter
    # of numbered paragraphs took a page more than it needed.
    renderer = PdfRenderer(tmp_path)
    item = "7. Demand number seven of our appeal, which stands alone."
    ended_after_item = False
    for words in range(0, 400, 20):
        filler = " ".join(["word"] * words)
        body = "\n\n".join(["Dear Minister,", PARAGRAPH, PARAGRAPH, PARAGRAPH, filler, item])
        body += "\n\n" + "\n\n".join([PARAGRAPH] * 3)
        texts = page_texts(render(renderer, make_letter(body_markdown=body)))
        ended_after_item |= len(texts) > 1 and texts[0].rstrip().endswith("stands alone.")
    assert ended_after_item  # a page may end right after the item


@pytest.mark.slow
def test_numbering_paragraphs_takes_no_extra_page(tmp_path: Path):
    renderer = PdfRenderer(tmp_path)
    text = (
        "The draft law gives the authorities sweeping powers over what people may say online "
        "and obliges companies to hand over their users' data on request, without any "
        "independent oversight of how that data is then used. "
    ) * 3

    def pages(numbered: bool) -> int:
        body = "\n\n".join(
            f"{n}. {text}" if numbered and n % 4 == 0 else text for n in range(1, 13)
        )
        return len(page_texts(render(renderer, make_letter(body_markdown=body))))

    # Every fourth paragraph numbered: each becomes a one-item list.
    assert pages(numbered=True) == pages(numbered=False)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_numbers_past_nine_stay_whole_beside_their_items(tmp_path: Path):
    # "12." used to wrap in the marker column: "12" on one line, "." before the text below.
    body = "\n\n".join(["Dear Minister,", LONG_LIST, "And last:", "98. The ninety-eighth point."])
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(render(PdfRenderer(tmp_path), make_letter(body_markdown=body)).data)
    shown = pdf_words(pdf, (1, 2))
    for number, following in (("9.", "Demand"), ("10.", "Demand"), ("98.", "The")):
        at = next(i for i, word in enumerate(shown) if word[3] == number)
        x_end, top = shown[at][1], shown[at][2]
        after = shown[at + 1]
        assert after[3] == following and after[2] == top, (number, after)  # the same line
        assert 3 < after[0] - x_end < 6  # a space of about 0.45 em, never overlapping
    assert not [word for word in shown if word[3] == "."]
    # A list of one-digit numbers keeps the usual column: its text starts where it did.
    nine = next(i for i, word in enumerate(shown) if word[3] == "9.")
    ten = next(i for i, word in enumerate(shown) if word[3] == "10.")
    assert shown[nine + 1][0] == shown[ten + 1][0]  # one column for the whole list
