"""`letters import` of hostile files: absurd sheets, zip and XML tricks, pipes, control characters.

The spreadsheets are written by hand with zipfile, so that each one holds exactly the trick
under test. Where a file must be refused before python-calamine reads it, the `no_calamine`
fixture replaces the library in this process with one that fails the test when it is called.
"""

from __future__ import annotations

import os
import shutil
import string
import sys
import types
import zipfile
from pathlib import Path

import pytest

from letters.importing import import_recipients
from letters.workspace.yamlio import load_yaml

# Integration runs (real servers, many PDFs, attack reproductions): the quick loop
# (`pytest -m "not slow"`) leaves them to the full run.
pytestmark = pytest.mark.slow

DATA = Path(__file__).parent / "data"

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
PACKAGE_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
    '<sheets><sheet name="People" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)
HEADER = '<row r="1"><c r="A1" t="inlineStr"><is><t>Name</t></is></c></row>'

ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
)
MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
    'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
    '<manifest:file-entry manifest:full-path="/" '
    'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


def cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def write_xlsx(
    path: Path,
    sheet_data: str,
    dimension: str | None = None,
    shared: list[str] | None = None,
    sheet_prolog: str = "",
) -> Path:
    """A minimal workbook: one sheet whose <sheetData> is `sheet_data`."""
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?>{sheet_prolog}<worksheet xmlns="{MAIN_NS}">'
        f"{dim}<sheetData>{sheet_data}</sheetData></worksheet>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", CONTENT_TYPES)
        book.writestr("_rels/.rels", PACKAGE_RELS)
        book.writestr("xl/workbook.xml", WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        book.writestr("xl/worksheets/sheet1.xml", sheet)
        if shared is not None:
            items = "".join(f"<si><t>{text}</t></si>" for text in shared)
            book.writestr(
                "xl/sharedStrings.xml",
                f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN_NS}" '
                f'count="{len(shared)}" uniqueCount="{len(shared)}">{items}</sst>',
            )
    return path


def ods_cell(text: str, repeat: int = 1) -> str:
    repeated = f' table:number-columns-repeated="{repeat}"' if repeat > 1 else ""
    return (
        f'<table:table-cell office:value-type="string"{repeated}>'
        f"<text:p>{text}</text:p></table:table-cell>"
    )


def ods_row(*cells: str, repeat: int = 1) -> str:
    repeated = f' table:number-rows-repeated="{repeat}"' if repeat > 1 else ""
    return f"<table:table-row{repeated}>{''.join(cells)}</table:table-row>"


def write_ods(path: Path, table: str) -> Path:
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODS_NS} '
        'office:version="1.2"><office:body><office:spreadsheet>'
        f'<table:table table:name="People">{table}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr(
            zipfile.ZipInfo("mimetype"),
            "application/vnd.oasis.opendocument.spreadsheet",
            compress_type=zipfile.ZIP_STORED,
        )
        book.writestr("META-INF/manifest.xml", MANIFEST)
        book.writestr("content.xml", content)
    return path


@pytest.fixture
def no_calamine(monkeypatch):
    """python-calamine, in this process, fails the test if anything asks it to read."""

    class CalamineError(Exception):
        pass

    class CalamineWorkbook:
        @classmethod
        def from_path(cls, *args, **kwargs):
            raise AssertionError("python-calamine was asked to read a file it must not read")

        from_filelike = from_path
        from_object = from_path

    fake = types.ModuleType("python_calamine")
    fake.CalamineError = CalamineError
    fake.CalamineWorkbook = CalamineWorkbook
    monkeypatch.setitem(sys.modules, "python_calamine", fake)


def names(root: Path) -> list[str]:
    data = load_yaml(root / "recipients.yaml").data
    return [entry["name"] for entry in data["recipients"]]


