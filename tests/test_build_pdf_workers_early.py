"""A first parallel build starts its PDF workers while it composes the letters: whatever
happens next, it ends with every worker gone and nothing written that should not be."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from tests.conftest import files_under


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
