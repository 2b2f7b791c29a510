"""Watch mode: save a file, and the letter is rebuilt (or redrawn) by itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from letters.commands.watch import relevant
from tests.conftest import TEMPLATE

CLI = Path(__file__).resolve().parent.parent / "cli.py"


def wait_for(condition, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CLI), *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
    )


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output


@pytest.mark.slow
def test_build_watch_rebuilds_a_letter_after_a_template_edit(workspace):
    root = workspace()
    pdf = root / "out/free-expression/appeal/ada.pdf"
    process = start("build", "-f", "pdf", "-j", "1", "--watch", "-C", str(root), cwd=root)
    try:
        assert wait_for(pdf.exists), "the first build did not finish"
        first = pdf.stat().st_mtime_ns
        before = pdf.read_bytes()
        time.sleep(0.5)  # let the watcher settle after the first build
        template = root / "templates/appeal.md.j2"
        template.write_text(TEMPLATE.replace("We write about", "We write again about"), "utf-8")
        assert wait_for(lambda: pdf.stat().st_mtime_ns != first), "no rebuild after the edit"
        assert wait_for(lambda: pdf.read_bytes() != before)
        time.sleep(1.5)  # the rebuild's line is printed once its manifest is saved
    finally:
        output = stop(process)
    assert "Watching" in output
    assert "templates/appeal.md.j2: built 2, failed 0, unchanged 0" in output


@pytest.mark.slow
def test_a_mistake_while_watching_is_shown_and_watching_goes_on(workspace):
    root = workspace()
    md = root / "out/free-expression/appeal/ada.md"
    process = start("build", "--watch", "-C", str(root), cwd=root)
    try:
        assert wait_for(md.exists)
        time.sleep(0.5)
        template = root / "templates/appeal.md.j2"
        template.write_text("Hello {{ recipient.nmae }}\n\nBye,\n", "utf-8")
        time.sleep(1.5)
        template.write_text("Hello again\n\nBye,\n", "utf-8")
        assert wait_for(lambda: "Hello again" in md.read_text("utf-8"))
    finally:
        output = stop(process)
    assert "recipient has no field 'nmae'" in output


@pytest.mark.slow
def test_preview_watch_redraws_after_a_save(workspace):
    root = workspace()
    process = start(
        "preview", "free-expression", "--to", "ada", "--watch", "-C", str(root), cwd=root
    )
    try:
        time.sleep(1.5)
        (root / "templates/appeal.md.j2").write_text("Changed text\n\nBye,\n", "utf-8")
        time.sleep(2.0)
    finally:
        output = stop(process)
    assert "We write about the Cybersecurity Law" in output
    assert output.index("Changed text") > output.index("We write about")


def test_only_files_a_letter_is_made_from_count_as_saves(tmp_path: Path):
    assert relevant(tmp_path, tmp_path / "templates/appeal.md.j2")
    assert relevant(tmp_path, tmp_path / "recipients.yaml")
    assert not relevant(tmp_path, tmp_path / "out/c/appeal/ada.pdf")
    assert not relevant(tmp_path, tmp_path / "sent/c.jsonl")
    assert not relevant(tmp_path, tmp_path / ".git/index")
    assert not relevant(tmp_path, tmp_path / "templates/.appeal.md.j2.swp")
    assert not relevant(tmp_path / "elsewhere", tmp_path / "recipients.yaml")
