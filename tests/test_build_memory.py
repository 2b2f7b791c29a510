"""A build keeps at most KEPT_LETTERS composed letters between checking and writing them;
the others are composed again when written, and come out the same."""

from __future__ import annotations

import dataclasses
import itertools

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


def test_a_letter_that_comes_out_differently_the_second_time_is_not_written(
    workspace, run, monkeypatch
):
    root = workspace()
    monkeypatch.setattr(build, "KEPT_LETTERS", 0)
    compose = build.render_job

    def drifting(*args, **kwargs):  # what a template with randomness would do
        letter = compose(*args, **kwargs)
        return dataclasses.replace(letter, body_markdown=letter.body_markdown + str(next(count)))

    count = itertools.count()
    monkeypatch.setattr(build, "render_job", drifting)
    result = run("build", "--format", "md", "-C", root)
    assert result.exit_code == 1
    assert result.stderr.count("came out differently when composed again") == 2
    assert "templates/appeal.md.j2" in result.stderr
    assert not [name for name in files_under(root / "out") if name.endswith(".md")]


def test_templates_cannot_pick_at_random(workspace, run):
    root = workspace(**{"templates__appeal.md.j2": "Dear {{ ['a', 'b'] | random }},\n"})
    result = run("check", "-C", root)
    assert result.exit_code == 2
    assert "templates/appeal.md.j2:1:" in result.stderr and "random" in result.stderr
