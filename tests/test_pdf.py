"""The letter as printed: PDF pages, text order, metadata, determinism and fetch safety."""

from __future__ import annotations

import os
import socket
import unicodedata
from dataclasses import replace
from pathlib import Path

import pytest

from letters.compose.letter import Labels
from letters.errors import LettersError
from letters.layout.pdf import ContentLostError, PdfOutput, PdfRenderer
from tests.pdf_helpers import (
    SENDER,
    embedded_images,
    long_body,
    make_letter,
    page_texts,
    position_of,
    reader,
    render,
    write_png,
)

# Each test lays out PDFs: the quick loop (`pytest -m "not slow"`) leaves them to the
# full run.
pytestmark = pytest.mark.slow

A4 = (595.28, 841.89)
US_LETTER = (612.0, 792.0)
VIETNAMESE = "Nguyễn Thị Hoa, Hà Nội, ngày 14 tháng 3 năm 2026"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ws")


@pytest.fixture(scope="module")
def renderer(workspace: Path) -> PdfRenderer:
    return PdfRenderer(workspace)


@pytest.fixture(scope="module")
def long_letter(renderer: PdfRenderer) -> PdfOutput:
    return render(renderer, make_letter(body_markdown=long_body(paragraphs=14)))


@pytest.fixture(scope="module")
def short_letter(renderer: PdfRenderer) -> PdfOutput:
    return render(renderer, make_letter())


@pytest.fixture(scope="module")
def us_letter(renderer: PdfRenderer) -> PdfOutput:
    letter = make_letter(
        paper="letter",
        language="en-US",
        recipient_lines=(
            "The Honorable John Smith",
            "United States Senate",
            "Washington, DC 20510",
        ),
    )
    return render(renderer, letter)


@pytest.fixture(scope="module")
def vietnamese_letter(renderer: PdfRenderer) -> PdfOutput:
    letter = make_letter(
        language="vi",
        recipient_name="H.E. Nguyễn Văn Hiện",
        recipient_lines=("H.E. Nguyễn Văn Hiện", "Số 44 Yết Kiêu, Hoàn Kiếm", "Hà Nội"),
        subject="Đề nghị bảo vệ lưu vực sông Hồng",
        date_text="Hà Nội, ngày 14 tháng 3 năm 2026",
        labels=Labels(subject="Về việc", reference="Số hiệu", page="Trang {page}/{pages}"),
        body_markdown="Kính gửi Ngài,\n\n" + f"{VIETNAMESE}. " * 40,
        closing_markdown="Trân trọng,",
        signature_lines=("Nguyễn Thị Hoa",),
    )
    return render(renderer, letter)


def page_size(output: PdfOutput, page: int = 0) -> tuple[float, float]:
    box = reader(output).pages[page].mediabox
    return float(box.width), float(box.height)


def in_order(text: str, *pieces: str) -> bool:
    positions = [text.find(piece) for piece in pieces]
    return -1 not in positions and positions == sorted(positions)


# ---- paper and position -------------------------------------------------------------------


def test_a4_letter_is_a4(short_letter: PdfOutput):
    assert page_size(short_letter) == pytest.approx(A4, abs=1)


def test_us_letter_is_letter_size(us_letter: PdfOutput):
    assert page_size(us_letter) == pytest.approx(US_LETTER, abs=1)


def test_a4_address_sits_in_the_din_5008_window(short_letter: PdfOutput):
    x, y = position_of(short_letter, "Rt Hon Jane Doe MP")
    assert x == pytest.approx(25, abs=0.5)  # text aligned with the body, inside the 20 mm field
    # Baselines: a 10 pt line's top is about 3 mm above. The recipient zone is 62.7-90 mm.
    assert 62.7 < y - 3 < y < 90
    x, y = position_of(short_letter, "Friends of the River · 12 Mill Lane")
    assert 45 < y < 62.7  # return address in the top 17.7 mm of the field


