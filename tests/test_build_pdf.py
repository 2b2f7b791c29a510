"""Building PDFs end to end: paper sizes, print files, duplex, failures, network, restarts."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pypdf import PageObject, PdfReader

from tests.conftest import CASE, RECIPIENTS, files_under

# Each test lays out PDFs: the quick loop (`pytest -m "not slow"`) leaves them to the
# full run.
pytestmark = pytest.mark.slow

A4 = (595.28, 841.89)
LETTER = (612.0, 792.0)
MIXED = RECIPIENTS.replace("tags: [tech]\n", "tags: [tech]\n    paper: letter\n", 1)


def size(page: PageObject) -> tuple[float, float]:
    box = page.mediabox
    return round(float(box.width), 2), round(float(box.height), 2)


def texts(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


@pytest.mark.slow
def test_pdfs_take_the_recipients_paper_and_print_files_split_by_size(workspace, run):
    root = workspace(**{"recipients.yaml": MIXED})
    result = run("build", "--format", "pdf", "--print", "-j", "1", "-C", root)
    assert result.exit_code == 0, result.stderr
    out = root / "out/free-expression"
    assert size(PdfReader(out / "appeal/ada.pdf").pages[0]) == LETTER
    assert size(PdfReader(out / "appeal/hoa.pdf").pages[0]) == A4
    assert {p.name for p in out.glob("print*.pdf")} == {"print-a4.pdf", "print-letter.pdf"}
    assert "Ada Lovelace" in texts(out / "print-letter.pdf")[0]
    assert "Nguyễn Thị Hoa" in texts(out / "print-a4.pdf")[0]


@pytest.mark.slow
def test_print_file_orders_by_template_then_recipients_and_pads_for_duplex(workspace, run):
    case = CASE.replace(
        "  - template: appeal\n    to: [all]\n",
        "  - template: second\n    to: [hoa, ada]\n  - template: appeal\n    to: [all]\n",
    )
    root = workspace(
        **{
            "cases/free-expression.yaml": case,
            "templates/second.md.j2": "Second letter to {{ recipient.name }}.\n\nBye,\n",
        }
    )
    assert run("build", "-f", "pdf", "--print", "--duplex", "-C", root).exit_code == 0
    pages = texts(root / "out/free-expression/print.pdf")
    assert len(pages) == 8  # four one-page letters, each padded to a sheet
    assert [page.strip() == "" for page in pages] == [False, True] * 4
    firsts = [pages[i] for i in (0, 2, 4, 6)]
    assert "Second letter to Ada" in firsts[0] and "Second letter to Nguyễn" in firsts[1]
    assert "We write about" in firsts[2] and "Ms Ada Lovelace" in firsts[2]
    assert "Nguyễn Thị Hoa" in firsts[3]


def test_html_format_writes_the_page_weasyprint_gets(workspace, run):
    root = workspace()
    assert run("build", "-f", "html", "-C", root).exit_code == 0
    page = (root / "out/free-expression/appeal/hoa.html").read_text("utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="vi"' not in page  # the template is English: the letter is English
    assert '<html lang="en"' in page
    assert "Nguyễn Thị Hoa" in page


@pytest.mark.slow
def test_parallel_and_serial_builds_give_the_same_bytes(workspace, run, tmp_path):
    root = workspace()
    run("build", "-f", "pdf", "-j", "1", "--out", tmp_path / "one", "-C", root)
    run("build", "-f", "pdf", "-j", "2", "--out", tmp_path / "two", "-C", root)
    for name in ("ada", "hoa"):
        one = (tmp_path / f"one/free-expression/appeal/{name}.pdf").read_bytes()
        assert one == (tmp_path / f"two/free-expression/appeal/{name}.pdf").read_bytes()


@pytest.mark.slow
def test_unchanged_pdfs_are_skipped_and_a_layout_change_rebuilds_them(workspace, run):
    root = workspace()
    assert "Built 2" in run("build", "-f", "pdf", "-C", root).stdout
    assert "Built 0, unchanged 2" in run("build", "-f", "pdf", "-C", root).stdout
    (root / "templates/letter.css").write_text("body { color: #222; }\n", "utf-8")
    dry = run("build", "-f", "pdf", "--dry-run", "-C", root)
    assert "rebuild (layout changed)" in dry.stdout
    assert "Built 2, unchanged 0" in run("build", "-f", "pdf", "-C", root).stdout


LONG = "{% for i in range(400) %}Paragraph {{ i }} of a very long letter.\n\n{% endfor %}Yours,\n"


@pytest.mark.slow
def test_a_letter_over_the_page_limit_fails_alone(workspace, run, monkeypatch):
    monkeypatch.setenv("LETTERS_PAGE_LIMIT", "3")
    template = "{% if recipient.id == 'ada' %}" + LONG + "{% else %}Short.\n\nBye,\n{% endif %}"
    root = workspace(**{"templates/appeal.md.j2": template})
    result = run("build", "-f", "pdf", "--print", "-j", "1", "-C", root)
    assert result.exit_code == 1
    assert "No print file written" in result.stderr
    assert "free-expression/appeal/ada: the letter has" in result.stderr
    assert "more than the limit of 3" in result.stderr
    assert "LETTERS_PAGE_LIMIT" in result.stderr
    out = root / "out/free-expression"
    assert files_under(out) == {"appeal/hoa.pdf", "manifest.json", "failures.json"}
    failures = json.loads((out / "failures.json").read_text())["failures"]
    assert [(f["recipient"], f["format"]) for f in failures] == [("ada", "pdf")]
    assert failures[0]["file"].endswith("appeal.md.j2")


@pytest.mark.slow
def test_fail_fast_stops_at_the_first_failure(workspace, run, monkeypatch):
    monkeypatch.setenv("LETTERS_PAGE_LIMIT", "3")
    root = workspace(**{"templates/appeal.md.j2": LONG})
    result = run("build", "-f", "pdf", "-j", "1", "--fail-fast", "-C", root)
    assert result.exit_code == 1
    assert "stopped at the first failure" in result.stdout
    assert (
        len(json.loads((root / "out/free-expression/failures.json").read_text())["failures"]) == 1
    )


@pytest.fixture
def listener():
    """A TCP server on 127.0.0.1 that counts the connections it receives."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted: list[object] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            accepted.append(connection)
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


