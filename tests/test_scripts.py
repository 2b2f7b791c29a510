"""Letters in every script: serif faces for each, a character no font draws is an error
before anything is written, CLDR's scripts pick template variants, salutations and dates
follow each language's convention."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader

from letters.commands.preview import preview
from letters.compose import glyphs
from letters.compose.address import font_code_points
from letters.workspace.language import LANGUAGES_DIR, fallback_chain, language_pack
from letters.workspace.locales import script_variant, with_script
from tests.conftest import files_under
from tests.script_campaign import RECIPIENTS, script_campaign

TODAY = dt.date(2030, 1, 2)
RECIPIENTS_DE = "recipients:\n  - id: anna\n    name: Anna Schmidt\n    language: de\n"
SERIF_FACES = ("Letters-Noto-Serif", "Noto-Serif", "Noto-Naskh-Arabic")


def pdf_fonts(path: Path) -> set[str]:
    """The base names of every font the PDF's pages use (subset prefixes removed)."""
    names: set[str] = set()
    with pikepdf.open(path) as pdf:
        for page in pdf.pages:
            fonts = page.resources.get("/Font", {})
            for key in fonts.keys():  # noqa: SIM118 (a pikepdf Dictionary)
                name = str(fonts[key].get("/BaseFont", ""))
                names.add(name.lstrip("/").split("+", 1)[-1])
    return names


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


# -- every script, in serif -------------------------------------------------------------


@pytest.mark.slow
def test_each_recipient_gets_a_letter_in_their_language_in_serif_faces(tmp_path, run):
    root = script_campaign(tmp_path / "ws")
    result = run("build", "--format", "pdf", "-C", root)
    assert result.exit_code == 0, result.stderr
    out = root / "out/appeal/appeal"
    expected = {
        "xi": ("尊敬的习近平先生", "2017年3月20日", "Noto-Serif-CJK-SC"),
        "tsai": ("尊敬的蔡英文女士", "2017年3月20日", "Noto-Serif-CJK-TC"),
        "lee": ("존경하는 이재용 회장님께", "2017년 3월 20일", "Noto-Serif-CJK-KR"),
        "sisi": ("الاتحادية", "مارس", "Noto-Naskh-Arabic"),
        "pezeshkian": ("پاستور", "مارس", "Noto-Naskh-Arabic"),
        "lavrov": ("Уважаемый господин Лавров!", "20 марта 2017 г.", "Letters-Noto-Serif"),
        "hoa": ("Kính gửi Bà Nguyễn Thị Hoa,", "bị bắt ngày 20 tháng 3 năm 2017.", "Letters"),
    }
    for recipient, (greeting, date, face) in expected.items():
        pdf = out / f"{recipient}.pdf"
        text = unicodedata.normalize("NFKC", pdf_text(pdf))
        if recipient not in ("sisi", "pezeshkian"):  # Arabic script extracts in visual order
            assert unicodedata.normalize("NFKC", greeting) in text, (recipient, text)
        assert unicodedata.normalize("NFKC", date) in text, (recipient, text)
        fonts = pdf_fonts(pdf)
        assert any(face in name for name in fonts), (recipient, fonts)
        # Every glyph comes from a serif face: never fontconfig's Noto Sans CJK or DejaVu.
        assert all(name.startswith(SERIF_FACES) for name in fonts), (recipient, fonts)
    if shutil.which("pdffonts"):
        listing = subprocess.run(
            ["pdffonts", str(out / "xi.pdf")], capture_output=True, text=True, check=True
        ).stdout
        assert "Sans" not in listing


def test_zh_tw_gets_the_traditional_chinese_variant(tmp_path):
    root = script_campaign(tmp_path / "ws")
    traditional = preview(root, "appeal", "tsai", None, TODAY)
    assert "我們就Ahmed Mansoor一事致函" in traditional
    assert "2026年3月14日" in traditional and "我方編號" in traditional
    simplified = preview(root, "appeal", "xi", None, TODAY)
    assert "我们就Ahmed Mansoor一事致函" in simplified and "我方编号" in simplified