def test_us_address_sits_in_the_number_10_window(us_letter: PdfOutput):
    x, first = position_of(us_letter, "The Honorable John Smith")
    _, last = position_of(us_letter, "Washington, DC 20510")
    assert x == pytest.approx(25.4, abs=1)
    assert 2.125 * 25.4 < first - 3 < last < 3 * 25.4


# ---- text -------------------------------------------------------------------------------------


def test_text_reads_in_letter_order(long_letter: PdfOutput):
    text = "\n".join(page_texts(long_letter))
    assert in_order(
        text,
        "Friends of the River",
        "Rt Hon Jane Doe MP",
        "FRA/017",
        "14 March 2026",
        "Protecting the Thames",
        "Dear Minister,",
        "1. Publish discharge data.",
        "2. Restore 40 km of riverbank.",
        "• monthly sampling;",
        "Paragraph 14.",
        "Yours sincerely,",
        "Amelia Hart\nCampaign Director",
    )


def test_numbered_list_keeps_its_numbering(renderer: PdfRenderer):
    output = render(renderer, make_letter(body_markdown="Intro.\n\n4. four\n5. five"))
    assert in_order(page_texts(output)[0], "4. four", "5. five")


@pytest.mark.slow
def test_closing_and_signature_stay_together_with_some_of_the_body(long_letter: PdfOutput):
    last = page_texts(long_letter)[-1]
    assert "Yours sincerely," in last and "Campaign Director" in last
    assert last.startswith("Paragraph 14.") or "\nParagraph 14." in last


def test_vietnamese_text_extracts_intact(vietnamese_letter: PdfOutput):
    text = unicodedata.normalize("NFC", "\n".join(page_texts(vietnamese_letter)))
    for piece in ("H.E. Nguyễn Văn Hiện", "Số 44 Yết Kiêu, Hoàn Kiếm", VIETNAMESE, "Trân trọng,"):
        assert piece in text


def test_shipped_font_is_embedded(vietnamese_letter: PdfOutput):
    fonts = {
        str(font["/BaseFont"])
        for page in reader(vietnamese_letter).pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert fonts and all("Letters-Noto-Serif" in name for name in fonts)


# ---- pages 2 and on ---------------------------------------------------------------------------


def test_pages_are_numbered_from_page_two(long_letter: PdfOutput):
    pages = page_texts(long_letter)
    assert len(pages) == long_letter.pages == 3
    assert "Page" not in pages[0]
    assert "Page 2 of 3" in pages[1]
    assert "Page 3 of 3" in pages[2]


def test_one_page_letter_has_no_page_number(short_letter: PdfOutput):
    assert short_letter.pages == 1
    assert "Page" not in page_texts(short_letter)[0]


def test_page_label_follows_the_letters_language(renderer: PdfRenderer):
    letter = make_letter(body_markdown=long_body(6), labels=Labels(page="Trang {page}/{pages}"))
    pages = page_texts(render(renderer, letter))
    assert "Trang 2/2" in pages[1]


def test_later_pages_have_a_running_head_and_the_first_does_not(long_letter: PdfOutput):
    pages = page_texts(long_letter)
    head = "Jane Doe · Protecting the Thames"
    assert head not in pages[0]
    assert head in pages[1] and head in pages[2]


# ---- metadata and determinism -----------------------------------------------------------------


def test_metadata_comes_from_the_letter(short_letter: PdfOutput):
    pdf = reader(short_letter)
    assert pdf.metadata.title == "Protecting the Thames"
    assert pdf.metadata.author == "Amelia Hart"
    assert pdf.metadata["/CreationDate"] == "D:20260314"
    assert pdf.metadata["/ModDate"] == "D:20260314"
    assert pdf.trailer["/Root"]["/Lang"] == "en-GB"


@pytest.mark.slow
def test_same_letter_gives_the_same_bytes(workspace: Path, renderer: PdfRenderer):
    letter = make_letter(body_markdown=long_body(paragraphs=6))
    first = render(renderer, letter).data
    assert render(renderer, letter).data == first
    assert render(PdfRenderer(workspace), letter).data == first


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["pdf/a-3u", "pdf/ua-1"])
def test_pdf_variants_are_deterministic_too(workspace: Path, variant: str):
    variant_renderer = PdfRenderer(workspace, pdf_variant=variant)
    first = render(variant_renderer, make_letter())
    assert render(variant_renderer, make_letter()).data == first.data
    root = reader(first).trailer["/Root"]
    assert "/Metadata" in root
    if variant == "pdf/ua-1":
        assert "/StructTreeRoot" in root
    else:
        assert b"pdfaid:part" in root["/Metadata"].get_data()


