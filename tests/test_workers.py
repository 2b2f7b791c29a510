"""PDF worker processes: they die with the build, and the page layout runs under limits."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import CASE

REPO = Path(__file__).resolve().parent.parent
LINUX = sys.platform.startswith("linux")
BUILD = ("build", "-f", "pdf", "-j", "2")


def _campaign(root: Path, count: int) -> Path:
    people = "".join(
        f"  - id: person-{i:03d}\n    name: Person {i}\n    address: [Street {i}, Town]\n"
        for i in range(count)
    )
    (root / "templates").mkdir(parents=True)
    (root / "cases").mkdir()
    (root / "recipients.yaml").write_text("recipients:\n" + people, "utf-8")
    (root / "cases/big.yaml").write_text(CASE, "utf-8")
    body = "{{ recipient.salutation }}\n\n" + "A paragraph of the appeal. " * 60 + "\n\nYours,\n"
    (root / "templates/appeal.md.j2").write_text(body, "utf-8")
    return root


def _children(pid: int) -> dict[int, str]:
    """The live children of `pid` (from every thread of it), each with its start time."""
    found: dict[int, str] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                start = _start_time(int(child))
                if start is not None:
                    found[int(child)] = start
    return found


def _start_time(pid: int) -> str | None:
    """When `pid` started (so a reused pid is not mistaken for it); None once it is gone or
    a zombie (dead, waiting to be reaped by whoever adopted it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields[19]


def _pdfs(root: Path) -> set[str]:
    return {path.name for path in root.glob("out/**/*.pdf")}


@pytest.mark.slow
@pytest.mark.skipif(not LINUX, reason="finds the workers through /proc")
def test_pdf_workers_die_with_a_build_killed_by_sigkill(tmp_path: Path):
    root = _campaign(tmp_path / "ws", 40)
    log = (tmp_path / "build.log").open("w")
    build = subprocess.Popen(
        [sys.executable, "-c", "from cli import main; main()", *BUILD, "-C", str(root)],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    workers: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 120
        while not _pdfs(root):
            assert build.poll() is None, (tmp_path / "build.log").read_text()
            assert time.monotonic() < deadline, "no PDF after 2 minutes"
            time.sleep(0.05)
        workers = _children(build.pid)
        assert len(workers) >= 2, workers  # -j 2: both are busy with 40 letters to do

        build.send_signal(signal.SIGKILL)
        build.wait()
        deadline = time.monotonic() + 10
        alive = dict(workers)
        while alive and time.monotonic() < deadline:
            time.sleep(0.1)
            alive = {pid: t for pid, t in alive.items() if _start_time(pid) == t}
        assert not alive, f"workers still running 10 s after the build was killed: {alive}"

        written = _pdfs(root)
        time.sleep(2)
        assert _pdfs(root) == written, "PDFs were written after the build was killed"
        assert len(written) < 40
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(build.pid, signal.SIGKILL)  # whatever is left of the session we started
        build.wait()
        log.close()


@pytest.mark.slow
@pytest.mark.skipif(not LINUX, reason="PR_SET_PDEATHSIG is Linux only")
def test_a_worker_whose_build_is_already_gone_exits_at_once():
    """The race: the build died before the worker armed its death signal."""
    code = (
        "import os\n"
        "from letters.output.workers import _die_with_parent\n"
        "_die_with_parent(os.getppid() + 1_000_000)\n"  # not our parent: it 'died'
        "print('still running')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "still running" not in result.stdout


@pytest.mark.slow
@pytest.mark.skipif(not LINUX, reason="PR_SET_PDEATHSIG is Linux only")
def test_a_worker_arms_the_death_signal():
    code = (
        "import ctypes, os, signal\n"
        "from letters.output.workers import _die_with_parent\n"
        "_die_with_parent(os.getppid())\n"
        "value = ctypes.c_int()\n"
        "ctypes.CDLL(None).prctl(2, ctypes.byref(value), 0, 0, 0)\n"  # PR_GET_PDEATHSIG
        "print(value.value == signal.SIGKILL)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


# -- the page layout under limits ------------------------------------------------------------

LAYOUT_HEAD = '<!DOCTYPE html><html><head><link rel="stylesheet" href="{{ fonts_url }}"></head>'


def _with_layout(workspace, layout: str) -> Path:
    return workspace(**{"templates/letter.html.j2": LAYOUT_HEAD + layout})


@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_layout_that_runs_forever_fails_naming_the_layout(workspace, run, monkeypatch, jobs):
    monkeypatch.setenv("LETTERS_TIME_LIMIT", "1")
    root = _with_layout(
        workspace,
        "<body>{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
        "{% endfor %}{{ body_html }}</body></html>",
    )
    started = time.monotonic()
    result = run("build", "-f", "pdf", "-j", jobs, "-C", root)
    assert time.monotonic() - started < 60
    assert result.exit_code in (1, 2), result.stdout
    assert "letter.html.j2" in result.stderr
    assert "rendering the page layout took longer than the limit of 1 s" in result.stderr
    assert not list(root.glob("out/**/*.pdf"))


@pytest.mark.slow
def test_a_layout_that_eats_memory_fails_naming_the_layout(workspace, run, monkeypatch):
    monkeypatch.setenv("LETTERS_MEMORY_LIMIT_MB", "200")
    root = _with_layout(
        workspace,
        # Doubling a string: each step passes the sandbox's size check for one operation.
        "<body>{% set ns = namespace(text='x' * 1000000) %}"
        "{% for i in range(16) %}{% set ns.text = ns.text ~ ns.text %}{% endfor %}"
        "{{ ns.text | length }}</body></html>",
    )
    result = run("build", "-f", "pdf", "-j", "1", "-C", root)
    assert result.exit_code in (1, 2), result.stdout
    assert "letter.html.j2" in result.stderr
    assert "rendering the page layout needed more memory than the limit of 200 MB" in (
        result.stderr
    )


@pytest.mark.slow
def test_weasyprint_keeps_its_own_time_limit_after_the_layout(workspace, run):
    """The layout's guard ends before WeasyPrint starts: a normal layout builds as before."""
    root = _with_layout(workspace, "<body>{{ body_html }}</body></html>")
    result = run("build", "-f", "pdf", "-j", "1", "-C", root)
    assert result.exit_code == 0, result.stderr
    assert len(_pdfs(root)) == 2
