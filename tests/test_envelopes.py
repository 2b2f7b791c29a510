"""Envelopes: page sizes, the zones the post reads, print order, bytes, fonts, increments."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from pypdf import PdfReader

from letters.deliver.envelopes import ENVELOPES, envelope_page
from letters.deliver.mailing import case_mail
from letters.errors import LettersError
from letters.output.options import BuildOptions
from tests.conftest import RECIPIENTS

# Integration runs (real servers, many PDFs, attack reproductions): the quick loop
# (`pytest -m "not slow"`) leaves them to the full run.
pytestmark = pytest.mark.slow

PT_PER_MM = 72 / 25.4
IN = 25.4
CASE_DIR = "out/free-expression"
MIXED = RECIPIENTS.replace("tags: [tech]\n", "tags: [tech]\n    paper: letter\n", 1)


@dataclasses.dataclass(frozen=True)
class Piece:
    """A piece of text on a PDF page: its baseline's start and its size, in mm."""

    x: float
    y: float  # from the top edge
    size: float  # the font size, in mm
    text: str


def pieces(path: Path, page: int = 0) -> list[Piece]:
    """Every piece of text on a page, with its position (pypdf's visitor)."""
    pdf_page = PdfReader(path).pages[page]
    height = float(pdf_page.mediabox.height)
    found: list[Piece] = []

    def visit(text: str, cm: list[float], tm: list[float], _font: Any, size: float) -> None:
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            scale = abs(tm[0] * cm[0]) or 1.0
            found.append(
                Piece(
                    x / PT_PER_MM, (height - y) / PT_PER_MM, size * scale / PT_PER_MM, text.strip()
                )
            )

    pdf_page.extract_text(visitor_text=visit)
    return found


def piece(path: Path, start: str, page: int = 0) -> Piece:
    for found in pieces(path, page):
        if found.text.startswith(start):
            return found
    raise AssertionError(f"{start!r} not on page {page + 1} of {path.name}")


def page_size_mm(path: Path, page: int = 0) -> tuple[float, float]:
    box = PdfReader(path).pages[page].mediabox
    return float(box.width) / PT_PER_MM, float(box.height) / PT_PER_MM


def first_line_names(path: Path) -> list[str]:
    """The first line of the address block on each page (the recipient's name)."""
    names = []
    for number in range(len(PdfReader(path).pages)):
        address = [p for p in pieces(path, number) if p.x > 60]
        names.append(min(address, key=lambda p: p.y).text)
    return names


def check_structure(path: Path) -> None:
    """Fonts embedded (every font has a font file) and qpdf finds no problem."""
    with pikepdf.open(path) as pdf:
        check = getattr(pdf, "check", None) or pdf.check_pdf_syntax
        assert check() == []
        fonts = [
            font for page in pdf.pages for font in dict(page.Resources.get("/Font", {})).values()
        ]
        assert fonts
        for font in fonts:
            descendant = font.DescendantFonts[0] if "/DescendantFonts" in font else font
            descriptor = descendant.FontDescriptor
            assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))


@pytest.mark.parametrize("size", ["dl", "c5", "c4", "c6", "10"])
def test_page_is_the_envelope_and_the_address_sits_in_the_delivery_zone(workspace, run, size):
    root = workspace()
    result = run("envelopes", "--size", size, "-C", root)
    assert result.exit_code == 0, result.stderr
    path = root / CASE_DIR / f"envelopes-{size}.pdf"
    assert f"envelopes-{size}.pdf (2 letters, 2 pages)" in result.stdout
    envelope = ENVELOPES[size]
    width, height = page_size_mm(path)
    assert (round(width, 2), round(height, 2)) == (
        round(envelope.width, 2),
        round(envelope.height, 2),
    )
    assert width > height  # landscape
    for page, name in enumerate(["Ms Ada Lovelace", "Nguyễn Thị Hoa"]):
        texts = pieces(path, page)
        address = [p for p in texts if p.x > 60]
        assert address[0].text == name
        top = address[0].y - address[0].size  # the first line's top, about its ascent
        bottom = address[-1].y
        left = min(p.x for p in address)
        if size == "10":  # USPS OCR read area: 5/8 in to 2 3/4 in above the bottom edge
            assert height - top <= 2.75 * IN
            assert height - bottom >= 0.625 * IN
            assert left >= 0.5 * IN and left == pytest.approx(4 * IN, abs=0.3)
        else:  # stamp zone above 40 mm, code zone below height - 15 mm, about 100 mm in
            assert top >= 40
            assert bottom <= height - 15
            assert left == pytest.approx(85 if size == "c6" else 100, abs=0.3)
        assert 8 * 0.35 <= address[0].size <= 12.5 * 0.36  # 8 to 12 pt
        sender = [p for p in texts if p.x < 60]
        assert [p.text for p in sender] == [
            "Open Net Watch",
            "1 Example Street",
            "London",
        ]
        assert all(p.y < 30 and p.size < address[0].size for p in sender)  # small, top left
        stamp_zone = [p for p in texts if p.x > width - 75 and p.y < 38]
        assert stamp_zone == []


