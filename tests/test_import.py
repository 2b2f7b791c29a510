"""`letters import`: spreadsheets merged into recipients.yaml, comments and all."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from letters.errors import LettersError
from letters.importing import import_recipients, slugify, unique_id
from letters.workspace import load_workspace
from letters.workspace.schema import Recipient
from letters.workspace.yamlio import load_yaml
from tests.conftest import RECIPIENTS

DATA = Path(__file__).parent / "data"

COMMENTED = """\
# Our targets. Keep the ministers first.
recipients:
  # The founder, for the history.
  - id: ada
    name: Ada Lovelace   # née Byron
    honorific: Ms
    organisation: Analytical Engines Ltd
    address:
      - 12 St James's Square
      - London SW1Y 4JH
    tags: [tech]

  - id: hoa
    name: Nguyễn Thị Hoa
    organisation: Bộ Tư pháp
    address: |
      Số 60 Trần Phú, Ba Đình
      Hà Nội
    language: vi
    tags: [gov, tech]
# Add new people below.
"""


def write_csv(root: Path, text: str, name: str = "people.csv", encoding: str = "utf-8") -> Path:
    path = root / name
    path.write_bytes(text.replace("\n", "\r\n").encode(encoding))
    return path


def entries(root: Path) -> dict[str, dict[str, Any]]:
    """recipients.yaml as letters reads it (every value text), by id."""
    data = load_yaml(root / "recipients.yaml").data
    return {entry["id"]: entry for entry in data["recipients"]}


def recipients(root: Path) -> dict[str, Recipient]:
    """The workspace must still load without a single problem after an import."""
    workspace, errors = load_workspace(root)
    assert errors == [], [error.describe() for error in errors]
    return {recipient.id: recipient for recipient in workspace.recipients}


def test_excel_csv_with_bom_semicolons_accents_multiline_address_and_duplicate(workspace, run):
    root = workspace()
    source = root.parent / "targets.csv"
    source.write_bytes(
        b"\xef\xbb\xbf"
        + (
            "Name;Organisation;Job title;Address;Postcode;Country;E-mail;Language;Tags\r\n"
            "Trần Đức Lương;Văn phòng Chủ tịch nước;Chủ tịch;"
            '"Số 2 Hùng Vương\r\nBa Đình, Hà Nội";;Việt Nam;;vi;"gov; vi"\r\n'
            "Élise Dupont;Ministère de la Justice;Directrice;13 place Vendôme;75001;France;"
            "elise@example.fr;fr;gov\r\n"
            ";;;;;;;;\r\n"
            "Nguyễn Thị Hoa;Bộ Tư pháp;Vụ trưởng;;;;hoa@example.vn;;\r\n"
            "Trần Đức Lương;Văn phòng Chủ tịch nước;Chủ tịch;"
            '"Số 2 Hùng Vương\r\nBa Đình, Hà Nội";;Việt Nam;;vi;"gov; vi"\r\n'
        ).encode()
    )
    result = run("import", source, "-C", root)
    assert result.exit_code == 0, result.output
    assert "added tran-duc-luong (row 2): Trần Đức Lương" in result.stdout
    assert "added elise-dupont (row 3)" in result.stdout
    # Matched by name and organisation: the existing "hoa" is updated, not doubled.
    assert "updated hoa (row 5): title, email" in result.stdout
    assert "row 6 repeats row 2 (tran-duc-luong), skipped" in result.stdout
    assert "2 added, 1 updated, 0 unchanged, 1 duplicate, 0 invalid skipped" in result.stdout

    data = entries(root)
    assert list(data) == ["ada", "hoa", "tran-duc-luong", "elise-dupont"]
    assert data["tran-duc-luong"] == {
        "id": "tran-duc-luong",
        "name": "Trần Đức Lương",
        "title": "Chủ tịch",
        "organisation": "Văn phòng Chủ tịch nước",
        "address": ["Số 2 Hùng Vương", "Ba Đình, Hà Nội", "Việt Nam"],
        "language": "vi",
        "tags": ["gov", "vi"],
    }
    assert data["elise-dupont"] == {
        "id": "elise-dupont",
        "name": "Élise Dupont",
        "title": "Directrice",
        "organisation": "Ministère de la Justice",
        "address": ["13 place Vendôme", "75001", "France"],
        "language": "fr",
        "tags": ["gov"],
        "email": "elise@example.fr",
    }
    assert data["hoa"]["title"] == "Vụ trưởng"
    assert data["hoa"]["email"] == "hoa@example.vn"
    people = recipients(root)
    assert people["hoa"].address == ("Số 60 Trần Phú, Ba Đình", "Hà Nội")
    assert len(people) == 4


def test_comments_and_formatting_survive(tmp_path):
    root = tmp_path
    (root / "recipients.yaml").write_text(COMMENTED, "utf-8")
    source = write_csv(root, "Id;Name;Email\nada;Ada Lovelace;ada@example.org\n;Lê Văn Minh;\n")
    report = import_recipients(root, source)
    assert [u.fields for u in report.updated] == [("email",)]
    assert [a.id for a in report.added] == ["le-van-minh"]
    text = (root / "recipients.yaml").read_text("utf-8")
    assert text == COMMENTED.replace(
        "    tags: [tech]\n", "    tags: [tech]\n    email: ada@example.org\n"
    ) + ("\n  - id: le-van-minh\n    name: Lê Văn Minh\n")


def test_an_update_changes_only_the_changed_fields(workspace):
    root = workspace()
    before = (root / "recipients.yaml").read_text("utf-8")
    source = write_csv(
        root,
        "id,name,organisation,job title,address,tags\n"
        # Same values, other spelling of the address and the tags: nothing to change.
        'hoa,Nguyễn Thị Hoa,Bộ Tư pháp,,"Số 60 Trần Phú, Ba Đình\nHà Nội","gov; tech"\n'
        "ada,Ada Lovelace,Analytical Engines Ltd,Founder,,\n",
    )
    report = import_recipients(root, source)
    assert report.unchanged == [(2, "hoa")]
    assert [(u.id, u.fields) for u in report.updated] == [("ada", ("title",))]
    after = (root / "recipients.yaml").read_text("utf-8")
    assert after == before.replace("title: Chief Executive", "title: Founder")
    recipients(root)


def test_nothing_to_change_leaves_the_file_alone(workspace):
    root = workspace()
    path = root / "recipients.yaml"
    stamp = path.stat().st_mtime_ns
    report = import_recipients(root, write_csv(root, "Id,Name\nada,Ada Lovelace\n"))
    assert not report.written and report.unchanged == [(2, "ada")]
    assert path.stat().st_mtime_ns == stamp


def test_ids_are_made_from_names_without_diacritics_and_kept_unique(workspace):
    root = workspace()
    source = write_csv(
        root,
        "Name,Organisation,Id\n"
        "Đặng Thị Ngọc Thân,Bộ Công an,\n"
        "Đặng Thị Ngọc Thân,Bộ Ngoại giao,\n"
        "Ada,Elsewhere,\n"
        "Ngọc,,dang-thi-ngoc-than-3\n"
        "Zoë Ødegård-Łukasz,,\n",
    )
    report = import_recipients(root, source)
    # The id written in the file is taken first, so the third Thân is not made up as it.
    assert [a.id for a in report.added] == [
        "dang-thi-ngoc-than",
        "dang-thi-ngoc-than-2",
        "ada-2",
        "dang-thi-ngoc-than-3",
        "zoe-odegard-lukasz",
    ]
    assert set(recipients(root)) >= {a.id for a in report.added}


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Nguyễn Thị Hoa", "nguyen-thi-hoa"),
        ("Trần Đức Lương", "tran-duc-luong"),
        ("Élise  Dupont-Moretti", "elise-dupont-moretti"),
        ("Jürgen Groß", "jurgen-gross"),
        ("  O'Brien, Seán ", "o-brien-sean"),
        ("習近平", "xi-jin-ping"),  # any script, transliterated (more in test_import_names.py)
    ],
)
def test_slugify(name, slug):
    assert slugify(name) == slug


def test_unique_id_counts_up_and_never_returns_an_empty_id():
    assert unique_id("hoa", {"hoa", "hoa-2"}) == "hoa-3"
    assert unique_id("", set()) == "recipient"


def test_bad_rows_are_reported_with_row_and_column_and_nothing_is_written(workspace, run):
    root = workspace()
    before = (root / "recipients.yaml").read_bytes()
    source = write_csv(
        root,
        "Name,Organisation,Email,Paper,Language,Id\n"
        "Good Person,Somewhere,good@example.org,a4,en,\n"
        "Bad Paper,Somewhere,,A5,en,\n"
        "Bad Email,Somewhere,not an address,,en,\n"
        "Bad Id,Somewhere,,,en,Bad Id\n"
        "Bad Language,Somewhere,,,english please,\n"
        ",Nobody,,,,\n",
    )
    result = run("import", source, "-C", root)
    assert result.exit_code == 2
    errors = result.stderr
    assert (
        "people.csv:3:4" in errors and "Paper: 'a5' is not allowed: use 'a4' or 'letter'" in errors
    )
    assert (
        "people.csv:4:3" in errors and "Email: 'not an address' is not an email address" in errors
    )
    assert "people.csv:5:6" in errors and "did you mean 'bad-id'?" in errors
    assert "people.csv:6:5" in errors and "BCP 47" in errors
    assert "people.csv:7:1" in errors and "the name is missing" in errors
    assert "5 problems" in errors and "nothing was written" in errors
    assert (root / "recipients.yaml").read_bytes() == before


def test_one_bad_row_is_a_letters_error_pointing_at_the_cell(workspace):
    root = workspace()
    source = write_csv(root, "Name;Paper\nAda Two;a5\n")
    with pytest.raises(LettersError) as caught:
        import_recipients(root, source)
    error = caught.value
    assert (Path(error.file), error.line, error.column) == (source, 2, 2)
    assert error.message.startswith("Paper:")


def test_skip_invalid_imports_the_valid_rows_and_exits_1(workspace, run):
    root = workspace()
    source = write_csv(
        root,
        "Name,Paper\nGood One,a4\nBad One,a5\nGood Two,letter\n",
    )
    result = run("import", source, "--skip-invalid", "-C", root)
    assert result.exit_code == 1, result.output
    assert "skipped:" in result.stderr and "people.csv:3:2" in result.stderr
    assert "2 added, 0 updated, 0 unchanged, 0 duplicate, 1 invalid skipped" in result.stdout
    people = recipients(root)
    assert {"good-one", "good-two"} <= set(people) and "bad-one" not in people
    assert people["good-two"].paper == "letter"


def test_encoding_cp1252(workspace, run):
    root = workspace()
    source = write_csv(
        root,
        "Name,Organisation,Address\nJosé Müller,Café Société,Straße 1\n",
        encoding="cp1252",
    )
    refused = run("import", source, "-C", root)
    assert refused.exit_code == 2
    assert "not valid utf-8" in refused.stderr and "--encoding cp1252" in refused.stderr
    result = run("import", source, "--encoding", "cp1252", "-C", root)
    assert result.exit_code == 0, result.output
    assert entries(root)["jose-muller"] == {
        "id": "jose-muller",
        "name": "José Müller",
        "organisation": "Café Société",
        "address": ["Straße 1"],
    }


def test_unknown_encoding(workspace, run):
    root = workspace()
    result = run("import", write_csv(root, "Name\nX\n"), "--encoding", "klingon", "-C", root)
    assert result.exit_code == 2 and "unknown encoding 'klingon'" in result.stderr


@pytest.mark.parametrize("name", ["targets.xlsx", "targets.ods"])
def test_spreadsheets(workspace, run, tmp_path, name):
    root = workspace()
    source = tmp_path / name
    shutil.copy(DATA / name, source)
    # With its job title, the first row would be 7 lines: more than an A4 window holds.
    result = run("import", source, "--map", "Position=fields.position", "-C", root)
    assert result.exit_code == 0, result.output
    assert "column 'Since' → fields.since" in result.stdout
    assert "column 'Notes' → fields.notes" in result.stdout
    data = entries(root)
    assert data["nguyen-van-an"] == {
        "id": "nguyen-van-an",
        "name": "Nguyễn Văn An",
        "organisation": "Bộ Công an",
        # A postcode typed as a number is written as the spreadsheet shows it.
        "address": ["Số 44 Yết Kiêu", "Hoàn Kiếm, Hà Nội", "100000", "Việt Nam"],
        "language": "vi",
        "tags": ["gov", "viet-nam"],
        "email": "an@example.vn",
        "fields": {"position": "Thứ trưởng", "since": "2018-06-08"},
    }
    assert data["elise-dupont"]["fields"] == {"position": "Directrice", "notes": "call first"}
    assert data["ola-nordmann"]["address"] == ["Postboks 458 Sentrum", "0105", "Norway"]
    assert data["ola-nordmann"]["language"] == "no"
    recipients(root)


def test_values_that_look_like_numbers_booleans_or_dates_stay_text_in_any_yaml_reader(
    workspace,
):
    root = workspace()
    source = write_csv(
        root,
        "Name,Language,Postcode,Born,Code,Flag\nOla,no,01234,2018-06-08,1e3,yes\n",
    )
    import_recipients(root, source)
    text = (root / "recipients.yaml").read_text("utf-8")
    for quoted in ("'no'", "'01234'", "'2018-06-08'", "'1e3'", "'yes'"):
        assert quoted in text
    for version in ((1, 1), (1, 2)):
        reader = YAML(typ="safe", pure=True)
        reader.version = version
        entry = reader.load(text)["recipients"][-1]
        assert entry["language"] == "no"
        assert entry["address"] == ["01234"]
        assert entry["fields"] == {"born": "2018-06-08", "code": "1e3", "flag": "yes"}


def test_map_overrides_headers_drops_columns_and_fills_fields(workspace, run):
    root = workspace()
    source = write_csv(
        root,
        "Who,Ministry,Private notes,Portfolio,Title\nLê Thị Mai,Bộ Y tế,secret,health,Bà\n",
    )
    result = run(
        "import",
        source,
        "--map",
        "who=name",
        "--map",
        "Ministry=organisation",
        "--map",
        "Private notes=-",
        "--map",
        "Portfolio=fields.office",
        "-C",
        root,
    )
    assert result.exit_code == 0, result.output
    assert "column Private notes ignored" in result.stdout
    assert entries(root)["le-thi-mai"] == {
        "id": "le-thi-mai",
        "name": "Lê Thị Mai",
        "honorific": "Bà",
        "organisation": "Bộ Y tế",
        "fields": {"office": "health"},
    }


@pytest.mark.parametrize(
    ("option", "message", "hint"),
    [
        ("Name=nmae", "unknown field 'nmae'", "did you mean 'name'?"),
        ("Name", "is not COLUMN=FIELD", "--map"),
        ("Nmae=name", "not in the header", "did you mean 'name'?"),
    ],
)
def test_bad_map_option(workspace, run, option, message, hint):
    root = workspace()
    result = run("import", write_csv(root, "Name\nX\n"), "--map", option, "-C", root)
    assert result.exit_code == 2
    assert message in result.stderr and hint in result.stderr


def test_two_columns_for_one_field_is_an_error_on_the_header(workspace, run):
    root = workspace()
    source = write_csv(root, "Name,Organisation,Company\nX,A,B\n")
    result = run("import", source, "-C", root)
    assert result.exit_code == 2
    assert "people.csv:1:3" in result.stderr
    assert "'Organisation' and 'Company' both give the organisation" in result.stderr
    assert '--map "Company=fields.company"' in result.stderr


def test_a_header_without_a_name_column(workspace, run):
    root = workspace()
    result = run("import", write_csv(root, "Who,Email\nX,x@example.org\n"), "-C", root)
    assert result.exit_code == 2
    assert "no column gives the recipient's name" in result.stderr


def test_the_same_person_twice_with_different_values_is_an_error(workspace, run):
    root = workspace()
    source = write_csv(
        root,
        "Name,Organisation,Email\nX Y,Org,a@example.org\nX Y,Org,b@example.org\nX Y,Org,\n",
    )
    result = run("import", source, "-C", root)
    assert result.exit_code == 2
    assert "people.csv:3:3" in result.stderr
    assert "row 3 is for the same recipient as row 2 (x-y) but differs in Email" in result.stderr


def test_a_row_longer_than_the_header_is_an_error_not_a_silent_shift(workspace, run):
    root = workspace()
    source = write_csv(root, "Name;Organisation;Tags\nKim Lee;Org;gov; tech\n")
    result = run("import", source, "-C", root)
    assert result.exit_code == 2
    assert "people.csv:2:4" in result.stderr and "has no header" in result.stderr
    assert '"double quotes"' in result.stderr


@pytest.mark.parametrize("separator", [",", ";", "\t", "|"])
def test_the_separator_is_sniffed(workspace, separator):
    root = workspace()
    header = separator.join(["Name", "Organisation", "Address"])
    row = separator.join(["Kim Lee", '"Lee, Kim & Co; Ltd"', '"1 Road|Town"'])
    report = import_recipients(root, write_csv(root, f"{header}\n{row}\n"))
    assert [a.id for a in report.added] == ["kim-lee"]
    assert entries(root)["kim-lee"]["organisation"] == "Lee, Kim & Co; Ltd"


def test_address_parts_are_joined_in_address_order_whatever_the_column_order(workspace):
    root = workspace()
    source = write_csv(
        root,
        "Country,Postcode,City,Address 2,Address 1,Name\n"
        "United Kingdom,SW1A 2AA,London,Westminster,10 Downing Street,PM\n",
    )
    import_recipients(root, source)
    # A country the post knows, with what its post requires: the address as its parts.
    assert entries(root)["pm"]["address"] == {
        "street": ["10 Downing Street", "Westminster"],
        "city": "London",
        "postcode": "SW1A 2AA",
        "country": "GB",
    }


def test_city_state_and_zip_make_one_line_as_the_post_writes_them(workspace, run):
    root = workspace()
    source = write_csv(
        root,
        "Name,Organisation,Street,City,State,Zip,Country,Paper\n"
        "Tim Cook,Apple Inc.,1 Infinite Loop,Cupertino,CA,95014,USA,letter\n"
        "Ann Lee,Acme,12 Example Street,Manchester,,M1 1AA,United Kingdom,\n",
    )
    report = import_recipients(root, source)
    assert [a.id for a in report.added] == ["tim-cook", "ann-lee"]
    data = entries(root)
    # Laid out by the country's rules: "CUPERTINO, CA 95014", "MANCHESTER" / "M1 1AA".
    assert data["tim-cook"]["address"] == {
        "street": "1 Infinite Loop",
        "city": "Cupertino",
        "region": "CA",
        "postcode": "95014",
        "country": "US",
    }
    assert data["ann-lee"]["address"] == {
        "street": "12 Example Street",
        "city": "Manchester",
        "postcode": "M1 1AA",
        "country": "GB",
    }
    recipients(root)
    assert run("check", "-C", root).exit_code == 0


@pytest.mark.parametrize(
    ("header", "row", "address"),
    [
        ("City,State", "Cupertino,CA", ["Cupertino, CA"]),
        ("State,Zip", "CA,95014", ["CA 95014"]),
        ("Town,County,Postcode", "Ely,Cambridgeshire,CB7 4DL", ["Ely, Cambridgeshire CB7 4DL"]),
        ("Postal code,Country", "0105,Norway", ["0105", "Norway"]),
        # Before the last line of a multi-line City cell: a line of its own.
        ("City,Province,Postal code", '"Ba Đình\nHà Nội",,100000', ["Ba Đình", "Hà Nội 100000"]),
        (
            "Address,City,Zip",
            '"1 Road\nBlock B",Springfield,62701',
            ["1 Road", "Block B", "Springfield 62701"],
        ),
    ],
)
def test_the_city_line_joins_whatever_parts_are_given(workspace, header, row, address):
    root = workspace()
    source = write_csv(root, f"Name,{header}\nKim Lee,{row}\n")
    import_recipients(root, source)
    assert entries(root)["kim-lee"]["address"] == address


WINDOW_HEADER = "Name,Job title,Organisation,Address 1,Address 2,City,Country,Paper"


def test_an_address_longer_than_the_envelope_window_is_a_bad_row(workspace, run):
    root = workspace()
    before = (root / "recipients.yaml").read_bytes()
    source = write_csv(
        root,
        f"{WINDOW_HEADER},Address 3\n"
        # 8 lines: even at 8 pt the A4 window holds 7
        "Eight Lines,Minister,Ministry,1 Road,Block B,London,United Kingdom,,Floor 3\n"
        # 7 lines, but US Letter's window holds 6 at 8 pt
        "Seven Lines,Minister,Ministry,1 Road,Block B,London,United Kingdom,letter,\n",
    )
    result = run("import", source, "-C", root)
    assert result.exit_code == 2
    assert "people.csv:2:4: error: Address 1: the address needs 8 lines" in result.stderr
    assert "the A4 window holds 7" in result.stderr
    assert "people.csv:3:4: error: Address 1: the address needs 7 lines" in result.stderr
    assert "the US Letter window holds 6" in result.stderr
    assert "nothing was written" in result.stderr
    assert (root / "recipients.yaml").read_bytes() == before

    result = run("import", source, "--skip-invalid", "-C", root)
    assert result.exit_code == 1
    assert "0 added, 0 updated, 0 unchanged, 0 duplicate, 2 invalid skipped" in result.stdout
    assert (root / "recipients.yaml").read_bytes() == before


def test_a_line_wider_than_the_window_imports_and_wraps_in_it(workspace, run):
    root = workspace()
    wide = "Ward " + "x" * 41  # 94 mm in the letter font: the window is 80 mm wide
    source = write_csv(root, f"{WINDOW_HEADER}\nWide Line,,,1 Road,,{wide},,\n")
    import_recipients(root, source)
    assert entries(root)["wide-line"]["address"] == ["1 Road", wide]
    assert run("check", "-C", root).exit_code == 0


def test_an_address_that_just_fits_the_window_imports_and_checks(workspace, run):
    root = workspace()
    fits = "x" * 39  # 79.5 mm in the letter font: the window is 80 mm wide
    source = write_csv(
        root,
        f"{WINDOW_HEADER}\n"
        f"Six Lines,,Ministry,1 Road,{fits},London,United Kingdom,\n"
        "Five Lines,Minister,Ministry,1 Road,,London,,letter\n",
    )
    result = run("import", source, "-C", root)
    assert result.exit_code == 0, result.output
    assert run("check", "-C", root).exit_code == 0


def test_an_update_that_leaves_the_address_alone_is_not_blamed_for_it(workspace, run):
    long_address = RECIPIENTS.replace(
        "      - London SW1Y 4JH\n",
        "      - London SW1Y 4JH\n      - Westminster\n      - Floor 3\n      - United Kingdom\n",
    )
    root = workspace(**{"recipients.yaml": long_address})  # 8 lines: check reports it
    report = import_recipients(root, write_csv(root, "Id,Email\nada,ada@example.org\n"))
    assert [u.id for u in report.updated] == ["ada"]
    # Changing that address block is this row's doing: the row is refused.
    source = write_csv(root, "Id,Job title\nada,Chair\n")
    with pytest.raises(LettersError) as caught:
        import_recipients(root, source)
    assert (caught.value.line, caught.value.column) == (2, 2)
    assert "the address needs 8 lines" in caught.value.message


def test_a_missing_recipients_file_is_created(tmp_path, run):
    root = tmp_path / "camp"
    root.mkdir()
    source = write_csv(tmp_path, 'Name,Tags\nAda Lovelace,"tech, history"\n')
    result = run("import", source, "-C", root)
    assert result.exit_code == 0, result.output
    assert (root / "recipients.yaml").read_text("utf-8") == (
        "recipients:\n"
        "  - id: ada-lovelace\n"
        "    name: Ada Lovelace\n"
        "    tags:\n"
        "      - tech\n"
        "      - history\n"
    )


def test_an_empty_recipients_list_gets_block_entries(tmp_path):
    (tmp_path / "recipients.yaml").write_text("# nobody yet\nrecipients: []\n", "utf-8")
    import_recipients(tmp_path, write_csv(tmp_path, "Name\nAda\n"))
    assert (tmp_path / "recipients.yaml").read_text("utf-8") == (
        "# nobody yet\nrecipients:\n  - id: ada\n    name: Ada\n"
    )


def test_dry_run_writes_nothing(workspace, run):
    root = workspace()
    before = (root / "recipients.yaml").read_bytes()
    result = run("import", write_csv(root, "Name\nNew Person\n"), "--dry-run", "-C", root)
    assert result.exit_code == 0, result.output
    assert "added new-person (row 2)" in result.stdout and "Dry run" in result.stdout
    assert (root / "recipients.yaml").read_bytes() == before


def test_the_sample_campaign_keeps_its_layout(sample):
    """Entries separated by blank lines get a blank line before each new one too."""
    before = (sample / "recipients.yaml").read_text("utf-8")
    source = write_csv(sample, "Id,Name,Email\napple-ceo,Tim Cook,tim@example.com\n,Ada,\n")
    import_recipients(sample, source)
    after = (sample / "recipients.yaml").read_text("utf-8")
    # The sample's address is updated where it stands (the sample has e-mail addresses).
    expected = before.replace("    email: tim.cook@example.org\n", "    email: tim@example.com\n")
    assert after == expected + "\n  - id: ada\n    name: Ada\n"
    recipients(sample)


def test_an_unknown_file_type_and_a_missing_file(workspace, run, tmp_path):
    root = workspace()
    (tmp_path / "people.pdf").write_bytes(b"%PDF")
    result = run("import", tmp_path / "people.pdf", "-C", root)
    assert result.exit_code == 2 and "cannot import '.pdf' files" in result.stderr
    result = run("import", tmp_path / "nope.csv", "-C", root)
    assert result.exit_code == 2 and "file not found" in result.stderr


def test_a_broken_spreadsheet_is_an_error_not_a_crash(workspace, run, tmp_path):
    root = workspace()
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip file")
    result = run("import", tmp_path / "broken.xlsx", "-C", root)
    assert result.exit_code == 2 and "cannot read the spreadsheet" in result.stderr
