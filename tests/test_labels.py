"""Address labels: each sheet's published geometry, --skip, text fitted to the label, sheets as
campaign data, increments; and the whole print job of the sample in one order."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfReader

from letters.compose.address import text_width_mm
from letters.deliver.label_sheets import available_sheets, label_sheet
from letters.deliver.labels import place_labels
from letters.deliver.mailing import case_mail
from letters.output.options import BuildOptions
from tests.conftest import RECIPIENTS
from tests.test_envelopes import CASE_DIR, IN, Piece, check_structure, page_size_mm, pieces

# Integration runs (real servers, many PDFs, attack reproductions): the quick loop
# (`pytest -m "not slow"`) leaves them to the full run.
pytestmark = pytest.mark.slow

A4 = (210.0, 297.0)
LETTER = (8.5 * IN, 11 * IN)
# The makers' published templates: paper, columns, rows, label width and height, top margin,
# left margin, horizontal and vertical pitch (mm). Written out here, not read from the TOML
# files, so a wrong number in a sheet file fails.
PUBLISHED = {
    "l7163": (A4, 2, 7, 99.1, 38.1, 15.15, 4.65, 101.6, 38.1),
    "l7160": (A4, 3, 7, 63.5, 38.1, 15.15, 7.21, 66.04, 38.1),
    "l7651": (A4, 5, 13, 38.1, 21.2, 10.7, 4.75, 40.6, 21.2),
    "5160": (LETTER, 3, 10, 2.625 * IN, 1 * IN, 0.5 * IN, 0.1875 * IN, 2.75 * IN, 1 * IN),
    "5163": (LETTER, 2, 5, 4 * IN, 2 * IN, 0.5 * IN, 0.15625 * IN, 4.1875 * IN, 2 * IN),
}


def people(count: int) -> str:
    rows = ["recipients:"]
    for n in range(1, count + 1):
        rows += [f"  - id: p{n:02d}", f"    name: Person {n:02d}", "    address: [1 Long St, Ayr]"]
    return "\n".join(rows) + "\n"


def cell_box(sheet: str, cell: int) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of a label, from the published numbers."""
    _, columns, _, width, height, top, left, pitch_x, pitch_y = PUBLISHED[sheet]
    row, column = divmod(cell, columns)
    x, y = left + column * pitch_x, top + row * pitch_y
    return x, y, x + width, y + height


def block_in(found: list[Piece], box: tuple[float, float, float, float]) -> list[Piece]:
    left, top, right, bottom = box
    return [p for p in found if left <= p.x <= right and top <= p.y <= bottom]


def assert_inside_and_centred(block: list[Piece], box: tuple[float, float, float, float]) -> None:
    left, top, right, bottom = box
    size_pt = block[0].size * 72 / 25.4
    ascent, descent = 0.82 * block[0].size, 0.22 * block[0].size  # Noto Serif, roughly
    text_top, text_bottom = block[0].y - ascent, block[-1].y + descent
    assert text_top > top + 1 and text_bottom < bottom - 1  # a margin, top and bottom
    assert (text_top + text_bottom) / 2 == pytest.approx((top + bottom) / 2, abs=1.0)
    for piece in block:
        assert piece.x >= left + 1.5  # a margin on the left
        assert piece.x + text_width_mm(piece.text, size_pt) <= right - 1.5  # never cut


