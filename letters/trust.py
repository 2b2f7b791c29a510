"""Which built letters this user may trust: manifest entries signed with the user's own key
(and the user's own folders: its config and its cache).

An `out/` folder can arrive with a campaign, its PDFs made by another template and its
manifest claiming they match. So a build trusts a manifest entry (a letter counts as
"unchanged", a PDF goes into the print file) only if it carries an HMAC made with a key the
campaign cannot see: `$XDG_CONFIG_HOME/letters/manifest.key` (default `~/.config/letters/`),
created on first use, readable only by its owner. Shards built on other machines share a key
through the `LETTERS_TRUST_KEY` environment variable instead.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import os
import secrets
import stat
import tempfile
from pathlib import Path
from typing import Any

KEY_ENVIRONMENT = "LETTERS_TRUST_KEY"
KEY_FILE = "manifest.key"


def _user_folder(variable: str, default: str) -> Path:
    """`$XDG_…` when it names an absolute path, else `~/<default>`. A relative value is
    ignored, as the XDG spec says: it would name a folder inside the one letters runs in,
    which may be a stranger's campaign bringing a key and files of its own."""
    base = os.environ.get(variable, "").strip()
    return Path(base) if os.path.isabs(base) else Path.home() / default


def config_dir() -> Path:
    return _user_folder("XDG_CONFIG_HOME", ".config") / "letters"


def cache_dir() -> Path:
    """The user's cache folder for letters (font maps, compiled templates): never a
    campaign's, and safe to delete."""
    return _user_folder("XDG_CACHE_HOME", ".cache") / "letters"


def read_cache_file(path: Path, limit: int) -> bytes | None:
    """The bytes of a file in the user's cache folder, if it is a regular file this user
    owns, of at most `limit` bytes, opened without following a link; None for anything else
    (missing, a link, a folder, a FIFO, someone else's, too large, unreadable): the caller
    then makes the contents afresh, as if nothing had been kept."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode) or status.st_uid != os.getuid():
            return None
        if status.st_size > limit:
            return None
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(descriptor, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError:
        return None
    finally:
        os.close(descriptor)
    return b"".join(chunks) if size <= limit else None


def write_cache_file(path: Path, data: bytes) -> None:
    """Put `data` at `path` in the user's cache folder whole or not at all: written to a new
    temporary file beside it (never through a link), then renamed over it. Folders it makes
    on the way are readable by this user alone (an existing one is left as it is). Raises
    OSError (a full disk, a read-only home)."""
    _make_private_folders(path.parent)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _make_private_folders(folder: Path) -> None:
    """`folder` and any missing parent, each made mode 0700 (`Path.mkdir` gives its mode to
    the last folder only)."""
    missing = []
    while not os.path.lexists(folder) and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    for each in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(each, 0o700)


@functools.cache
def _key(shared: str, path: Path) -> tuple[bytes, str]:
    """(key, problem): the shared key, else the user's key file, created if missing.

    When the key file cannot be kept (a read-only home), the key lives for this process
    only and `problem` says why: every build is then a full build, never a trusting one.
    """
    if shared:
        return hashlib.sha256(shared.encode("utf-8")).digest(), ""
    try:
        return _read_key(path), ""
    except FileNotFoundError:
        pass
    except OSError as exc:
        return secrets.token_bytes(32), f"cannot read the trust key {path}: {exc.strerror}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as stream:
            # The one file not made by the umask: it is a secret.
            os.fchmod(stream.fileno(), 0o600)
            stream.write(secrets.token_hex(32) + "\n")
        return _read_key(path), ""
    except FileExistsError:
        return _read_key(path), ""  # another build created it first
    except OSError as exc:
        return secrets.token_bytes(32), f"cannot keep the trust key {path}: {exc.strerror}"


def _read_key(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "r", encoding="ascii") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise OSError(0, "not a regular file")
        text = stream.read(200).strip()
    if len(text) < 32:
        raise OSError(0, "the key file is damaged (delete it to make a new one)")
    return text.encode("ascii")


def trust_key() -> tuple[bytes, str]:
    """The key that signs and verifies manifest entries, and a warning if it is temporary."""
    return _key(os.environ.get(KEY_ENVIRONMENT, ""), config_dir() / KEY_FILE)


def local_key() -> tuple[bytes, str]:
    """The key of this user on this machine alone, never the team's `LETTERS_TRUST_KEY`:
    for what only this machine writes and reads back, such as compiled templates (code,
    which a shared key must not let anyone else choose)."""
    return _key("", config_dir() / KEY_FILE)


def signature(key: bytes, *parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def verified(key: bytes, mark: Any, *parts: Any) -> bool:
    return isinstance(mark, str) and hmac.compare_digest(mark, signature(key, *parts))
