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


def test_the_manifest_is_written_without_holding_its_text(tmp_path):
    """A print run of thousands of letters: json.dumps would hold the whole manifest as one
    string, its bytes and half a million pieces at once (about 20 MB at 5,000 letters)."""
    import json
    import tracemalloc

    from letters.atomic import Writable
    from letters.output.manifest import Manifest

    (tmp_path / "case").mkdir()
    manifest = Manifest(Writable(tmp_path), "case", "manifest.json", b"k" * 32)
    inputs = {f"input-{number}": "0" * 64 for number in range(8)}
    for number in range(2000):
        path = tmp_path / "case" / f"{number}.md"
        manifest.record(str(number), ("t", str(number)), "a4", "md", path, inputs, {}, "0" * 64)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        manifest.save()
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    size = (tmp_path / "case/manifest.json").stat().st_size
    assert size > 2_000_000
    assert peak < size / 4
    assert len(json.loads((tmp_path / "case/manifest.json").read_text("utf-8"))["letters"]) == 2000
