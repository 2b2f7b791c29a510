"""Letters in the recipient's language: template variants and the words the tool writes."""

from __future__ import annotations

import datetime as dt

import pytest
from pypdf import PdfReader

from letters.commands.preview import preview
from letters.workspace.language import fallback_chain, language_pack
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
    assert pack.page_label(2, 3) == page


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


@pytest.mark.slow
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


GERMAN = """\
name = "Deutsch"
babel_locale = "de"
date_pattern = "d. MMMM y"
subject = "Betreff"
reference = "Unser Zeichen"
page = "Seite {page} von {pages}"
salutation = "Sehr geehrte(r) {honorific} {name},"
salutation_without_honorific = "Guten Tag {name},"
list_separator = ", "
list_last_separator = " und "
"""


def test_a_variant_without_a_language_file_is_an_error(workspace, run):
    root = workspace(**{"templates/appeal.it.md.j2": "Salve\n\nCordiali saluti\n"})
    result = run("check", "-C", root)
    assert result.exit_code == 2
    assert "templates/appeal.it.md.j2: error: no language file for 'it'" in result.stderr
    assert "add languages/it.toml to the campaign folder" in result.stderr


def test_a_campaign_brings_its_own_language_file(workspace, run):
    recipients = RECIPIENTS.replace("language: vi", "language: de")
    root = workspace(
        **{
            "recipients.yaml": recipients,
            "languages/de.toml": GERMAN,
            "templates/appeal.de.md.j2": (
                "{{ recipient.salutation }}\n\n{{ ['a', 'b', 'c'] | prose_list }}\n\n"
                "Mit freundlichen Grüßen\n"
            ),
        }
    )
    text = preview(root, "free-expression", "hoa", None, TODAY)
    assert "14\\. März 2026" in text  # escaped: a line starting "14." would be a list
    assert "Unser Zeichen: REF/1" in text
    assert "Guten Tag Nguyễn Thị Hoa," in text
    assert "a, b und c" in text
    assert run("build", "-C", root).exit_code == 0
    (root / "languages/de.toml").write_text(GERMAN.replace("Unser Zeichen", "Zeichen"), "utf-8")
    dry = run("build", "--dry-run", "-C", root)
    assert "out/free-expression/appeal/hoa.md: rebuild (language changed)" in dry.stdout


def test_a_broken_language_file_names_itself(workspace, run):
    root = workspace(
        **{
            "languages/vi.toml": 'name = "x"\n',
            "templates/appeal.vi.md.j2": "Xin chào\n\nTrân trọng,\n",
        }
    )
    result = run("check", "-C", root)
    assert result.exit_code == 2
    assert "languages/vi.toml:1: error: " in result.stderr
    assert "language file has no 'babel_locale'" in result.stderr
