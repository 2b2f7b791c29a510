"""The font maps the glyph check reads are kept in the user's cache folder, so a campaign in
Korean or Chinese is checked as fast as one in English from the second run on."""

from __future__ import annotations

from pathlib import Path

from letters.compose import font_maps
from letters.layout.html import ASSETS_DIR


def test_a_font_map_is_read_once_then_from_the_cache(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    font = ASSETS_DIR / "fonts" / "NotoSerif-Regular.ttf"
    modified = font.stat().st_mtime_ns
    read = font_maps.code_ranges.__wrapped__(font, 0, modified)
    assert font_maps.in_runs(read, ord("ệ"))
    assert sum(last - first + 1 for first, last in read) > 1000
    cached = list((tmp_path / "cache" / "letters" / "font-maps").glob("*.txt"))
    assert len(cached) == 1
    cached[0].write_text("65 66\n", "ascii")  # proves the next read comes from the file
    assert font_maps.code_ranges.__wrapped__(font, 0, modified) == ((65, 66),)


def test_a_damaged_cache_file_is_read_from_the_font_again(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    font = ASSETS_DIR / "fonts" / "NotoSerif-Regular.ttf"
    modified = font.stat().st_mtime_ns
    font_maps.code_ranges.__wrapped__(font, 0, modified)
    (cached,) = (tmp_path / "cache" / "letters" / "font-maps").glob("*.txt")
    for damaged in ("300 200\n", "65 66\n60 70\n", "0 100\n50 60\n", "0 1114112\n", "a b\n"):
        cached.write_text(damaged, "ascii")  # out of order, overlapping, beyond Unicode
        read = font_maps.code_ranges.__wrapped__(font, 0, modified)
        assert font_maps.in_runs(read, ord("ệ")) and not font_maps.in_runs(read, 0x4E00), damaged


def test_code_point_runs_round_trip():
    runs = font_maps._runs([13, 1, 2, 3, 10, 12, 0x4E01, 0x4E00])
    assert runs == ((1, 3), (10, 10), (12, 13), (0x4E00, 0x4E01))
    assert font_maps._read_ranges(font_maps._ranges_text(runs)) == runs
    assert font_maps._read_ranges(font_maps._ranges_text(())) == ()
    inside = {point for first, last in runs for point in range(first, last + 1)}
    assert [p for p in range(0x5000) if font_maps.in_runs(runs, p)] == sorted(inside)