@pytest.mark.parametrize("sheet", ["l7163", "l7160", "5160", "5163"])
def test_every_label_sits_where_the_published_template_puts_it(workspace, run, sheet):
    paper, columns, rows, *_ = PUBLISHED[sheet]
    per_sheet = columns * rows
    root = workspace(**{"recipients.yaml": people(per_sheet + 1)})
    result = run("labels", "--sheet", sheet, "-C", root)
    assert result.exit_code == 0, result.stderr
    path = root / CASE_DIR / f"labels-{sheet}.pdf"
    assert f"labels-{sheet}.pdf ({per_sheet + 1} letters, 2 pages)" in result.stdout
    for page in range(2):
        width, height = page_size_mm(path, page)
        assert (round(width, 2), round(height, 2)) == (round(paper[0], 2), round(paper[1], 2))
    found = [pieces(path, 0), pieces(path, 1)]
    for index in range(per_sheet + 1):
        page, cell = divmod(index, per_sheet)
        block = block_in(found[page], cell_box(sheet, cell))
        assert [p.text for p in block] == [f"Person {index + 1:02d}", "1 Long St", "Ayr"]
        assert_inside_and_centred(block, cell_box(sheet, cell))
    assert len(found[1]) == 3  # the second sheet holds the one label left


def test_return_address_labels_on_l7651(workspace, run):
    root = workspace()
    result = run("labels", "--sheet", "l7651", "-C", root)
    assert result.exit_code == 0, result.stderr
    path = root / CASE_DIR / "labels-l7651.pdf"
    found = pieces(path)
    for cell in range(2):  # one return label per letter
        block = block_in(found, cell_box("l7651", cell))
        assert [p.text for p in block] == ["Open Net Watch", "1 Example Street", "London"]
        assert_inside_and_centred(block, cell_box("l7651", cell))
    assert len(found) == 6


def test_skip_starts_on_label_n_plus_1_and_runs_on_to_the_next_sheet(workspace, run):
    root = workspace()
    assert run("labels", "--sheet", "l7163", "--skip", "3", "-C", root).exit_code == 0
    path = root / CASE_DIR / "labels-l7163.pdf"
    found = pieces(path)
    assert block_in(found, cell_box("l7163", 3))[0].text == "Ms Ada Lovelace"
    assert block_in(found, cell_box("l7163", 4))[0].text == "Nguyễn Thị Hoa"
    assert not any(block_in(found, cell_box("l7163", cell)) for cell in range(3))
    result = run("labels", "--sheet", "l7163", "--skip", "13", "-C", root)
    assert "(2 letters, 2 pages)" in result.stdout
    assert block_in(pieces(path, 0), cell_box("l7163", 13))[0].text == "Ms Ada Lovelace"
    assert block_in(pieces(path, 1), cell_box("l7163", 0))[0].text == "Nguyễn Thị Hoa"


def test_skip_must_leave_a_label_on_the_sheet(workspace, run):
    root = workspace()
    result = run("labels", "--sheet", "l7163", "--skip", "14", "-C", root)
    assert result.exit_code == 2
    assert "--skip 14: a sheet of Avery L7163 has 14 labels" in result.stderr
    assert not (root / "out").exists()


def wide_line(target_mm: float) -> str:
    """An address line just over `target_mm` wide at 10 pt."""
    words = "Building of the Ministry of Foreign Affairs and International Cooperation, Block"
    for end in range(1, len(words) + 1):
        if text_width_mm(words[:end].rstrip(), 10) >= target_mm:
            return words[:end].rstrip()
    raise AssertionError("no line that wide")


def test_text_is_shrunk_to_fit_a_label_not_cut(workspace, run):
    long = wide_line(65)  # fits the letter's window, not an L7160 label (55.5 mm) at 10 pt
    root = workspace(**{"recipients.yaml": RECIPIENTS.replace("12 St James's Square", long)})
    loaded, mail = case_mail(root, BuildOptions(), "labels")
    placed = place_labels(mail[0], label_sheet("l7160"), 0, loaded)
    assert placed[0].size < 10 and placed[1].size == 10
    assert text_width_mm(long, placed[0].size) <= 63.5 - 2 * 4
    assert run("labels", "--sheet", "l7160", "-C", root).exit_code == 0
    block = block_in(pieces(root / CASE_DIR / "labels-l7160.pdf"), cell_box("l7160", 0))
    assert block[3].text == long  # whole, on one line
    assert_inside_and_centred(block, cell_box("l7160", 0))


