"""A first parallel build starts its PDF workers while it composes the letters: whatever
happens next, it ends with every worker gone and nothing written that should not be."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from tests.conftest import files_under

BUILD = ["build", "--format", "pdf", "--jobs", "2", "-C"]


@pytest.mark.slow
def test_a_first_build_refused_for_a_bad_template_leaves_no_worker_and_no_folder(workspace, run):
    root = workspace(**{"templates__appeal.md.j2": "Dear {{ recipient.name }\n"})
    result = run("build", "--format", "pdf", "--jobs", "2", "-C", root)
    assert result.exit_code == 2
    assert "templates/appeal.md.j2:1:" in result.stderr
    assert not (root / "out").exists()
    assert multiprocessing.active_children() == []


@pytest.mark.slow
def test_a_first_parallel_build_writes_every_letter_then_its_workers_end(workspace, run):
    root: Path = workspace()
    result = run("build", "--format", "pdf", "--jobs", "2", "-C", root)
    assert result.exit_code == 0, result.stderr
    pdfs = sorted(name for name in files_under(root / "out") if name.endswith(".pdf"))
    assert pdfs and all((root / "out" / name).read_bytes().startswith(b"%PDF-") for name in pdfs)
    assert multiprocessing.active_children() == []
    again = run("build", "--format", "pdf", "--jobs", "2", "-C", root)  # out/ exists now
    assert again.exit_code == 0 and "unchanged" in again.stdout


@pytest.mark.slow
def test_workers_that_cannot_start_fail_each_letter_not_the_build(workspace, tmp_path):
    """WeasyPrint failing to load in the workers (a missing Pango, say) while the letters
    are composed: each letter is reported failed, with what to do; no internal error."""
    import os
    import subprocess
    import sys

    broken = tmp_path / "broken"
    (broken / "weasyprint").mkdir(parents=True)
    (broken / "weasyprint" / "__init__.py").write_text(
        "raise OSError('cannot load library libpango-1.0-0')\n", "utf-8"
    )
    root = workspace()
    paths = os.pathsep.join([str(broken), str(Path(__file__).resolve().parent.parent)])
    result = subprocess.run(
        [sys.executable, "-c", "from letters.cli import main; main()", *BUILD, str(root)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": paths},
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "internal error" not in result.stderr
    assert result.stderr.count("the PDF worker process stopped unexpectedly") == 2
    assert "failed 2" in result.stdout
    assert not [name for name in files_under(root / "out") if name.endswith(".pdf")]
