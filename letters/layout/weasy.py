"""WeasyPrint, imported with its system libraries found without running a compiler.

WeasyPrint asks cffi for each library (GObject, Pango, HarfBuzz, fontconfig) under its
Windows and macOS names first. For every name it cannot open directly, cffi calls
`ctypes.util.find_library`, which on Linux reads the linker cache (`ldconfig -p`) and, when
the name is not there, runs `gcc` and then `ld` to look for it: sixteen such misses cost
about 0.1 s of the 0.45 s WeasyPrint takes to import, in every process that makes PDFs
(each build worker, `build -j 1`, a one-letter build). Here, while WeasyPrint is imported,
a name the linker cache does not know is a miss at once. The compiler's answer could only
matter for a library outside the cache, which the dynamic loader finds only through
`LD_LIBRARY_PATH`: when that is set, the standard lookup is kept whole.

Modules of the layout stage import WeasyPrint's names from here, never directly, so that
the first import anywhere goes through this one.
"""

from __future__ import annotations

import ctypes.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def _libraries_from_linker_cache() -> Iterator[None]:
    """While in this block, `ctypes.util.find_library` looks in the linker cache alone (on
    Linux, with no LD_LIBRARY_PATH, where the standard library has that lookup)."""
    in_cache = getattr(ctypes.util, "_findSoname_ldconfig", None)
    if (
        in_cache is None
        or not sys.platform.startswith("linux")
        or os.environ.get("LD_LIBRARY_PATH")
    ):
        yield
        return

    def find_library(name: str) -> str | None:
        found = in_cache(name)
        return found if isinstance(found, str) else None

    standard = ctypes.util.find_library
    ctypes.util.find_library = find_library
    try:
        yield
    finally:
        ctypes.util.find_library = standard


with _libraries_from_linker_cache():
    import weasyprint

from weasyprint.css.counters import CounterStyle  # noqa: E402
from weasyprint.text.fonts import FontConfiguration  # noqa: E402
from weasyprint.urls import (  # noqa: E402
    FatalURLFetchingError,
    URLFetcher,
    URLFetcherResponse,
)

__all__ = [
    "CounterStyle",
    "FatalURLFetchingError",
    "FontConfiguration",
    "URLFetcher",
    "URLFetcherResponse",
    "weasyprint",
]
