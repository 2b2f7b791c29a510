"""The sample campaign's letters, byte for byte (update with `pytest --update-golden`)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import files_under

GOLDEN = Path(__file__).parent / "golden"


def test_sample_letters_match_golden_files(sample, run, update_golden):
    result = run("build", "--format", "md", "-C", sample)
    assert result.exit_code == 0, result.stderr
    out = sample / "out"
    built = sorted(name for name in files_under(out) if name.endswith(".md"))
    assert len(built) >= 6
    if update_golden:
        for name in built:
            target = GOLDEN / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((out / name).read_bytes())
    assert built == sorted(files_under(GOLDEN)), "letters added or removed: run --update-golden"
    for name in built:
        assert (out / name).read_text("utf-8") == (GOLDEN / name).read_text("utf-8"), name
