"""A build keeps at most KEPT_LETTERS composed letters between checking and writing them;
the others are composed again when written, and come out the same."""

from __future__ import annotations

import pytest

from letters.output import build
from tests.conftest import files_under


@pytest.mark.slow
def test_letters_composed_again_when_written_are_the_same_letters(workspace, run, monkeypatch):
    root = workspace()
    formats = ["--format", "md", "--format", "html", "--format", "pdf", "--jobs", "1"]
    kept = run("build", *formats, "--out", root / "kept", "-C", root)
    assert kept.exit_code == 0, kept.stderr
    monkeypatch.setattr(build, "KEPT_LETTERS", 0)  # every letter composed twice
    again = run("build", *formats, "--out", root / "again", "-C", root)
    assert again.exit_code == 0, again.stderr
    written = sorted(name for name in files_under(root / "kept") if "/appeal/" in name)
    assert len(written) == 6  # two recipients, three formats
    assert written == sorted(name for name in files_under(root / "again") if "/appeal/" in name)
    for name in written:
        assert (root / "kept" / name).read_bytes() == (root / "again" / name).read_bytes(), name