def test_a4_letters_get_dl_and_us_letter_ones_number_10_by_default(workspace, run):
    root = workspace(**{"recipients.yaml": MIXED})
    result = run("envelopes", "-C", root)
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (root / CASE_DIR).glob("envelopes-*.pdf")) == [
        "envelopes-10.pdf",
        "envelopes-dl.pdf",
    ]
    assert first_line_names(root / CASE_DIR / "envelopes-10.pdf") == ["Ms Ada Lovelace"]
    assert first_line_names(root / CASE_DIR / "envelopes-dl.pdf") == ["Nguyễn Thị Hoa"]
    assert page_size_mm(root / CASE_DIR / "envelopes-10.pdf")[0] == pytest.approx(9.5 * IN)


def test_one_size_for_all_follows_the_print_files_order(workspace, run):
    # Plan order: ada (A4), bob (US Letter), hoa (A4). The print files are print-a4.pdf (ada,
    # hoa) then print-letter.pdf (bob); one envelope file holds them in that order.
    bob = "  - id: bob\n    name: Bob Brown\n    address: [1 Main St, Springfield]\n"
    bob += "    paper: letter\n"
    root = workspace(
        **{"recipients.yaml": RECIPIENTS.replace("  - id: hoa\n", bob + "  - id: hoa\n")}
    )
    assert run("envelopes", "--size", "c5", "-C", root).exit_code == 0
    names = first_line_names(root / CASE_DIR / "envelopes-c5.pdf")
    assert names == ["Ms Ada Lovelace", "Nguyễn Thị Hoa", "Bob Brown"]


def test_same_bytes_on_a_rebuild_fonts_embedded_and_a_clean_structure(workspace, run):
    root = workspace()
    assert run("envelopes", "-C", root).exit_code == 0
    path = root / CASE_DIR / "envelopes-dl.pdf"
    first = path.read_bytes()
    assert run("envelopes", "--force", "-C", root).exit_code == 0
    assert path.read_bytes() == first
    check_structure(path)
    with pikepdf.open(io.BytesIO(first)) as pdf:
        assert str(pdf.docinfo["/CreationDate"]).startswith("D:20260314")  # the case's date
        assert "/ID" not in pdf.trailer


def test_a_second_run_says_unchanged_and_a_changed_address_rebuilds(workspace, run):
    root = workspace()
    assert run("envelopes", "-C", root).exit_code == 0
    path = root / CASE_DIR / "envelopes-dl.pdf"
    before = path.read_bytes()
    again = run("envelopes", "-C", root)
    assert again.exit_code == 0
    assert "envelopes-dl.pdf unchanged (2 letters)" in again.stdout
    recipients = root / "recipients.yaml"
    recipients.write_text(recipients.read_text("utf-8").replace("Hà Nội", "Huế"), "utf-8")
    changed = run("envelopes", "-C", root)
    assert "envelopes-dl.pdf (2 letters, 2 pages)" in changed.stdout
    assert path.read_bytes() != before
    assert "Huế" in PdfReader(path).pages[1].extract_text()


def test_a_file_no_signed_record_vouches_for_is_rebuilt(workspace, run):
    root = workspace()
    assert run("envelopes", "-C", root).exit_code == 0
    path = root / CASE_DIR / "envelopes-dl.pdf"
    path.write_bytes(b"%PDF-1.7 forged")
    result = run("envelopes", "-C", root)
    assert "envelopes-dl.pdf (2 letters, 2 pages)" in result.stdout
    assert path.read_bytes().startswith(b"%PDF-")
    assert len(PdfReader(path).pages) == 2


def test_to_is_refused_like_print_refuses_it(workspace, run):
    root = workspace()
    result = run("envelopes", "--to", "ada", "-C", root)
    assert result.exit_code == 2
    assert "cannot go with --to" in result.stderr
    assert not (root / "out").exists()


def test_an_unknown_size_is_refused_before_anything_is_written(workspace, run):
    root = workspace()
    result = run("envelopes", "--size", "b4", "-C", root)
    assert result.exit_code == 2
    assert "--size 'b4' is not an envelope size" in result.stderr
    assert not (root / "out").exists()


