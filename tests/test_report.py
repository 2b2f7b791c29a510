"""`letters report`: the record of what was produced, in print order, as CSV, xlsx or JSON."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from letters.atomic import Writable
from letters.deliver.report import COLUMNS
from letters.output.manifest import Manifest
from letters.trust import signature, trust_key
from tests.conftest import RECIPIENTS

CASE_DIR = "out/free-expression"
ISSUE_COLUMNS = (
    "case",
    "template",
    "language",
    "recipient",
    "name",
    "organisation",
    "address",
    "email",
    "paper",
    "pages",
    "file",
    "sha256",
    "built_at",
    "up_to_date",
)


def read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM, so spreadsheets read it right
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_to_standard_output_has_a_bom_and_the_columns(workspace, run):
    root = workspace()
    result = run("report", "-C", root)
    assert result.exit_code == 0, result.stderr
    assert tuple(COLUMNS[: len(ISSUE_COLUMNS)]) == ISSUE_COLUMNS
    rows = read_csv(result.stdout_bytes)
    assert [row["recipient"] for row in rows] == ["ada", "hoa"]
    ada, hoa = rows
    assert ada["name"] == "Ada Lovelace" and ada["organisation"] == "Analytical Engines Ltd"
    assert ada["address"] == "12 St James's Square, London SW1Y 4JH"
    assert hoa["address"] == "Số 60 Trần Phú, Ba Đình, Hà Nội"
    assert hoa["language"] == "en"  # the template's language: it has no Vietnamese variant
    assert (ada["up_to_date"], ada["reason"], ada["file"], ada["pages"]) == (
        "no",
        "not built",
        "",
        "",
    )
    assert not (root / "out").exists()  # a report writes nothing


def test_report_follows_the_build_and_says_what_is_out_of_date(workspace, run):
    root = workspace()
    assert run("build", "-C", root).exit_code == 0
    rows = read_csv(run("report", "-C", root).stdout_bytes)
    assert [(row["file"], row["up_to_date"]) for row in rows] == [
        ("free-expression/appeal/ada.md", "yes"),
        ("free-expression/appeal/hoa.md", "yes"),
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows[0]["built_at"])
    recipients = root / "recipients.yaml"
    recipients.write_text(recipients.read_text("utf-8").replace("Hà Nội", "Huế"), "utf-8")
    rows = read_csv(run("report", "-C", root).stdout_bytes)
    assert [(row["up_to_date"], row["reason"]) for row in rows] == [
        ("yes", ""),
        ("no", "data changed"),
    ]


@pytest.mark.slow
def test_xlsx_opens_with_openpyxl_and_matches_the_build(sample, run, tmp_path):
    assert run("build", "--format", "pdf", "--print", "-C", sample).exit_code == 0
    target = tmp_path / "record.xlsx"
    result = run("report", "--format", "xlsx", "--output", target, "-C", sample)
    assert result.exit_code == 0, result.stderr
    sheet = load_workbook(target).active
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert tuple(header) == COLUMNS
    records = [dict(zip(header, row, strict=True)) for row in rows]
    assert len(records) == 10
    for record in records:
        path = sample / "out" / record["file"]
        assert record["up_to_date"] == "yes" and record["reason"] is None
        assert record["pages"] == len(PdfReader(path).pages)
        assert isinstance(record["pages"], int)
        assert record["sha256"] == __import__("hashlib").sha256(path.read_bytes()).hexdigest()
        assert record["file"].endswith(f"/{record['recipient']}.pdf")
    # Print order: each case's print files in turn (US Letter letters come first in the
    # cybersecurity case, as its first letter is on US Letter).
    assert [r["recipient"] for r in records if r["case"] == "cybersecurity-law-2018"] == [
        "apple-ceo",
        "facebook-ceo",
        "google-ceo",
        "microsoft-ceo",
        "samsung-chairman",
    ]
    letter_pages = len(PdfReader(sample / "out/cybersecurity-law-2018/print-letter.pdf").pages)
    assert letter_pages == sum(
        r["pages"]
        for r in records
        if r["case"] == "cybersecurity-law-2018" and r["paper"] == "letter"
    )
    as_json = json.loads(run("report", "--format", "json", "-C", sample).stdout)
    assert [r["sha256"] for r in as_json] == [r["sha256"] for r in records]
    assert as_json[0]["up_to_date"] is True and isinstance(as_json[0]["pages"], int)


def test_text_that_looks_like_a_formula_stays_text(workspace, run, tmp_path):
    hostile = RECIPIENTS.replace("name: Ada Lovelace", """name: '=HYPERLINK("http://x")'""")
    root = workspace(**{"recipients.yaml": hostile})
    rows = read_csv(run("report", "-C", root).stdout_bytes)
    assert rows[0]["name"].startswith("'=")
    target = tmp_path / "r.xlsx"
    assert run("report", "-f", "xlsx", "-o", target, "-C", root).exit_code == 0
    cell = load_workbook(target).active["E2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_manifest_entries_from_before_built_at_still_count(workspace, run):
    root = workspace()
    assert run("build", "-C", root).exit_code == 0
    path = root / CASE_DIR / "manifest.json"
    data = json.loads(path.read_text("utf-8"))
    key, _ = trust_key()
    output = data["letters"]["appeal/ada"]["outputs"]["md"]
    del output["built_at"], output["mac"]
    output["mac"] = signature(key, "free-expression", "appeal/ada", "md", "a4", output)
    path.write_text(json.dumps(data), "utf-8")
    manifest = Manifest.read(Writable(root / "out"), "free-expression", "manifest.json", key)
    assert manifest.output("appeal/ada", "md") is not None  # the old entry still verifies
    rows = read_csv(run("report", "-C", root).stdout_bytes)
    assert (rows[0]["built_at"], rows[0]["up_to_date"]) == ("", "yes")
    rebuilt = run("build", "-C", root)
    assert "unchanged 2" in rebuilt.stdout


def test_only_entries_signed_with_your_key_count_as_built(workspace, run):
    root = workspace()
    assert run("build", "-C", root).exit_code == 0
    path = root / CASE_DIR / "manifest.json"
    data = json.loads(path.read_text("utf-8"))
    data["letters"]["appeal/hoa"]["outputs"]["md"]["mac"] = "0" * 64  # forged
    path.write_text(json.dumps(data), "utf-8")
    rows = read_csv(run("report", "-C", root).stdout_bytes)
    assert [(row["up_to_date"], row["reason"]) for row in rows] == [
        ("yes", ""),
        ("no", "not built"),
    ]


def test_exit_codes(workspace, run, tmp_path):
    root = workspace()
    wrong = run("report", "--format", "pdf", "-C", root)
    assert wrong.exit_code == 2 and "not a report format" in wrong.stderr
    (tmp_path / "taken").mkdir()
    blocked = run("report", "--output", tmp_path / "taken", "-C", root)
    assert blocked.exit_code == 1 and "taken" in blocked.stderr
    assert "internal error" not in blocked.stderr
    written = run("report", "--format", "json", "--output", tmp_path / "r.json", "-C", root)
    assert written.exit_code == 0
    assert [r["recipient"] for r in json.loads(Path(tmp_path / "r.json").read_text())] == [
        "ada",
        "hoa",
    ]