@pytest.mark.slow
def test_hostile_workspace_opens_no_connection_and_reports_refused_urls(workspace, run, listener):
    port, accepted = listener
    url = f"http://127.0.0.1:{port}/x.png"
    recipients = RECIPIENTS.replace("name: Ada Lovelace", f'name: "<img src={url}> Ada"')
    css = (
        "@import url(../../outside.css);\n"
        f"body {{ background: url({url}); }}\n"
        "html { background: url(file:///etc/hostname); }\n"
    )
    root = workspace(**{"recipients.yaml": recipients, "templates/letter.css": css})
    (root.parent / "outside.css").write_text("body { color: red; }\n", "utf-8")
    result = run("build", "-f", "pdf", "-j", "1", "-C", root)
    assert result.exit_code == 1, result.stderr  # each letter fails: it would lose its images
    assert accepted == []
    assert "the PDF would leave something out" in result.stderr
    assert f"refused to fetch {url}" in result.stderr
    assert "file:///etc/hostname" in result.stderr
    assert "outside.css" in result.stderr
    assert not (root / "out/free-expression/appeal/ada.pdf").exists()
    (root / "templates/letter.css").unlink()
    assert run("build", "-f", "pdf", "-j", "1", "-C", root).exit_code == 0
    assert accepted == []
    first_page = texts(root / "out/free-expression/appeal/ada.pdf")[0]
    assert f"<img src={url}> Ada" in first_page


def _campaign(root: Path, count: int) -> Path:
    people = "".join(
        f"  - id: person-{i:03d}\n    name: Person {i}\n    address: [Street {i}, Town]\n"
        for i in range(count)
    )
    (root / "templates").mkdir(parents=True)
    (root / "cases").mkdir()
    (root / "recipients.yaml").write_text("recipients:\n" + people, "utf-8")
    (root / "cases/big.yaml").write_text(CASE.replace("free-expression", "big"), "utf-8")
    body = "{{ recipient.salutation }}\n\n" + "A paragraph of the appeal. " * 60 + "\n\nYours,\n"
    (root / "templates/appeal.md.j2").write_text(body, "utf-8")
    return root


def _start_build(root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from cli import main; main()",
            "build",
            "-f",
            "pdf",
            "-j",
            "2",
            "-C",
            str(root),
        ],
        cwd=Path(__file__).parent.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait_for_pdfs(root: Path, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while len(list(root.glob("out/big/appeal/*.pdf"))) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)


def _all_pdfs_whole(root: Path) -> None:
    for path in root.glob("out/big/appeal/*.pdf"):
        assert len(PdfReader(path).pages) >= 1
    assert not list(root.glob("out/**/.*.tmp"))


