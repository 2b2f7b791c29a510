"""Writing files so that a reader never sees half of one, and reading text files."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from letters.errors import LettersError


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A stream to a temporary file beside `path`, renamed into place if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.{writer_tag()}.", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def writer_tag() -> str:
    """Who writes a temporary file: host and process, so that another build sharing the
    folder (a shard on another machine) can tell a live writer from a dead one."""
    return f"{socket.gethostname().replace('.', '_')}-{os.getpid()}"


def is_abandoned(temporary: Path) -> bool:
    """A temporary file whose writer, on this machine, is no longer running."""
    parts = temporary.name.split(".")
    host, _, pid = parts[-3].rpartition("-") if len(parts) >= 4 else ("", "", "")
    if host != socket.gethostname().replace(".", "_") or not pid.isdecimal():
        return False  # another machine's, or not ours: leave it alone
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def write_atomic(path: Path, data: bytes) -> None:
    with atomic_file(path) as stream:
        stream.write(data)


def read_text(path: Path) -> str:
    """A UTF-8 text file, or a LettersError that says how to fix it."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise LettersError(
            f"file is not valid UTF-8 (byte {exc.start})", path, hint="save it as UTF-8"
        ) from None
    except OSError as exc:
        raise LettersError(f"cannot read file: {exc.strerror}", path) from None


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