# Sheets whose used range is absurd ---------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "size"),
    [
        ("ZZ100000", "(100,000 rows, 702 columns)"),
        ("XFD1048576", "(1,048,576 rows, 16,384 columns)"),
    ],
)
def test_a_far_away_cell_is_refused_before_the_sheet_is_loaded(
    workspace, run, tmp_path, no_calamine, ref, size
):
    root = workspace()
    row = ref.lstrip(string.ascii_uppercase)
    source = write_xlsx(tmp_path / "big.xlsx", HEADER + f'<row r="{row}">{cell(ref, "x")}</row>')
    result = run("import", source, "-C", root)
    assert result.exit_code == 2, result.output
    assert "big.xlsx" in result.stderr
    assert f"the sheet's used range reaches cell {ref} {size}" in result.stderr
    assert "letters imports at most 100,000 rows and 200 columns" in result.stderr
    assert "Ctrl+End" in result.stderr


def test_a_dimension_that_lies_does_not_hide_a_far_cell(workspace, run, tmp_path, no_calamine):
    root = workspace()
    source = write_xlsx(
        tmp_path / "liar.xlsx", HEADER + f'<row r="200000">{cell("A200000", "x")}</row>', "A1:B2"
    )
    result = run("import", source, "-C", root)
    assert result.exit_code == 2, result.output
    assert "200,000 rows" in result.stderr and "liar.xlsx" in result.stderr


def test_a_dimension_that_claims_a_huge_sheet_is_refused(workspace, run, tmp_path, no_calamine):
    root = workspace()
    source = write_xlsx(tmp_path / "claims.xlsx", HEADER, "A1:ZZ100000")
    result = run("import", source, "-C", root)
    assert result.exit_code == 2, result.output
    assert "reaches cell ZZ100000 (100,000 rows, 702 columns)" in result.stderr


def test_cells_without_a_reference_are_placed_as_calamine_places_them(
    workspace, run, tmp_path, no_calamine
):
    root = workspace()
    # A row far down, and a row of 250 cells that give no reference of their own.
    far = HEADER + '<row r="150001"><c t="inlineStr"><is><t>x</t></is></c></row>'
    result = run("import", write_xlsx(tmp_path / "rows.xlsx", far), "-C", root)
    assert result.exit_code == 2 and "150,001 rows" in result.stderr
    wide = HEADER + '<row r="2">' + '<c t="inlineStr"><is><t>x</t></is></c>' * 250 + "</row>"
    result = run("import", write_xlsx(tmp_path / "wide.xlsx", wide), "-C", root)
    # Refused at the first cell past the limit: column 201.
    assert result.exit_code == 2 and "reaches cell GS2 (2 rows, 201 columns)" in result.stderr


def test_a_sheet_within_the_row_and_column_limits_may_still_have_too_many_cells(
    workspace, run, tmp_path, no_calamine
):
    root = workspace()
    far = f'<row r="100000">{cell("GR100000", "x")}</row>'
    source = write_xlsx(tmp_path / "area.xlsx", HEADER + far)
    result = run("import", source, "-C", root)
    assert result.exit_code == 2, result.output
    assert "(100,000 rows × 200 columns = 20,000,000 cells)" in result.stderr


def test_a_long_shared_string_repeated_in_many_cells_is_refused(
    workspace, run, tmp_path, no_calamine
):
    root = workspace()
    rows = "".join(
        f'<row r="{n}"><c r="A{n}" t="s"><v>0</v></c><c r="B{n}" t="s"><v>0</v></c></row>'
        for n in range(2, 1002)
    )
    source = write_xlsx(
        tmp_path / "echo.xlsx",
        '<row r="1"><c r="A1" t="s"><v>1</v></c><c r="B1" t="s"><v>2</v></c></row>' + rows,
        shared=["x" * 60_000, "Name", "Notes"],
    )
    result = run("import", source, "-C", root)
    assert result.exit_code == 2, result.output
    assert "MB of text" in result.stderr and "echo.xlsx" in result.stderr


def test_an_ordinary_hand_made_workbook_still_imports(workspace, run, tmp_path):
    root = workspace()
    data = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>Organisation</t>'
        '</is></c></row><row r="2"><c r="A2" t="s"><v>1</v></c><c r="B2" t="s"><v>2</v></c></row>'
    )
    source = write_xlsx(tmp_path / "small.xlsx", data, "A1:B2", ["Name", "Ada Two", "Engines"])
    result = run("import", source, "-C", root)
    assert result.exit_code == 0, result.output
    assert "Ada Two" in names(root)


