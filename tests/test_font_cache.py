"""The font maps the glyph check reads are kept in the user's cache folder, so a campaign in
Korean or Chinese is checked as fast as one in English from the second run on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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


FONT = ASSETS_DIR / "fonts" / "NotoSerif-Regular.ttf"


def _kept_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The cache file of the shipped font's map, made by a first read."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    font_maps.code_ranges.__wrapped__(FONT, 0, FONT.stat().st_mtime_ns)
    (cached,) = (tmp_path / "cache" / "letters" / "font-maps").glob("*.txt")
    return cached


def _read_again() -> tuple[tuple[int, int], ...]:
    return font_maps.code_ranges.__wrapped__(FONT, 0, FONT.stat().st_mtime_ns)


def test_a_link_in_the_cache_is_neither_read_nor_written_through(tmp_path, monkeypatch):
    cached = _kept_map(tmp_path, monkeypatch)
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("65 66\n", "ascii")
    cached.unlink()
    cached.symlink_to(elsewhere)
    assert font_maps.in_runs(_read_again(), ord("ệ"))  # the font, not the link's target
    assert not cached.is_symlink() and cached.read_text("ascii") != "65 66\n"
    assert elsewhere.read_text("ascii") == "65 66\n"  # not written through


def test_an_oversized_cache_file_is_not_read(tmp_path, monkeypatch):
    cached = _kept_map(tmp_path, monkeypatch)
    cached.write_text("65 66\n" + "\n" * 100, "ascii")
    monkeypatch.setattr(font_maps, "MAP_LIMIT", 50)
    assert font_maps.in_runs(_read_again(), ord("ệ"))
    monkeypatch.setattr(font_maps, "MAP_LIMIT", 4096)
    assert _read_again() == ((65, 66),)  # under the limit, the same file is used


@pytest.mark.skipif(os.getuid() != 0, reason="giving a file to another user needs root")
def test_a_cache_file_someone_else_owns_is_not_read(tmp_path, monkeypatch):
    cached = _kept_map(tmp_path, monkeypatch)
    cached.write_text("65 66\n", "ascii")
    os.chown(cached, 54321, -1)
    assert font_maps.in_runs(_read_again(), ord("ệ"))
    assert cached.stat().st_uid == os.getuid()  # replaced by the user's own


def test_a_folder_in_place_of_a_kept_map_reads_the_font(tmp_path, monkeypatch):
    """The glyph check of a Korean letter must not stop because a folder stands where the
    map was kept (the user's own cache folder, but nothing letters made)."""
    cached = _kept_map(tmp_path, monkeypatch)
    cached.unlink()
    cached.mkdir()
    descriptors = len(os.listdir("/proc/self/fd"))
    assert font_maps.in_runs(_read_again(), ord("ệ"))
    assert len(os.listdir("/proc/self/fd")) == descriptors


def test_cache_folders_made_for_a_map_are_private(tmp_path, monkeypatch):
    _kept_map(tmp_path, monkeypatch)
    for folder in ("cache", "cache/letters", "cache/letters/font-maps"):
        assert (tmp_path / folder).stat().st_mode & 0o777 == 0o700, folder