@pytest.mark.slow
def test_a_build_killed_with_sigkill_resumes_with_only_the_rest(tmp_path, run):
    root = _campaign(tmp_path / "ws", 40)
    process = _start_build(root)
    _wait_for_pdfs(root, 5, process)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done_before = len(list(root.glob("out/big/appeal/*.pdf")))
    assert done_before < 40
    result = run("build", "-f", "pdf", "-C", root)
    assert result.exit_code == 0, result.stderr
    built = int(result.stdout.split("Built ")[1].split(",")[0])
    assert built <= 40 - done_before + 2  # at most the letters in flight at the kill are redone
    _all_pdfs_whole(root)
    assert len(list(root.glob("out/big/appeal/*.pdf"))) == 40


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_says_how_far_it_got(tmp_path):
    root = _campaign(tmp_path / "ws", 40)
    process = _start_build(root)
    _wait_for_pdfs(root, 3, process)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Interrupted after" in stderr and "the next build does only the rest" in stderr
    assert "Traceback" not in stderr
    _all_pdfs_whole(root)


@pytest.mark.slow
def test_shards_merge_into_the_same_print_file_as_one_build(tmp_path, run):
    root = _campaign(tmp_path / "ws", 12)
    for shard in ("1/3", "2/3", "3/3"):
        result = run(
            "build", "-f", "pdf", "--shard", shard, "--out", tmp_path / "shared", "-C", root
        )
        assert result.exit_code == 0, result.stderr
    manifests = sorted(p.name for p in (tmp_path / "shared/big").glob("manifest*.json"))
    assert manifests == ["manifest.1-of-3.json", "manifest.2-of-3.json", "manifest.3-of-3.json"]
    assert run("merge-print", "--out", tmp_path / "shared", "-C", root).exit_code == 0
    run("build", "-f", "pdf", "--print", "--out", tmp_path / "single", "-C", root)
    assert texts(tmp_path / "shared/big/print.pdf") == texts(tmp_path / "single/big/print.pdf")


@pytest.mark.slow
def test_merge_print_says_which_letters_are_missing(tmp_path, run):
    root = _campaign(tmp_path / "ws", 6)
    run("build", "-f", "pdf", "--shard", "1/2", "-C", root)
    result = run("merge-print", "-C", root)
    assert result.exit_code == 2
    assert "not ready to print" in result.stderr and "has not been built" in result.stderr


@pytest.mark.slow
def test_merge_print_refuses_letters_out_of_date(tmp_path, run):
    root = _campaign(tmp_path / "ws", 4)
    for shard in ("1/2", "2/2"):
        assert run("build", "-f", "pdf", "--shard", shard, "-C", root).exit_code == 0
    assert run("merge-print", "-C", root).exit_code == 0
    recipients = root / "recipients.yaml"
    recipients.write_text(recipients.read_text().replace("Person 2\n", "Person Two\n"), "utf-8")
    result = run("merge-print", "-C", root)
    assert result.exit_code == 2
    assert "big/appeal/person-002.pdf is out of date" in result.stderr


@pytest.mark.slow
def test_print_file_keeps_each_letters_images_fonts_and_sizes(workspace, run):
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    pixels = zlib.compress(b"".join(b"\x00" + b"\xc0\x20\x20" * 8 for _ in range(8)))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", (8).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0]))
    png += chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    case = CASE.replace("  name: Sam Sender\n", "  name: Sam Sender\n  logo: logo.png\n")
    root = workspace(**{"recipients.yaml": MIXED, "cases/free-expression.yaml": case})
    (root / "logo.png").write_bytes(png)
    result = run("build", "-f", "pdf", "--print", "--duplex", "-C", root)
    assert result.exit_code == 0, result.stderr
    out = root / "out/free-expression"
    for name, expected in (("print-letter.pdf", LETTER), ("print-a4.pdf", A4)):
        reader = PdfReader(out / name)
        assert [size(page) for page in reader.pages] == [expected, expected]
        assert len(reader.pages[0].images) == 1
        assert reader.pages[1].extract_text().strip() == ""
        fonts = reader.pages[0]["/Resources"]["/Font"].values()
        assert any("Noto-Serif" in str(font.get_object()["/BaseFont"]) for font in fonts)
    assert "Nguyễn Thị Hoa" in PdfReader(out / "print-a4.pdf").pages[0].extract_text()