def test_cldr_scripts_pick_variants_and_language_files():
    assert fallback_chain("zh-TW") == ["zh-TW", "zh-Hant", "zh"]
    assert fallback_chain("zh-HK") == ["zh-HK", "zh-Hant", "zh"]
    assert fallback_chain("zh-CN") == ["zh-CN", "zh-Hans", "zh"]
    assert fallback_chain("zh") == ["zh", "zh-Hans"]
    assert fallback_chain("pt-BR") == ["pt-BR", "pt"]
    assert script_variant("ar") == "" and script_variant("zh-Hant") == ""
    assert with_script("zh-TW") == "zh-Hant-TW" and with_script("vi") == "vi"
    assert language_pack("zh-TW").tag == "zh-Hant"
    assert language_pack("zh-CN").tag == "zh-Hans"


def test_the_stylesheet_names_the_serif_face_of_each_language():
    css = (Path(glyphs.__file__).parents[1] / "layout/assets/fonts/fonts.css").read_text("utf-8")
    assert ':lang(zh-Hant) {\n  font-family: "Letters Noto Serif", "Noto Serif CJK TC"' in css
    assert ':lang(ja) {\n  font-family: "Letters Noto Serif", "Noto Serif CJK JP"' in css
    assert ':lang(ko) {\n  font-family: "Letters Noto Serif", "Noto Serif CJK KR"' in css
    assert ":lang(ar), :lang(fa), :lang(ur)" in css
    letter_css = (Path(glyphs.__file__).parents[1] / "layout/assets/letter.css").read_text()
    for face in glyphs.FACES:
        assert f'"{face.family}"' in letter_css or face.family.startswith("Noto Serif CJK")


# -- a character no font draws ------------------------------------------------------------


def test_a_private_use_character_fails_check_and_build_and_nothing_is_written(tmp_path, run):
    recipients = RECIPIENTS.replace("name: Сергей Лавров", "name: Сергей \ue000Лавров")
    root = script_campaign(tmp_path / "ws", **{"recipients.yaml": recipients})
    line = recipients.splitlines().index("    name: Сергей \ue000Лавров") + 1
    column = len("    name: Сергей ") + 1
    for command in ("check", "build"):
        result = run(command, "-C", root)
        assert result.exit_code == 2, result.output
        assert f"recipients.yaml:{line}:{column}: error:" in result.stderr
        assert "U+E000" in result.stderr
        assert "private-use character" in result.stderr
    assert not (root / "out").exists()
    assert "out" not in {name.split("/")[0] for name in files_under(root)}


def test_a_character_in_a_template_is_found_at_its_line(tmp_path, run):
    template = "{{ recipient.salutation }}\n\nWe write \U000f0001 about it.\n\nYours,\n"
    root = script_campaign(tmp_path / "ws", **{"templates/appeal.md.j2": template})
    root.joinpath("recipients.yaml").write_text(
        "recipients:\n  - id: ada\n    name: Ada Lovelace\n", "utf-8"
    )
    result = run("check", "-C", root)
    assert result.exit_code == 2
    assert "templates/appeal.md.j2:3:10: error:" in result.stderr
    assert "U+F0001" in result.stderr


def test_a_missing_font_package_is_named(monkeypatch):
    real = glyphs.face_file
    monkeypatch.setattr(
        glyphs, "face_file", lambda face: None if face.package == glyphs.CJK else real(face)
    )
    assert glyphs.missing_characters(["习近平 and Ada"]) == ["习", "近", "平"]
    assert "apt-get install fonts-noto-cjk" in glyphs.package_hint("习")


def test_each_character_is_looked_up_once_per_version_of_the_fonts(monkeypatch):
    """A campaign in Korean asks about the same few hundred characters for every letter:
    each is looked up in the font files once; fonts that change (a package installed while
    `--watch` runs) are asked again."""
    asked: list[int] = []
    real_drawn, real_face_file = glyphs._drawn, glyphs.face_file
    monkeypatch.setattr(
        glyphs, "_drawn", lambda code, versions: asked.append(code) or real_drawn(code, versions)
    )
    glyphs._answers.cache_clear()
    for _ in range(3):
        assert glyphs.missing_characters(["한국어 \ue000"]) == ["\ue000"]
    assert sorted(asked) == sorted(ord(char) for char in "한국어\ue000")
    monkeypatch.setattr(
        glyphs,
        "face_file",
        lambda face: None if face.package == glyphs.CJK else real_face_file(face),
    )
    assert glyphs.missing_characters(["한"]) == ["한"]


def test_invisible_formatting_characters_are_not_drawn_and_not_errors():
    text = "a\u200db\u200cc\u200ed\u200fe\u2068f\u2069g\ufe0fh\U000e0100"
    assert glyphs.missing_characters([text]) == []
    assert glyphs.missing_characters(["\ue000"]) == ["\ue000"]


