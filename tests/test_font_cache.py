"""The font maps the glyph check reads are kept in the user's cache folder, so a campaign in
Korean or Chinese is checked as fast as one in English from the second run on."""

from __future__ import annotations

from pathlib import Path

from letters.compose import glyphs
from letters.layout.html import ASSETS_DIR


def test_a_font_map_is_read_once_then_from_the_cache(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    font = ASSETS_DIR / "fonts" / "NotoSerif-Regular.ttf"
    modified = font.stat().st_mtime_ns
    read = glyphs._code_points.__wrapped__(font, 0, modified)
    assert ord("ệ") in read and len(read) > 1000
    cached = list((tmp_path / "cache" / "letters" / "font-maps").glob("*.txt"))
    assert len(cached) == 1
    cached[0].write_text("65 66\n", "ascii")  # proves the next read comes from the file
    assert glyphs._code_points.__wrapped__(font, 0, modified) == frozenset({65, 66})


def test_code_point_runs_round_trip():
    points = frozenset({1, 2, 3, 10, 12, 13, 0x4E00, 0x4E01})
    assert glyphs._read_ranges(glyphs._ranges(points)) == points
    assert glyphs._ranges(frozenset()) == "\n"
