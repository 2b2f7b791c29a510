"""Watch mode: the campaign files a letter is made from, as they are saved.

`saves(root)` yields each batch of saved files (debounced, so an editor's several writes
count once) and leaves out what letters itself writes (out/, sent/) and what no letter
reads (hidden files such as .git/). The command line redraws a preview or rebuilds on each.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

DEBOUNCE_MS = 200
# Written by letters, or never read by it: a save there changes no letter.
IGNORED_FOLDERS = {"out", "sent", "__pycache__", "node_modules"}


def relevant(root: Path, path: Path) -> bool:
    """Whether a saved file can change a letter: anything in the campaign folder but output
    folders and hidden files (an editor's swap files, .git)."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return False
    if not parts or parts[0] in IGNORED_FOLDERS:
        return False
    return not any(part.startswith(".") or part.endswith("~") for part in parts)


def saves(root: Path, stop: threading.Event | None = None) -> Iterator[list[Path]]:
    """Each batch of saved campaign files, sorted, as they happen (until `stop` is set)."""
    from watchfiles import watch  # imported here: only watch mode needs it

    root = root.resolve()
    for changes in watch(
        root,
        debounce=DEBOUNCE_MS,
        stop_event=stop,
        watch_filter=lambda _change, name: relevant(root, Path(name)),
        raise_interrupt=False,
    ):
        yield sorted({Path(name) for _change, name in changes})