def test_a_link_in_out_exits_2_and_a_failed_write_exits_1(workspace, run, tmp_path):
    root = workspace()
    (root / CASE_DIR).mkdir(parents=True)
    (root / CASE_DIR / "envelopes-dl.pdf").symlink_to(tmp_path / "elsewhere.pdf")
    linked = run("envelopes", "-C", root)
    assert linked.exit_code == 2
    assert not (tmp_path / "elsewhere.pdf").exists()
    (root / CASE_DIR / "envelopes-dl.pdf").unlink()
    (root / CASE_DIR / "envelopes-dl.pdf").mkdir()  # a folder where the file goes
    blocked = run("envelopes", "-C", root)
    assert blocked.exit_code == 1
    assert "envelopes-dl.pdf" in blocked.stderr
    assert "internal error" not in blocked.stderr


def test_an_address_that_cannot_fit_at_8_pt_names_the_recipient(workspace):
    root = workspace()
    loaded, mail = case_mail(root, BuildOptions(), "envelopes")
    lines = ("Nguyễn Thị Hoa", *(f"Building {n}" for n in range(20)))
    long_piece = dataclasses.replace(mail[0].pieces[1], lines=lines)
    with pytest.raises(LettersError) as caught:
        envelope_page(mail[0], [long_piece], ENVELOPES["dl"], loaded)
    error = caught.value
    assert "recipient 'hoa'" in error.message and "even at 8 pt" in error.message
    assert Path(str(error.file)).name == "recipients.yaml" and error.line == 14


def test_an_address_in_a_right_to_left_script_is_aligned_to_the_right(workspace):
    root = workspace()
    loaded, mail = case_mail(root, BuildOptions(), "envelopes")
    hebrew = dataclasses.replace(mail[0].pieces[0], lines=("משה כהן", "רחוב הרצל 1", "תל אביב"))
    page = envelope_page(mail[0], [hebrew, mail[0].pieces[1]], ENVELOPES["dl"], loaded).html()
    assert page.count('class="address" dir="rtl"') == 1
    assert '.address[dir="rtl"] { text-align: right; }' in page


def test_build_refuses_envelopes_and_labels_it_could_not_finish_before_writing(workspace, run):
    root = workspace()
    without_print = run("build", "--envelopes", "dl", "-C", root)
    assert without_print.exit_code == 2 and "need --print" in without_print.stderr
    bad_sheet = run("build", "-f", "pdf", "--print", "--labels", "l9999", "-C", root)
    assert bad_sheet.exit_code == 2 and "no label sheet called 'l9999'" in bad_sheet.stderr
    bad_size = run("build", "-f", "pdf", "--print", "--envelopes", "c7", "-C", root)
    assert bad_size.exit_code == 2 and "not an envelope size" in bad_size.stderr
    assert not (root / "out").exists()


@pytest.mark.slow
def test_build_print_with_envelopes_auto_and_labels(workspace, run):
    root = workspace(**{"recipients.yaml": MIXED})
    result = run(
        "build", "-f", "pdf", "--print", "--envelopes", "auto", "--labels", "5163", "-C", root
    )
    assert result.exit_code == 0, result.stderr
    assert "Envelopes: out/free-expression/envelopes-10.pdf (1 letter, 1 page)" in result.stdout
    assert "Envelopes: out/free-expression/envelopes-dl.pdf (1 letter, 1 page)" in result.stdout
    assert "Labels: out/free-expression/labels-5163.pdf (2 letters, 1 page)" in result.stdout
    dry = run("build", "-f", "pdf", "--print", "--envelopes", "c4", "--dry-run", "-C", root)
    assert "envelopes-c4.pdf would be written (new)" in dry.stdout
    assert not (root / CASE_DIR / "envelopes-c4.pdf").exists()
    quiet = run("build", "-f", "pdf", "--print", "--envelopes", "dl", "-q", "--force", "-C", root)
    assert quiet.exit_code == 0, quiet.stderr
    assert quiet.stdout == ""  # -q: only problems are printed
    assert (root / CASE_DIR / "envelopes-dl.pdf").exists()


def test_many_pages_are_rendered_in_chunks_and_joined_deterministically(workspace, tmp_path):
    from letters.deliver.render import render_pages

    root = workspace()
    loaded, mail = case_mail(root, BuildOptions(), "envelopes")
    pages = envelope_page(mail[0], list(mail[0].pieces) * 3, ENVELOPES["dl"], loaded)
    joined = render_pages(pages, root, "envelopes-dl", chunk=2)
    assert joined.pages == 6 and joined.warnings == []
    assert render_pages(pages, root, "envelopes-dl", chunk=2).data == joined.data
    path = tmp_path / "joined.pdf"
    path.write_bytes(joined.data)
    check_structure(path)
    assert first_line_names(path) == ["Ms Ada Lovelace", "Nguyễn Thị Hoa"] * 3
    with pikepdf.open(path) as pdf:
        assert str(pdf.docinfo["/CreationDate"]).startswith("D:20260314")
        assert str(pdf.docinfo["/Title"]) == "Free expression online: envelopes (DL)"
        assert str(pdf.Root.Lang) == "en"