def test_an_address_that_cannot_fit_at_8_pt_is_an_error_naming_the_recipient(workspace, run):
    # Six lines, one of them 78 mm wide at 10 pt: it fits the letter's window, but on a 5160
    # label (61.6 × 22.4 mm inside its padding) the wide line wraps even at 8 pt, and seven
    # lines of 8 pt take 23.7 mm.
    long = wide_line(78)
    six = RECIPIENTS.replace("12 St James's Square", long).replace(
        "      - London SW1Y 4JH\n", "      - London SW1Y 4JH\n      - United Kingdom\n"
    )
    root = workspace(**{"recipients.yaml": six})
    assert run("check", "-C", root).exit_code == 0
    result = run("labels", "--sheet", "5160", "-C", root)
    assert result.exit_code == 2
    assert "recipients.yaml:7:5: error: free-expression/appeal/ada: recipient 'ada'" in (
        " ".join(result.stderr.split())
    )
    assert "even at 8 pt" in result.stderr
    assert not (root / "out").exists()


def test_sheets_are_data_a_campaign_can_add(workspace, run):
    sheet = "\n".join(
        [
            'name = "Office 2 × 3"',
            'unit = "mm"',
            "page_width = 210",
            "page_height = 297",
            "columns = 2",
            "rows = 3",
            "label_width = 100",
            "label_height = 90",
            "top = 10",
            "left = 5",
            "pitch_x = 100",
            "pitch_y = 95",
            "padding_x = 8",
            "padding_y = 5",
            "max_font_size = 14",
        ]
    )
    root = workspace(**{"sheets/office.toml": sheet + "\n"})
    assert "office" in available_sheets(root)
    result = run("labels", "--sheet", "office", "-C", root)
    assert result.exit_code == 0, result.stderr
    found = pieces(root / CASE_DIR / "labels-office.pdf")
    block = block_in(found, (105, 10, 205, 100))  # the second label: column 2, row 1
    assert block[0].text == "Nguyễn Thị Hoa"
    assert block[0].x == pytest.approx(113, abs=0.3)
    assert block[0].size * 72 / 25.4 == pytest.approx(14, abs=0.1)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("colums = 2\npitch_x = 100\n", 1, "unknown key 'colums' in a sheet file"),
        ("columns = 3\npitch_x = 100\n", 1, "the last column ends 305 mm from the left edge"),
        ('columns = "2"\npitch_x = 100\n', 1, "'columns': Input should be a valid integer"),
        ("pitch_x = 100\ncolumns = [\n", 2, "sheet file is not valid TOML"),
        ("columns = 2\npitch_x = 50\n", 2, "the labels would overlap"),
    ],
)
def test_a_bad_sheet_file_is_an_error_at_its_line(workspace, run, text, where, message):
    base = (
        'name = "Bad"\nunit = "mm"\npage_width = 210\npage_height = 297\nrows = 3\n'
        "label_width = 100\nlabel_height = 90\ntop = 10\nleft = 5\n"
        "pitch_y = 95\npadding_x = 8\npadding_y = 5\n"
    )
    root = workspace(**{"sheets/bad.toml": base + text})
    result = run("labels", "--sheet", "bad", "-C", root)
    assert result.exit_code == 2
    line = base.count("\n") + where
    assert f"sheets/bad.toml:{line}" in result.stderr
    assert message in " ".join(result.stderr.split())


def test_a_huge_sheet_file_is_not_read(workspace, run):
    root = workspace(**{"sheets/huge.toml": "# padding\n" * 10_000})
    result = run("labels", "--sheet", "huge", "-C", root)
    assert result.exit_code == 2 and "larger than the limit of 64 KB" in result.stderr