@pytest.mark.slow
@pytest.mark.parametrize(("variant", "marker"), [("pdf/a-3u", b"pdfaid"), ("pdf/ua-1", b"pdfuaid")])
def test_pdf_variants_from_the_command_line(workspace, run, variant, marker):
    root = workspace()
    result = run("build", "-f", "pdf", "--pdf-variant", variant, "--to", "ada", "-C", root)
    assert result.exit_code == 0, result.stderr
    reader = PdfReader(root / "out/free-expression/appeal/ada.pdf")
    metadata = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert marker in metadata
    assert "We write about" in reader.pages[0].extract_text()


def test_unknown_pdf_variant_is_a_usage_error(workspace, run):
    result = run("build", "-f", "pdf", "--pdf-variant", "pdf/x", "-C", workspace())
    assert result.exit_code == 2
    assert "--pdf-variant 'pdf/x' is not one of: pdf/a-3u, pdf/ua-1" in result.stderr


@pytest.mark.slow
def test_images_and_imported_css_the_pdf_used_are_inputs(workspace, run):
    root = workspace(
        **{
            "templates/letter.css": "@import url(../style/extra.css);\n",
            "style/extra.css": "body { color: #111; }\n",
        }
    )
    assert run("build", "-f", "pdf", "-C", root).exit_code == 0
    assert "Built 0, unchanged 2" in run("build", "-f", "pdf", "-C", root).stdout
    (root / "style/extra.css").write_text("body { color: #222; }\n", "utf-8")
    dry = run("build", "-f", "pdf", "--dry-run", "-C", root)
    assert "rebuild (style/extra.css changed)" in dry.stdout
    assert "Built 2" in run("build", "-f", "pdf", "-C", root).stdout


def test_a_partial_computed_by_name_is_an_input(workspace, run):
    root = workspace(
        **{
            "templates/_part-en.md.j2": "Part one.\n",
            "templates/appeal.md.j2": "{% include '_part-' ~ 'en' ~ '.md.j2' %}\n\nYours,\n",
        }
    )
    run("build", "-C", root)
    (root / "templates/_part-en.md.j2").write_text("Part two.\n", "utf-8")
    assert "Built 2, unchanged 0" in run("build", "-C", root).stdout
    assert "Part two." in (root / "out/free-expression/appeal/ada.md").read_text()


@pytest.mark.slow
def test_a_partial_build_keeps_the_other_letters_failures(workspace, run, monkeypatch):
    monkeypatch.setenv("LETTERS_PAGE_LIMIT", "3")
    root = workspace(**{"templates/appeal.md.j2": LONG})
    assert run("build", "-f", "pdf", "-j", "1", "-C", root).exit_code == 1
    path = root / "out/free-expression/failures.json"
    assert len(json.loads(path.read_text())["failures"]) == 2
    monkeypatch.setenv("LETTERS_PAGE_LIMIT", "50")
    assert run("build", "-f", "pdf", "--to", "ada", "-C", root).exit_code == 0
    failures = json.loads(path.read_text())["failures"]
    assert [entry["recipient"] for entry in failures] == ["hoa"]


@pytest.mark.slow
def test_merge_print_of_an_undated_case_honours_source_date_epoch(workspace, run, monkeypatch):
    """Shards of an undated case built with SOURCE_DATE_EPOCH set merge with it set: "today"
    is decided in one place for every command (merge-print once used the clock)."""
    undated = CASE.replace("date: 2026-03-14\n", "")
    root = workspace(**{"cases/free-expression.yaml": undated})
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "946684800")  # 1 January 2000
    for shard in ("1/2", "2/2"):
        assert run("build", "-f", "pdf", "--shard", shard, "-C", root).exit_code == 0
    result = run("merge-print", "-C", root)
    assert result.exit_code == 0, result.stderr
    text = "".join(
        page.extract_text() for page in PdfReader(root / "out/free-expression/print.pdf").pages
    )
    assert "1 January 2000" in text


def test_failures_json_names_each_letter_in_its_own_field(workspace, run, monkeypatch):
    monkeypatch.setenv("LETTERS_PAGE_LIMIT", "3")
    root = workspace(**{"templates/appeal.md.j2": LONG})
    assert run("build", "-f", "pdf", "-j", "1", "-C", root).exit_code == 1
    failures = json.loads((root / "out/free-expression/failures.json").read_text())["failures"]
    assert [f["letter"] for f in failures] == [
        "free-expression/appeal/ada",
        "free-expression/appeal/hoa",
    ]
    assert all(not f["error"].startswith("free-expression/") for f in failures)
