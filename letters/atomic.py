"""Writing files inside a folder without following links, so that a reader never sees half
of one: a temporary file renamed into place. New files follow the umask; a file that is
replaced keeps its mode (a colleague on a shared drive keeps access).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from letters.errors import LettersError, WriteError
from letters.fileio import Confined, kind_of, write_hint

_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_APPEND_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC


class Writable(Confined):
    """A `Confined` folder letters may write in: the output folder, or the workspace when
    `letters import` updates recipients.yaml."""

    # -- writing -------------------------------------------------------------------------

    @contextlib.contextmanager
    def atomic_stream(self, path: Path | str) -> Iterator[BinaryIO]:
        """A stream to a temporary file beside `path`, renamed into place if the block
        succeeds; nothing is left behind if it fails."""
        parts = self.parts(path)
        target = self.root.joinpath(*parts)
        with self._folder(parts[:-1], create=True) as folder:
            mode = self._mode_to_keep(folder, parts)
            temporary = f".{parts[-1]}.{writer_tag()}.{secrets.token_hex(4)}.tmp"
            try:
                fd = os.open(temporary, _NEW_FILE_FLAGS, 0o666, dir_fd=folder)
            except OSError as exc:
                raise WriteError(
                    f"cannot write: {exc.strerror}", target, hint=write_hint(exc)
                ) from None
            try:
                with os.fdopen(fd, "wb") as stream:
                    if mode is not None:
                        os.fchmod(stream.fileno(), mode)
                    yield stream
                    stream.flush()
                    os.fsync(stream.fileno())
                os.replace(temporary, parts[-1], src_dir_fd=folder, dst_dir_fd=folder)
            except BaseException as exc:
                with contextlib.suppress(OSError):
                    os.unlink(temporary, dir_fd=folder)
                if isinstance(exc, OSError):
                    raise WriteError(
                        f"cannot write: {exc.strerror}", target, hint=write_hint(exc)
                    ) from None
                raise

    def _mode_to_keep(self, folder: int, parts: tuple[str, ...]) -> int | None:
        """The permission bits of the file being replaced, or None for a new file (umask)."""
        try:
            existing = os.stat(parts[-1], dir_fd=folder, follow_symlinks=False)
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(existing.st_mode):
            raise LettersError(
                "this is a link; letters does not write through links",
                self.root.joinpath(*parts),
                hint="delete the link, then build again",
            )
        if not stat.S_ISREG(existing.st_mode):
            raise WriteError(
                f"cannot write here: this is {kind_of(existing.st_mode)}",
                self.root.joinpath(*parts),
                hint="move it away, then build again",
            )
        return stat.S_IMODE(existing.st_mode)

    def write_atomic(self, path: Path | str, data: bytes) -> None:
        with self.atomic_stream(path) as stream:
            stream.write(data)

    def append(self, path: Path | str, data: bytes) -> None:
        """Append to a file (created if missing), durably: used for the build journal."""
        parts = self.parts(path)
        target = self.root.joinpath(*parts)
        with self._folder(parts[:-1], create=True) as folder:
            try:
                fd = os.open(parts[-1], _APPEND_FLAGS | os.O_NONBLOCK, 0o666, dir_fd=folder)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise self._refusal(exc, folder, parts[-1], parts, folder=False) from None
                raise WriteError(
                    f"cannot write: {exc.strerror}", target, hint=write_hint(exc)
                ) from None
            try:
                mode = os.fstat(fd).st_mode
                if not stat.S_ISREG(mode):
                    raise LettersError(
                        f"expected a regular file, found {kind_of(mode)}",
                        target,
                        hint="delete it, then build again",
                    )
                os.write(fd, data)
                os.fsync(fd)
            except OSError as exc:
                raise WriteError(
                    f"cannot write: {exc.strerror}", target, hint=write_hint(exc)
                ) from None
            finally:
                os.close(fd)

    def unlink(self, path: Path | str) -> bool:
        """Delete a file (a link itself, never its target); False if it was not there."""
        parts = self.parts(path)
        try:
            with self._folder(parts[:-1]) as folder:
                os.unlink(parts[-1], dir_fd=folder)
        except FileNotFoundError:
            return False
        except IsADirectoryError:
            raise WriteError("cannot delete: this is a folder", self.path(path)) from None
        except OSError as exc:
            raise WriteError(f"cannot delete: {exc.strerror}", self.path(path)) from None
        return True


def writer_tag() -> str:
    """Who writes a temporary file: host and process, so that another build sharing the
    folder (a shard on another machine) can tell a live writer from a dead one."""
    return f"{socket.gethostname().replace('.', '_')}-{os.getpid()}"


def is_abandoned(temporary: Path) -> bool:
    """A temporary file whose writer, on this machine, is no longer running."""
    parts = temporary.name.split(".")
    host, _, pid = parts[-3].rpartition("-") if len(parts) >= 5 else ("", "", "")
    if host != socket.gethostname().replace(".", "_") or not pid.isdecimal() or len(pid) > 9:
        return False  # another machine's, or not ours (no pid is that long): leave it alone
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(int(pid))


def _is_zombie(pid: int) -> bool:
    """A process that has exited but was not reaped (a killed build's worker, adopted by a
    PID 1 that never reaps, as in some containers): it writes nothing any more."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stream:
            return stream.read().rpartition(")")[2].split()[:1] == ["Z"]
    except OSError:
        return False


def write_beside(root: Path, path: Path, data: bytes) -> Path:
    """Write a file the user named (`letters report --output`): inside the campaign folder
    `root` by walking down from it without following links (the campaign could ship a link
    named like the report), elsewhere in the folder the user chose (never through a link
    as the file itself). Returns where it was written."""
    try:
        relative = path.relative_to(root)
    except ValueError:
        Writable(path.parent).write_atomic(path.name, data)
        return path
    Writable(root).write_atomic(relative, data)
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Replace one file atomically (its folder is trusted: the user named it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Writable(path.parent).write_atomic(path.name, data)


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A stream that replaces `path` atomically (its folder is trusted: the user named it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with Writable(path.parent).atomic_stream(path.name) as stream:
        yield stream
