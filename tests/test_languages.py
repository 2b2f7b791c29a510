"""Letters in the recipient's language: template variants and the words the tool writes."""

from __future__ import annotations

import datetime as dt

import pytest
from pypdf import PdfReader

from letters.language import fallback_chain, language_pack
from letters.preview import preview
from tests.conftest import RECIPIENTS

TODAY = dt.date(2030, 1, 2)
VARIANT = "Thư gửi {{ recipient.name }}: {{ ['a', 'b', 'c'] | prose_list }}.\n\nTrân trọng,\n"


def test_fallback_chain():
    assert fallback_chain("pt-BR") == ["pt-BR", "pt"]
    assert fallback_chain("zh-Hant-TW") == ["zh-Hant-TW", "zh-Hant", "zh"]


@pytest.mark.parametrize(
    ("tag", "date", "page"),
    [
        ("en", "14 March 2026", "Page 2 of 3"),
        ("fr", "14 mars 2026", "Page 2 sur 3"),
        ("es", "14 de marzo de 2026", "Página 2 de 3"),
        ("vi", "ngày 14 tháng 3 năm 2026", "Trang 2/3"),
    ],
)
def test_shipped_languages(tag, date, page):
    pack = language_pack(tag)
    assert pack.long_date(dt.date(2026, 3, 14)) == date
    assert pack.labels.page.format(page=2, pages=3) == page


def test_unknown_language_falls_back_to_english():
    assert language_pack("pt-BR").tag == "en"


def test_recipient_gets_the_variant_of_their_language(workspace):
    root = workspace(**{"templates/appeal.vi.md.j2": VARIANT})
    hoa = preview(root, "free-expression", "hoa", None, TODAY)
    assert "Thư gửi Nguyễn Thị Hoa: a, b và c." in hoa
    assert "ngày 14 tháng 3 năm 2026" in hoa
    assert "Số tham chiếu: REF/1" in hoa
    assert "Kính gửi" not in hoa  # the variant did not use the salutation
    ada = preview(root, "free-expression", "ada", None, TODAY)
    assert "We write about" in ada and "14 March 2026" in ada


def test_regional_language_falls_back_to_its_base_variant(workspace):
    recipients = RECIPIENTS.replace("language: vi", "language: vi-VN")
    root = workspace(**{"templates/appeal.vi.md.j2": VARIANT, "recipients.yaml": recipients})
    assert "Thư gửi Nguyễn Thị Hoa" in preview(root, "free-expression", "hoa", None, TODAY)


def test_list_shows_which_variant_each_recipient_gets(workspace, run):
    root = workspace(**{"templates/appeal.vi.md.j2": VARIANT})
    result = run("list", "-C", root)
    rows = [line for line in result.stdout.splitlines() if "free-expression" in line]
    assert any("hoa" in row and "appeal.vi.md.j2" in row and " vi " in row for row in rows)
    assert any("ada" in row and "appeal.md.j2" in row and " en " in row for row in rows)


def test_sample_vietnamese_letter_is_vietnamese_in_pdf(sample, run):
    result = run(
        "build", "cyber-dissidents-2003", "-f", "pdf", "--to", "vn-chief-justice", "-C", sample
    )
    assert result.exit_code == 0, result.stderr
    reader = PdfReader(sample / "out/cyber-dissidents-2003/government-demands/vn-chief-justice.pdf")
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "ngày 20 tháng 11 năm 2003" in text
    assert "Số tham chiếu" in text
    assert f"Trang 2/{len(reader.pages)}" in reader.pages[1].extract_text()
    assert "Kính gửi Chánh án Nguyễn Văn Hiện," in text
    assert reader.trailer["/Root"]["/Lang"] == "vi"
