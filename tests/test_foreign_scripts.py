"""A name in another script than the letter's is drawn by that script's own face: a
Japanese name in an English letter by Noto Serif CJK JP, not by the first CJK face."""

from __future__ import annotations

import pikepdf
import pytest

from letters.layout.html import markdown_to_html
from letters.layout.scripts import marked
from tests.conftest import CASE

RECIPIENTS = """\
recipients:
  - id: abe
    name: 安倍晋三
    organisation: 内閣総理大臣
    address: [東京都千代田区永田町2-3-1]
    language: ja
"""
TEMPLATE = "Dear {{ recipient.name }},\n\nWe write to {{ recipient.name }} today.\n\nYours,\n"


def test_foreign_runs_get_their_language_and_the_letters_own_script_does_not():
    html = markdown_to_html("To 安倍晋三 and 이건희 and مرحبا, in English.", "en", "ja")
    assert '<span lang="ja">安倍晋三</span>' in html
    assert '<span lang="ko">이건희</span>' in html and '<span lang="ar">مرحبا</span>' in html
    assert "<span" not in markdown_to_html("我们写信给安倍晋三", "zh-Hans", "ja")
    assert marked("H.E. 習近平 & co", "en", "zh-Hant") == (
        'H.E. <span lang="zh-Hant">習近平</span> &amp; co'
    )


@pytest.mark.slow
def test_a_japanese_name_in_an_english_letter_is_drawn_by_the_japanese_face(workspace, run):
    root = workspace(
        **{
            "recipients.yaml": RECIPIENTS,
            "cases/free-expression.yaml": CASE,
            "templates/appeal.md.j2": TEMPLATE,
        }
    )
    result = run("build", "-f", "html", "-f", "pdf", "-C", root)
    assert result.exit_code == 0, result.stderr
    html = (root / "out/free-expression/appeal/abe.html").read_text("utf-8")
    assert '<span lang="ja">安倍晋三</span>' in html
    with pikepdf.open(root / "out/free-expression/appeal/abe.pdf") as pdf:
        fonts = {
            str(font.get("/BaseFont"))
            for page in pdf.pages
            for font in page.Resources.get("/Font", {}).values()
        }
    assert any(font.endswith("Noto-Serif-CJK-JP") for font in fonts), fonts
    assert not any("CJK-SC" in font for font in fonts), fonts


@pytest.mark.slow
def test_the_page_number_is_drawn_in_the_letters_own_face(tmp_path, run):
    """The page's margin boxes take the letter's face: "第2頁，共2頁" in Traditional Chinese
    (its comma centred), "2/2쪽" in Korean, never the Simplified Chinese face."""
    from tests.script_campaign import TEMPLATES, script_campaign

    salutation = "{{ recipient.salutation }}\n\n"
    long = {
        f"templates__appeal.{tag}.md.j2": TEMPLATES[f"appeal.{tag}.md.j2"].replace(
            salutation, salutation + "\n\n".join([sentence * 12] * 12) + "\n\n"
        )
        for tag, sentence in (
            ("zh-Hant", "我們關注此案的進展。"),
            ("ko", "저희는 이 사건을 주시합니다. "),
        )
    }
    root = script_campaign(tmp_path / "ws", **long)
    result = run("build", "-f", "pdf", "--to", "tsai", "--to", "lee", "-C", root)
    assert result.exit_code == 0, result.stderr
    for recipient, face in (("tsai", "Noto-Serif-CJK-TC"), ("lee", "Noto-Serif-CJK-KR")):
        with pikepdf.open(root / f"out/appeal/appeal/{recipient}.pdf") as pdf:
            assert len(pdf.pages) >= 2
            fonts = {
                str(font.get("/BaseFont"))
                for page in pdf.pages
                for font in page.Resources.get("/Font", {}).values()
            }
        assert any(font.endswith(face) for font in fonts), (recipient, fonts)
        assert not any("CJK-SC" in font for font in fonts), (recipient, fonts)