def test_a_sheet_file_that_is_a_link_is_refused(workspace, run, tmp_path):
    root = workspace()
    (root / "sheets").mkdir()
    target = tmp_path / "elsewhere.toml"
    target.write_text(Path(label_sheet("l7163").path).read_text("utf-8"), "utf-8")
    (root / "sheets/l7163.toml").symlink_to(target)
    result = run("labels", "--sheet", "l7163", "-C", root)
    assert result.exit_code == 2
    assert "is a link" in result.stderr


def test_an_unknown_sheet_is_refused_with_a_suggestion(workspace, run):
    result = run("labels", "--sheet", "l7136", "-C", workspace())
    assert result.exit_code == 2
    assert "no label sheet called 'l7136'" in result.stderr
    assert "did you mean 'l7163'?" in result.stderr


def test_labels_are_incremental_deterministic_and_clean(workspace, run):
    root = workspace()
    assert run("labels", "--sheet", "l7160", "-C", root).exit_code == 0
    path = root / CASE_DIR / "labels-l7160.pdf"
    first = path.read_bytes()
    again = run("labels", "--sheet", "l7160", "-C", root)
    assert "labels-l7160.pdf unchanged (2 letters)" in again.stdout
    assert run("labels", "--sheet", "l7160", "--force", "-C", root).exit_code == 0
    assert path.read_bytes() == first  # the same bytes on a rebuild
    check_structure(path)
    skipped = run("labels", "--sheet", "l7160", "--skip", "1", "-C", root)
    assert "labels-l7160.pdf (2 letters, 1 page)" in skipped.stdout
    assert path.read_bytes() != first


def test_to_is_refused_for_labels(workspace, run):
    root = workspace()
    result = run("labels", "--sheet", "l7163", "--to", "tag:tech", "-C", root)
    assert result.exit_code == 2 and "cannot go with --to" in result.stderr


def compact(text: str) -> str:
    return "".join(text.split())


def who(text: str, addresses: dict[str, tuple[str, ...]]) -> list[str]:
    """The recipients whose whole address block is in `text`."""
    found = compact(text)
    return [rid for rid, lines in addresses.items() if all(compact(x) in found for x in lines)]


def order_in_print_files(case_dir: Path, addresses: dict[str, tuple[str, ...]]) -> list[str]:
    """Recipients in the order their letters' first pages come in the print files."""
    files = sorted(
        case_dir.glob("print*.pdf"),
        key=lambda p: ["print.pdf", "print-letter.pdf", "print-a4.pdf"].index(p.name),
    )
    order: list[str] = []
    for path in files:
        for page in PdfReader(path).pages:
            order += [rid for rid in who(page.extract_text(), addresses) if rid not in order]
    return order


@pytest.mark.slow
def test_the_sample_print_job_comes_out_in_one_order(sample, run):
    job = ("build", "--format", "pdf", "--print", "--envelopes", "dl", "--labels", "l7163")
    result = run(*job, "-C", sample)
    assert result.exit_code == 0, result.stderr
    _, mail = case_mail(sample, BuildOptions(), "labels")
    for case in mail:
        # Each letter's window lines identify it; the order comes from the files themselves.
        addresses = {piece.recipient_id: piece.lines for piece in case.pieces}
        case_dir = sample / "out" / case.case_id
        printed = order_in_print_files(case_dir, addresses)
        assert sorted(printed) == sorted(addresses)
        envelopes = case_dir / "envelopes-dl.pdf"
        on_envelopes = [who(page.extract_text(), addresses) for page in PdfReader(envelopes).pages]
        assert on_envelopes == [[rid] for rid in printed]
        labels = case_dir / "labels-l7163.pdf"
        found = pieces(labels)
        on_labels = [
            who(" ".join(p.text for p in block_in(found, cell_box("l7163", cell))), addresses)
            for cell in range(len(printed))
        ]
        assert on_labels == [[rid] for rid in printed]
        check_structure(envelopes)
        check_structure(labels)
    again = run(*job, "-C", sample)
    assert again.stdout.count("unchanged (5 letters)") == 4
