"""The sample campaign's letters, byte for byte, as Markdown and as the HTML page WeasyPrint
lays out (update with `pytest --update-golden`, which also removes golden files of letters
that no longer exist; review the diff)."""

from __future__ import annotations

from pathlib import Path

from letters.layout.html import ASSETS_DIR
from tests.conftest import files_under

GOLDEN = Path(__file__).parent / "golden"


def normalised(text: str, workspace: Path) -> str:
    """HTML with the machine's absolute paths replaced: the installed package's assets and
    the campaign folder differ from one checkout to the next."""
    return text.replace(ASSETS_DIR.as_uri(), "file://PACKAGE/assets").replace(
        workspace.resolve().as_uri(), "file://WORKSPACE"
    )


def test_sample_letters_match_golden_files(sample, run, update_golden):
    result = run("build", "--format", "md", "--format", "html", "-C", sample)
    assert result.exit_code == 0, result.stderr
    out = sample / "out"
    built = sorted(name for name in files_under(out) if name.endswith((".md", ".html")))
    assert len([name for name in built if name.endswith(".html")]) >= 6
    texts = {name: normalised((out / name).read_text("utf-8"), sample) for name in built}
    letters = {name for name in files_under(GOLDEN) if name.endswith((".md", ".html"))}
    if update_golden:
        for stale in letters - set(built):
            (GOLDEN / stale).unlink()
        for name, text in texts.items():
            target = GOLDEN / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, "utf-8")
        letters = set(built)
    assert built == sorted(letters), "letters added or removed: run --update-golden"
    for name in built:
        assert texts[name] == (GOLDEN / name).read_text("utf-8"), name
    assert str(sample) not in "".join(texts.values())