def test_unknown_pdf_variant_is_a_user_error(workspace: Path):
    with pytest.raises(LettersError, match="pdf/x-9"):
        PdfRenderer(workspace, pdf_variant="pdf/x-9")


# ---- safety -----------------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def test_hostile_values_are_shown_literally(renderer: PdfRenderer, no_network: list[object]):
    letter = make_letter(
        subject="<script>alert(1)</script> & **bold**",
        recipient_name="Eve <img src=http://127.0.0.1:9/x.png>",
        recipient_lines=("Eve <img src=http://127.0.0.1:9/x.png>", "1 <b>Bad</b> Street"),
        body_markdown="Dear Eve &lt;img src=http://127.0.0.1:9/x.png&gt;,\n\nHi <b>raw</b>.",
    )
    output = render(renderer, letter)
    text = page_texts(output)[0]
    assert "<script>alert(1)</script> & **bold**" in text
    assert "Eve <img src=http://127.0.0.1:9/x.png>" in text
    assert "1 <b>Bad</b> Street" in text
    assert "Hi <b>raw</b>." in text
    assert embedded_images(output) == 0
    assert output.warnings == []
    assert no_network == []


def test_workspace_logo_and_signature_are_embedded(workspace: Path, renderer: PdfRenderer):
    sender = replace(
        SENDER,
        logo=write_png(workspace / "logo.png"),
        signature=write_png(workspace / "signature.png"),
    )
    output = render(renderer, make_letter(sender=sender))
    assert embedded_images(output) == 2
    assert output.warnings == []


def test_only_workspace_files_are_fetched(
    tmp_path: Path, no_network: list[object], capfd: pytest.CaptureFixture[str]
):
    workspace = tmp_path / "ws"
    (workspace / "templates").mkdir(parents=True)
    write_png(tmp_path / "outside.png")
    write_png(workspace / "inside.png")
    (workspace / "templates" / "escape.png").symlink_to(tmp_path / "outside.png")
    (workspace / "templates" / "letter.css").write_text(
        "@page { size: A5 }\n"
        "body { background-image: url(https://example.org/x.png), url(file:///etc/hostname),"
        " url(../../outside.png), url(escape.png), url(../inside.png) }\n",
        "utf-8",
    )
    with pytest.raises(ContentLostError) as caught:
        render(PdfRenderer(workspace), make_letter(body_markdown="![x](ftp://example.org/y)"))
    refused = "\n".join(caught.value.lost)
    for url in (
        "https://example.org/x.png",
        "file:///etc/hostname",
        (tmp_path / "outside.png").as_uri(),
        "templates/escape.png",
        "ftp://example.org/y",
    ):
        assert url in refused
    assert all("refused to fetch" in lost for lost in caught.value.lost)
    assert "inside.png" not in refused
    assert no_network == []
    assert capfd.readouterr().err == ""
    # Without the refused URLs the same stylesheet renders, with the one inside image.
    (workspace / "templates" / "letter.css").write_text(
        "@page { size: A5 }\nbody { background-image: url(../inside.png) }\n", "utf-8"
    )
    output = render(PdfRenderer(workspace), make_letter())
    assert page_size(output) == pytest.approx((419.53, 595.28), abs=1)  # the override applies
    assert embedded_images(output) == 1