# Broken and hostile zip files and XML -------------------------------------------------------


@pytest.mark.parametrize(
    ("sheet_data", "prolog"),
    [
        (HEADER + '<row r="2"><c r="A2">', ""),  # cut short
        (HEADER, '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">]>'),  # entities: a bomb
        (HEADER.replace('r="A1"', 'r="A-1"'), ""),  # a reference that is not one
    ],
)
def test_a_broken_or_hostile_sheet_is_an_error_not_a_crash(
    workspace, run, tmp_path, no_calamine, sheet_data, prolog
):
    root = workspace()
    source = write_xlsx(tmp_path / "broken.xlsx", sheet_data, sheet_prolog=prolog)
    result = run("import", source, "-C", root)
    assert result.exit_code == 2, result.output
    assert "cannot read the spreadsheet" in result.stderr and "save it again" in result.stderr


def test_rows_and_cells_hidden_inside_a_cell_are_refused(workspace, run, tmp_path, no_calamine):
    # calamine skips what is inside a cell's text, so a <row/> there must not move our count
    # of where the cells without a reference go.
    root = workspace()
    hidden = '<c r="GR1" t="inlineStr"><is><t>x</t><row/></is></c>' + "<c><v>1</v></c>" * 5
    source = write_xlsx(tmp_path / "hidden.xlsx", f'<row r="1">{hidden}</row>')
    result = run("import", source, "-C", root)
    assert result.exit_code == 2, result.output
    assert "inside a cell" in result.stderr and "hidden.xlsx" in result.stderr


def test_a_zip_with_a_part_twice_is_refused(workspace, run, tmp_path, no_calamine):
    root = workspace()
    source = write_xlsx(tmp_path / "twice.xlsx", HEADER)
    with zipfile.ZipFile(source, "a") as book:  # the same name, to a reader that ignores case
        book.writestr("XL/Worksheets/Sheet1.xml", "<worksheet/>")
    result = run("import", source, "-C", root)
    assert result.exit_code == 2, result.output
    assert "twice" in result.stderr


def test_a_zip_that_is_not_a_workbook_is_an_error(workspace, run, tmp_path, no_calamine):
    root = workspace()
    source = tmp_path / "photos.xlsx"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("photo.jpg", b"\xff\xd8")
    result = run("import", source, "-C", root)
    assert result.exit_code == 2 and "cannot read the spreadsheet" in result.stderr
    (tmp_path / "cut.xlsx").write_bytes(source.read_bytes()[:-10])
    result = run("import", tmp_path / "cut.xlsx", "-C", root)
    assert result.exit_code == 2 and "cannot read the spreadsheet" in result.stderr


def test_a_part_too_large_once_unzipped_is_refused_before_it_is_unzipped(
    workspace, run, tmp_path, no_calamine, monkeypatch
):
    monkeypatch.setattr("letters.importing.workbook_zip.MAX_PART_MB", 1)
    root = workspace()
    padding = "<row/>" * 200_000  # 1.2 MB of XML that zips to almost nothing
    source = write_xlsx(tmp_path / "bomb.xlsx", HEADER + padding)
    result = run("import", source, "-C", root)
    assert result.exit_code == 2, result.output
    assert "more than 1 MB once unzipped" in result.stderr and "bomb.xlsx" in result.stderr


# OpenDocument ------------------------------------------------------------------------------


def test_an_ods_with_150000_repeated_rows_of_content_is_refused(
    workspace, run, tmp_path, no_calamine
):
    root = workspace()
    table = ods_row(ods_cell("Name")) + ods_row(ods_cell("Ada"), repeat=150_000)
    result = run("import", write_ods(tmp_path / "many.ods", table), "-C", root)
    assert result.exit_code == 2, result.output
    assert "(150,001 rows, 1 column)" in result.stderr and "many.ods" in result.stderr


