"""Every file letters reads from a campaign goes through here (writes: letters/atomic.py).

A campaign folder may come from a stranger, so a path inside it is never trusted: a
`Confined` folder opens each component of a path with `openat(O_NOFOLLOW | O_NONBLOCK)`
from its root, so no symbolic link is ever followed (not even one that leads back inside)
and a swap of a link while we read cannot redirect us; it then refuses anything that is not
a regular file (a FIFO would hang a read forever, a device would never end).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from letters.errors import LettersError, WriteError

_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_DIR_FLAGS = _READ_FLAGS | os.O_DIRECTORY
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_APPEND_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1 << 20
COPY_IN_HINT = "letters never follows links inside a campaign folder: copy the file in instead"


def kind_of(mode: int) -> str:
    """A campaigner's word for what a non-regular file is."""
    if stat.S_ISLNK(mode):
        return "a link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


@dataclass(frozen=True)
class Confined:
    """A folder (the workspace, or the output folder) whose files are reached only by
    walking down from it without following links.

    `root` itself is opened normally: it is the folder the user chose (`-C`, `--out`),
    and may be a link. Everything below it may not.
    """

    root: Path

    # -- paths ---------------------------------------------------------------------------

    def parts(self, path: Path | str) -> tuple[str, ...]:
        """The components of `path` below the root; refuses a path that leaves it."""
        candidate = Path(path)
        if candidate.is_absolute():
            try:
                candidate = candidate.relative_to(self.root)
            except ValueError:
                raise LettersError(
                    "this file is outside the campaign folder",
                    path,
                    hint="give a path inside the campaign folder",
                ) from None
        parts = tuple(part for part in candidate.parts if part not in ("", "."))
        if any(part == ".." for part in parts):
            raise LettersError(
                "this path leaves the campaign folder (it contains '..')",
                self.root.joinpath(*parts),
                hint="give a path inside the campaign folder",
            )
        return parts

    def path(self, path: Path | str) -> Path:
        return self.root.joinpath(*self.parts(path))

    # -- walking -------------------------------------------------------------------------

    def _open_root(self) -> int:
        try:
            return os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise LettersError(f"cannot open the folder: {exc.strerror}", self.root) from None

    @contextlib.contextmanager
    def _folder(self, parts: tuple[str, ...], create: bool = False) -> Iterator[int]:
        """A descriptor of the folder `parts` (relative to the root), never through a link."""
        fd = self._open_root()
        try:
            for index, part in enumerate(parts):
                try:
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    try:
                        os.mkdir(part, 0o777, dir_fd=fd)
                    except FileExistsError:
                        pass
                    except OSError as exc:
                        raise WriteError(
                            f"cannot create the folder: {exc.strerror}",
                            self.root.joinpath(*parts[: index + 1]),
                            hint=write_hint(exc),
                        ) from None
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    raise self._refusal(exc, fd, part, parts[: index + 1], folder=True) from None
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)

    def _refusal(
        self, exc: OSError, parent: int, name: str, parts: tuple[str, ...], folder: bool
    ) -> LettersError:
        where = self.root.joinpath(*parts)
        try:
            mode = os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode
        except OSError:
            mode = 0
        if stat.S_ISLNK(mode):
            return LettersError("this is a link; it was not followed", where, hint=COPY_IN_HINT)
        if exc.errno == errno.ENOTDIR or (folder and mode and not stat.S_ISDIR(mode)):
            return LettersError(
                f"expected a folder here, found {kind_of(mode)}",
                where,
                hint="move the file away, or choose another folder",
            )
        return LettersError(f"cannot open: {exc.strerror}", where)

    def _open(self, path: Path | str) -> int:
        """A read descriptor of a regular file, checked with fstat after opening."""
        parts = self.parts(path)
        if not parts:
            raise LettersError("expected a file, found the folder itself", self.root)
        with self._folder(parts[:-1]) as folder:
            try:
                fd = os.open(parts[-1], _READ_FLAGS, dir_fd=folder)
            except FileNotFoundError:
                raise LettersError(
                    "file not found", self.root.joinpath(*parts), hint="check the name"
                ) from None
            except OSError as exc:
                raise self._refusal(exc, folder, parts[-1], parts, folder=False) from None
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            raise LettersError(
                f"expected a regular file, found {kind_of(mode)}",
                self.root.joinpath(*parts),
                hint="replace it with an ordinary file",
            )
        os.set_blocking(fd, True)
        return fd

    # -- reading -------------------------------------------------------------------------

    def kind(self, path: Path | str) -> str:
        """ "file", "folder", "missing", "link" or "other", without following any link."""
        parts = self.parts(path)
        if not parts:
            return "folder"
        try:
            with self._folder(parts[:-1]) as folder:
                mode = os.stat(parts[-1], dir_fd=folder, follow_symlinks=False).st_mode
        except FileNotFoundError:
            return "missing"
        except LettersError as error:
            return "link" if "link" in error.message else "other"
        except OSError:
            return "missing"
        if stat.S_ISREG(mode):
            return "file"
        if stat.S_ISDIR(mode):
            return "folder"
        return "link" if stat.S_ISLNK(mode) else "other"

    def modified(self, path: Path | str) -> int | None:
        """The modification time (ns) of a regular file, or None; links are not followed."""
        parts = self.parts(path)
        try:
            with self._folder(parts[:-1]) as folder:
                info = os.stat(parts[-1], dir_fd=folder, follow_symlinks=False)
        except (OSError, LettersError):
            return None
        return info.st_mtime_ns if stat.S_ISREG(info.st_mode) else None

    def is_file(self, path: Path | str) -> bool:
        return self.kind(path) == "file"

    def require_file(self, path: Path | str) -> None:
        """Raise the reason `path` cannot be read as a regular file, if it cannot."""
        os.close(self._open(path))

    def listdir(self, path: Path | str = "") -> list[str]:
        """Names in a folder (sorted); the folder itself is reached without links."""
        with self._folder(self.parts(path)) as folder:
            return sorted(os.listdir(folder))

    def read_bytes(self, path: Path | str, limit: int | None = None) -> bytes:
        fd = self._open(path)
        with os.fdopen(fd, "rb") as stream:
            if limit is not None and os.fstat(stream.fileno()).st_size > limit:
                raise LettersError(
                    f"file is larger than the limit of {_size(limit)}", self.path(path), 1
                )
            data = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(data) > limit:  # it grew while we read
            raise LettersError(f"file is larger than the limit of {_size(limit)}", self.path(path))
        return data

    def read_text(self, path: Path | str, limit: int | None = None) -> str:
        data = self.read_bytes(path, limit)
        return decode_utf8(data, self.path(path))

    @contextlib.contextmanager
    def open_binary(self, path: Path | str) -> Iterator[BinaryIO]:
        """A read stream (for pikepdf and hashing), opened without following links."""
        with os.fdopen(self._open(path), "rb") as stream:
            yield stream

    def sha256(self, path: Path | str) -> str:
        digest = hashlib.sha256()
        with self.open_binary(path) as stream:
            for block in iter(lambda: stream.read(_CHUNK), b""):
                digest.update(block)
        return digest.hexdigest()

    def walk_links(self, path: Path | str = "") -> list[Path]:
        """Every link or non-regular file below `path` (a folder), found without following
        any: what a build refuses to write among."""
        return self._walk_tree(path)[1]

    def files(self, path: Path | str = "") -> list[Path]:
        """Every regular file below `path` (a folder), sorted; links are not followed."""
        return sorted(self._walk_tree(path)[0])

    def _walk_tree(self, path: Path | str) -> tuple[list[Path], list[Path]]:
        regular: list[Path] = []
        other: list[Path] = []
        kind = self.kind(path)
        if kind != "folder":
            return [], [self.path(path)] if kind in ("link", "other") else []
        parts = self.parts(path)
        with self._folder(parts) as folder:
            self._walk(folder, self.root.joinpath(*parts), regular, other, depth=0)
        return regular, other

    def _walk(
        self, folder: int, where: Path, regular: list[Path], other: list[Path], depth: int
    ) -> None:
        if depth > 64:
            return
        for entry in os.scandir(folder):
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode):
                child = os.open(entry.name, _DIR_FLAGS, dir_fd=folder)
                try:
                    self._walk(child, where / entry.name, regular, other, depth + 1)
                finally:
                    os.close(child)
            elif stat.S_ISREG(mode):
                regular.append(where / entry.name)
            else:
                other.append(where / entry.name)


def decode_utf8(data: bytes, path: Path | str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise LettersError(
            f"file is not valid UTF-8 (byte {exc.start})", path, line, hint="save it as UTF-8"
        ) from None


def _size(limit: int) -> str:
    return f"{limit // 2**20} MB" if limit >= 2**20 else f"{limit // 1024} KB"


def write_hint(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full: free some space, then build again"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "you cannot write there: choose another folder with --out"
    return "check the folder, then build again"


def read_text(path: Path) -> str:
    """A UTF-8 text file the package ships, or a LettersError that says how to fix it."""
    try:
        return decode_utf8(path.read_bytes(), path)
    except OSError as exc:
        raise LettersError(f"cannot read file: {exc.strerror}", path) from None


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """sha256 of a file in a trusted folder (the package's own assets)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()