@pytest.mark.weasyprint_warnings("unknown property")
def test_stylesheet_mistakes_are_warnings_not_output(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
):
    css = tmp_path / "templates" / "letter.css"
    css.parent.mkdir()
    css.write_text("body { colour: red }", "utf-8")
    renderer = PdfRenderer(tmp_path)
    for _ in range(2):  # parsed once, reported for every letter
        warnings = render(renderer, make_letter()).warnings
        assert any(w.startswith("templates/letter.css: ") and "colour" in w for w in warnings)
    assert capfd.readouterr().err == ""


def test_a_missing_workspace_image_fails_the_letter(workspace: Path, renderer: PdfRenderer):
    with pytest.raises(ContentLostError) as caught:
        render(renderer, make_letter(body_markdown="![chart](charts/missing.png)"))
    assert "charts/missing.png does not exist" in caught.value.message


def test_edited_stylesheet_is_picked_up(tmp_path: Path):
    css = tmp_path / "templates" / "letter.css"
    css.parent.mkdir()
    css.write_text("@page { size: A5 }", "utf-8")
    renderer = PdfRenderer(tmp_path)
    assert page_size(render(renderer, make_letter())) == pytest.approx((419.53, 595.28), abs=1)
    css.write_text("@page { size: A4 landscape }", "utf-8")
    stat = css.stat()
    os.utime(css, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert page_size(render(renderer, make_letter())) == pytest.approx(A4[::-1], abs=1)


def _import_pdf_stage(tmp_path: Path, extra_env: dict[str, str]) -> tuple[list[str], str]:
    """Import the PDF stage in a new process whose `gcc`, `cc` and `ld` only log that they
    ran; what they logged, and what `ctypes.util.find_library` is afterwards."""
    import os
    import stat
    import subprocess
    import sys

    tools, log = tmp_path / "tools", tmp_path / "ran.log"
    tools.mkdir()
    for name in ("gcc", "cc", "ld"):
        tool = tools / name
        tool.write_text(f"#!/bin/sh\necho {name} >> {log}\nexit 1\n")
        tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    env = {**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}", **extra_env}
    code = (
        "import ctypes.util, letters.layout.pdf\n"
        "print(ctypes.util.find_library.__module__, ctypes.util.find_library.__name__)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    ran = log.read_text().split() if log.exists() else []
    return ran, output.stdout.strip()


@pytest.mark.slow
def test_weasyprint_loads_its_libraries_without_running_a_compiler(tmp_path):
    """WeasyPrint asks for each library under Windows and macOS names first; each miss made
    ctypes run gcc and ld (about 0.1 s of every PDF process's start). The linker cache
    answers alone, and the standard lookup is back once WeasyPrint is loaded."""
    ran, lookup = _import_pdf_stage(tmp_path, {"LD_LIBRARY_PATH": ""})
    assert ran == []
    assert lookup == "ctypes.util find_library"


@pytest.mark.slow
def test_with_ld_library_path_the_standard_lookup_is_kept(tmp_path):
    """A library found only through LD_LIBRARY_PATH is found as before (by gcc and ld)."""
    ran, lookup = _import_pdf_stage(tmp_path, {"LD_LIBRARY_PATH": str(tmp_path)})
    assert "gcc" in ran
    assert lookup == "ctypes.util find_library"


def test_only_the_loader_imports_weasyprint():
    """The first import of WeasyPrint anywhere goes through letters/layout/weasy.py."""
    import ast

    package = Path(__file__).resolve().parent.parent / "letters"
    importers = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            ) + ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(name.split(".")[0] == "weasyprint" for name in names):
                importers.add(path.relative_to(package).as_posix())
    assert importers == {"layout/weasy.py"}