def test_the_shipped_face_is_read_from_its_width_table():
    assert ord("ệ") in font_code_points()
    assert ord("习") not in font_code_points()


# -- salutations and dates ---------------------------------------------------------------


def test_french_default_salutations_follow_french_convention():
    french = language_pack("fr")
    assert french.default_salutation("Mme", "Claire Dubois") == "Madame,"
    assert french.default_salutation("M.", "Jean Dupont") == "Monsieur,"
    assert french.default_salutation("Madame la Ministre", "Claire Dubois") == (
        "Madame la Ministre,"
    )
    assert french.default_salutation("mme.", "Claire Dubois") == "Madame,"  # case, dots
    assert french.default_salutation("", "Claire Dubois") == "Madame, Monsieur,"
    assert french.default_salutation("Maître", "Claire Dubois") == "Maître,"


def test_a_pattern_needing_the_family_name_falls_back_to_the_neutral_greeting():
    german = language_pack("de")
    assert german.default_salutation("Frau", "Anna Schmidt", "Schmidt") == (
        "Sehr geehrte Frau Schmidt,"
    )
    assert german.default_salutation("Frau", "Anna Schmidt") == "Sehr geehrte Damen und Herren,"
    assert german.default_salutation("Herr", "Jan Weber", "Weber") == "Sehr geehrter Herr Weber,"


def test_an_explicit_salutation_wins(tmp_path):
    recipients = RECIPIENTS.replace(
        "    honorific: господин\n", "    honorific: господин\n    salutation: Дорогой Сергей!\n"
    )
    root = script_campaign(tmp_path / "ws", **{"recipients.yaml": recipients})
    text = preview(root, "appeal", "lavrov", None, TODAY)
    assert "Дорогой Сергей!" in text and "Уважаемый" not in text


def test_date_filters_dateline_and_mid_sentence(tmp_path):
    root = script_campaign(tmp_path / "ws")
    text = preview(root, "appeal", "hoa", None, TODAY)
    assert "ngày 14 tháng 3 năm 2026" in text  # the dateline keeps "ngày"
    assert "bị bắt ngày 20 tháng 3 năm 2017." in text  # no "ngày ngày"
    assert "ngày ngày" not in text
    vietnamese = language_pack("vi")
    assert vietnamese.long_date(dt.date(2026, 1, 9)) == "ngày 9 tháng 1 năm 2026"
    assert vietnamese.date_in_text(dt.date(2026, 1, 9)) == "9 tháng 1 năm 2026"
    assert language_pack("en").date_in_text(dt.date(2026, 1, 9)) == "9 January 2026"


def test_a_bad_date_for_date_in_text_is_an_error_at_its_yaml_line(tmp_path, run):
    root = script_campaign(tmp_path / "ws")
    case = (root / "cases/appeal.yaml").read_text("utf-8").replace("2017-03-20", "20/03/2017")
    (root / "cases/appeal.yaml").write_text(case, "utf-8")
    result = run("check", "-C", root)
    assert result.exit_code == 2
    assert "cases/appeal.yaml:14:13: error:" in result.stderr
    assert "date_in_text needs a YYYY-MM-DD date" in result.stderr


@pytest.mark.parametrize("tag", ["ar", "fa", "ru", "zh-Hans", "zh-Hant", "ko", "de"])
def test_new_language_files_ship_and_load(tag):
    assert (LANGUAGES_DIR / f"{tag}.toml").is_file()
    pack = language_pack(tag)
    assert pack.tag == tag
    assert pack.long_date(dt.date(2026, 3, 14))
    assert pack.salutation_neutral


def test_a_salutation_table_is_checked_like_any_pattern(run, workspace):
    german = (LANGUAGES_DIR / "de.toml").read_text("utf-8")
    table = german.splitlines().index("[salutations]") + 1
    root = workspace(
        **{
            "languages/de.toml": german.replace("{family_name},", "{name.x},", 1),
            "recipients.yaml": RECIPIENTS_DE,
            "templates/appeal.de.md.j2": "Hallo\n\nGrüße\n",
        }
    )
    result = run("check", "-C", root)
    assert result.exit_code == 2
    assert f"languages/de.toml:{table}: error:" in result.stderr
    assert "'{name.x}' is not allowed here" in result.stderr