def test_an_ods_with_a_value_repeated_across_columns_is_refused(
    workspace, run, tmp_path, no_calamine
):
    root = workspace()
    table = ods_row(ods_cell("Name"), ods_cell("x", repeat=300))
    result = run("import", write_ods(tmp_path / "wide.ods", table), "-C", root)
    assert result.exit_code == 2, result.output
    assert "(1 row, 301 columns)" in result.stderr


def test_an_ods_with_empty_cells_repeated_far_out_is_refused(workspace, run, tmp_path, no_calamine):
    # calamine keeps empty cells that come before another cell, however many there are.
    root = workspace()
    empty = '<table:table-cell table:number-columns-repeated="100000000"/>'
    table = ods_row(ods_cell("Name"), empty, "<table:table-cell/>")
    result = run("import", write_ods(tmp_path / "gap.ods", table), "-C", root)
    assert result.exit_code == 2, result.output
    assert "gap.ods" in result.stderr and "cells" in result.stderr


@pytest.mark.parametrize(
    "table",
    [
        # calamine cannot size a row repeated 0 times
        f'<table:table-row table:number-rows-repeated="0">{ods_cell("Name")}</table:table-row>',
        ods_row(
            '<table:table-cell office:value-type="string"><text:p>Name</text:p>'
            "<table:table-cell/></table:table-cell>"
        ),
        ods_row(ods_cell("Name")) + '<table:table table:name="inner"/>',
    ],
)
def test_an_ods_with_a_broken_structure_is_refused(workspace, run, tmp_path, no_calamine, table):
    root = workspace()
    result = run("import", write_ods(tmp_path / "odd.ods", table), "-C", root)
    assert result.exit_code == 2, result.output
    assert "cannot read the spreadsheet" in result.stderr


def test_an_ods_with_trailing_empty_repeats_as_libreoffice_writes_them_imports(
    workspace, run, tmp_path
):
    root = workspace()
    tail = '<table:table-cell table:number-columns-repeated="1022"/>'
    table = (
        '<table:table-column table:number-columns-repeated="1024"/>'
        + ods_row(ods_cell("Name"), ods_cell("Organisation"), tail)
        + ods_row(ods_cell("Ada Two"), ods_cell("Engines"), tail)
        + '<table:table-row table:number-rows-repeated="1048574">'
        '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
    )
    result = run("import", write_ods(tmp_path / "libre.ods", table), "-C", root)
    assert result.exit_code == 0, result.output
    assert "Ada Two" in names(root)


def test_the_ods_fixture_still_imports(workspace, run, tmp_path):
    root = workspace()
    source = tmp_path / "targets.ods"
    shutil.copy(DATA / "targets.ods", source)
    result = run("import", source, "--map", "Position=fields.position", "-C", root)
    assert result.exit_code == 0, result.output


# Legacy .xls: read in a child process -------------------------------------------------------


@pytest.mark.slow
def test_an_xls_is_read_in_a_child_process(workspace, run, tmp_path, no_calamine):
    # An .xlsx saved under an .xls name is read by calamine all the same, in the child.
    root = workspace()
    source = tmp_path / "targets.xls"
    shutil.copy(DATA / "targets.xlsx", source)
    result = run("import", source, "--map", "Position=fields.position", "-C", root)
    assert result.exit_code == 0, result.output
    assert "Nguyễn Văn An" in names(root)


@pytest.mark.slow
def test_an_xls_of_garbage_is_an_error(workspace, run, tmp_path, no_calamine):
    root = workspace()
    source = tmp_path / "garbage.xls"
    source.write_bytes(os.urandom(4096))
    result = run("import", source, "-C", root)
    assert result.exit_code == 2, result.output
    assert "garbage.xls" in result.stderr and "cannot read the spreadsheet" in result.stderr


@pytest.mark.slow
def test_an_xls_that_kills_the_child_is_an_error_not_a_crash(workspace, run, tmp_path, no_calamine):
    # calamine asks for 512 GB for this sheet and aborts: the child dies, letters does not.
    root = workspace()
    source = write_xlsx(
        tmp_path / "abort.xls", HEADER + f'<row r="1048576">{cell("XFD1048576", "x")}</row>'
    )
    result = run("import", source, "-C", root)
    assert result.exit_code == 2, result.output
    assert "abort.xls" in result.stderr
    assert "the spreadsheet is too large or damaged to read" in result.stderr
    assert "save it as .xlsx or .csv" in result.stderr


