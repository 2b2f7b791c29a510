"""Which code points a font file draws: read with fontTools once, then kept in the user's
cache folder as runs of consecutive code points, which a character is looked up in by
bisection (a CJK face maps tens of thousands of code points in a few thousand runs)."""

from __future__ import annotations

import bisect
import contextlib
import functools
import hashlib
import sys
from collections.abc import Iterable
from pathlib import Path

from letters.trust import cache_dir, read_cache_file, write_cache_file

# A map kept in the cache folder is at most this long (a CJK face's is about 60 kB); a
# larger file there is not read, and the font's map is read again.
MAP_LIMIT = 4 * 1024 * 1024


@functools.cache
def code_ranges(path: Path, index: int, modified: int) -> tuple[tuple[int, int], ...]:
    """The code points one font file maps, as sorted runs `(first, last)` (`modified` is
    part of the cache key).

    Reading the map of a CJK collection takes the better part of a second, so the result
    is kept in the user's cache folder (never in a campaign), keyed by the file's path,
    face, size and time: `letters check` of a campaign in Korean starts as fast as one in
    English from the second run on. Runs rather than a set: a CJK face maps tens of
    thousands of code points in a few thousand runs, and a character is found by bisection.
    The kept file is used only if it is this user's own regular file (never through a
    link) of at most MAP_LIMIT bytes, and it is written whole or not at all.
    """
    cached = _cache_file(path, index, modified)
    kept = read_cache_file(cached, MAP_LIMIT)
    if kept is not None:
        try:
            return _read_ranges(kept.decode("ascii"))
        except ValueError:  # damaged: read from the font again, and kept anew
            pass
    from fontTools.ttLib import TTFont

    try:
        with TTFont(path, fontNumber=index, lazy=True) as font:  # lazy: keeps the file open
            runs = _runs(font.getBestCmap() or {})
    except Exception:  # an unreadable font draws nothing; fontTools raises many kinds
        return ()
    text = _ranges_text(runs).encode("ascii")
    if len(text) <= MAP_LIMIT:
        with contextlib.suppress(OSError):  # a cache that cannot be written only costs time
            write_cache_file(cached, text)
    return runs


def _cache_file(path: Path, index: int, modified: int) -> Path:
    folder = cache_dir() / "font-maps"
    size = path.stat().st_size
    key = hashlib.sha256(f"{path}\0{index}\0{modified}\0{size}".encode()).hexdigest()[:32]
    return folder / f"{key}.txt"


def _runs(points: Iterable[int]) -> tuple[tuple[int, int], ...]:
    """Code points as sorted runs of consecutive ones."""
    runs: list[tuple[int, int]] = []
    for point in sorted(set(points)):
        if runs and point == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], point)
        else:
            runs.append((point, point))
    return tuple(runs)


def _ranges_text(runs: tuple[tuple[int, int], ...]) -> str:
    """Runs as lines of `first last` (the cache file's format)."""
    return "".join(f"{first} {last}\n" for first, last in runs) or "\n"


def _read_ranges(text: str) -> tuple[tuple[int, int], ...]:
    runs = []
    for line in text.splitlines():
        if line:
            first, last = (int(part) for part in line.split())
            runs.append((first, last))
    return _runs_checked(runs)


def _runs_checked(runs: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Runs read back from a file: each well-formed and after the one before it (no overlap,
    which bisection could not search), or ValueError (then the font is read again)."""
    previous_last = -1
    for first, last in runs:
        if not previous_last < first <= last <= sys.maxunicode:
            raise ValueError("font map out of order")
        previous_last = last
    return tuple(runs)


def in_runs(runs: tuple[tuple[int, int], ...], code: int) -> bool:
    at = bisect.bisect_right(runs, (code, sys.maxsize)) - 1
    return at >= 0 and runs[at][0] <= code <= runs[at][1]