@pytest.mark.slow
def test_an_xls_that_takes_too_long_is_stopped(workspace, run, tmp_path, monkeypatch):
    monkeypatch.setattr("letters.importing.legacy_xls.CHILD_SECONDS", 0.001)
    root = workspace()
    source = tmp_path / "slow.xls"
    shutil.copy(DATA / "targets.xlsx", source)
    result = run("import", source, "-C", root)
    assert result.exit_code == 2, result.output
    assert "too large or damaged to read" in result.stderr and "longer than" in result.stderr


# The source must be a regular file ----------------------------------------------------------


def test_a_fifo_is_refused_without_opening_it_for_a_blocking_read(workspace, run, tmp_path):
    root = workspace()
    fifo = tmp_path / "people.csv"
    os.mkfifo(fifo)
    result = run("import", fifo, "-C", root)  # a blocking open would hang here forever
    assert result.exit_code == 2, result.output
    assert "people.csv" in result.stderr and "named pipe" in result.stderr


@pytest.mark.parametrize("kind", ["folder", "device"])
def test_a_folder_or_a_device_is_refused(workspace, run, tmp_path, kind):
    root = workspace()
    if kind == "folder":
        source = tmp_path / "people.xlsx"
        source.mkdir()
    else:
        source = Path(os.devnull)
    result = run("import", source, "-C", root)
    assert result.exit_code == 2, result.output
    assert f"a {kind}" in result.stderr and source.name in result.stderr


def test_a_csv_over_the_size_limit_is_refused(workspace, run, tmp_path, monkeypatch):
    monkeypatch.setattr("letters.importing.tables.MAX_FILE_MB", 1)
    root = workspace()
    source = tmp_path / "huge.csv"
    source.write_text("Name\n" + "Ada\n" * 300_000, "utf-8")
    result = run("import", source, "-C", root)
    assert result.exit_code == 2, result.output
    assert "huge.csv" in result.stderr and "larger than 1 MB" in result.stderr


# Invisible characters in cells -------------------------------------------------------------


@pytest.mark.parametrize(
    ("char", "name"),
    [
        ("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("\x1b", "U+001B"),
        ("\x00", "U+0000"),
        ("\x07", "U+0007"),
        ("\r", "U+000D"),  # a lone CR; CRLF is a line break
    ],
)
def test_a_cell_with_an_invisible_control_character_is_an_error_at_its_cell(
    workspace, run, tmp_path, char, name
):
    root = workspace()
    before = (root / "recipients.yaml").read_bytes()
    source = tmp_path / "people.csv"
    source.write_text(f'Name,Address\nAda Two,"12 Main{char} St"\n', "utf-8", newline="")
    result = run("import", source, "-C", root)
    assert result.exit_code == 2, result.output
    assert "people.csv:2:2" in result.stderr and name in result.stderr
    assert "invisible control character" in result.stderr
    assert (root / "recipients.yaml").read_bytes() == before


def test_a_header_with_a_control_character_is_an_error_at_its_cell(workspace, run, tmp_path):
    root = workspace()
    source = tmp_path / "people.csv"
    source.write_text("Name,Notes\u202e\nAda Two,x\n", "utf-8")
    result = run("import", source, "-C", root)
    assert result.exit_code == 2, result.output
    assert "people.csv:1:2" in result.stderr and "U+202E" in result.stderr


def test_tab_lf_and_crlf_in_a_cell_stay_legal(workspace, tmp_path):
    root = workspace()
    source = tmp_path / "people.csv"
    source.write_bytes(
        b'Name,Address,Notes\r\nAda Two,"12 Main St\r\nLondon\nW1",a\tb\r\n',
    )
    import_recipients(root, source)
    data = {entry["id"]: entry for entry in load_yaml(root / "recipients.yaml").data["recipients"]}
    assert data["ada-two"]["address"] == ["12 Main St", "London", "W1"]
    assert data["ada-two"]["fields"] == {"notes": "a\tb"}
