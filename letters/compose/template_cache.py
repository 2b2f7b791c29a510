"""Compiled templates kept between runs, so that `preview` and `check` start without
compiling every template again (Jinja's parse, code generation and Python's compile cost
about 3 ms a template here).

What is kept is Python code, so nobody but this user may choose it: each file carries an
HMAC made with the user's trust key (letters/trust.py) over the file's name and contents,
and a file that does not verify is ignored and replaced. The files live in the user's cache
folder (`$XDG_CACHE_HOME/letters/templates`), never in a campaign; they are read without
following links and with a size cap. The name of a file hashes what shapes the code Jinja
generates (the sandbox, its filters and tests, the whitespace options, the loader's
transform, the versions of letters and Jinja) with the template's name and path; Jinja
itself checks the source against the checksum inside, so an edited template is compiled
again.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import stat
import tempfile
from pathlib import Path

import jinja2
from jinja2.bccache import Bucket

from letters import __version__
from letters.trust import cache_dir, trust_key

FILE_LIMIT = 4 * 1024 * 1024  # bytes in one compiled template: far above any real one
FILES_KEPT = 1000  # past this many, the oldest half is removed when another is written
_MAC_SIZE = hashlib.sha256().digest_size


class SignedTemplateCache(jinja2.BytecodeCache):
    """Jinja's bytecode cache, in files signed with the user's key."""

    def __init__(self, folder: Path, key: bytes, fingerprint: str) -> None:
        self.folder = folder
        self.key = key
        self.fingerprint = fingerprint

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        text = f"{self.fingerprint}\0{name}\0{filename or ''}"
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    def _mac(self, bucket_key: str, payload: bytes) -> bytes:
        return hmac.new(self.key, bucket_key.encode("ascii") + b"\0" + payload, "sha256").digest()

    def load_bytecode(self, bucket: Bucket) -> None:
        data = _read_own_file(self.folder / bucket.key)
        if data is None or len(data) <= _MAC_SIZE:
            return
        mac, payload = data[:_MAC_SIZE], data[_MAC_SIZE:]
        if hmac.compare_digest(mac, self._mac(bucket.key, payload)):
            bucket.bytecode_from_string(payload)

    def dump_bytecode(self, bucket: Bucket) -> None:
        payload = bucket.bytecode_to_string()
        if len(payload) + _MAC_SIZE > FILE_LIMIT:
            return
        # A cache that cannot be written (read-only home, full disk) only costs time.
        with contextlib.suppress(OSError):
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            _prune(self.folder)
            descriptor, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            try:
                with os.fdopen(descriptor, "wb") as stream:
                    stream.write(self._mac(bucket.key, payload) + payload)
                os.replace(temporary, self.folder / bucket.key)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise


def _read_own_file(path: Path) -> bytes | None:
    """The bytes of a regular file this user owns, opened without following a link; None
    for anything else (missing, a link, a FIFO, too large, unreadable)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as stream:
        status = os.fstat(stream.fileno())
        if not stat.S_ISREG(status.st_mode) or status.st_uid != os.getuid():
            return None
        if status.st_size > FILE_LIMIT:
            return None
        try:
            return stream.read(FILE_LIMIT + 1)
        except OSError:
            return None


def _prune(folder: Path) -> None:
    """Keep the folder bounded: tests and short-lived campaign folders leave templates
    that are never seen again."""
    entries = list(os.scandir(folder))
    if len(entries) < FILES_KEPT:
        return
    entries.sort(key=lambda entry: entry.stat(follow_symlinks=False).st_mtime)
    for entry in entries[: len(entries) // 2]:
        with contextlib.suppress(OSError):
            os.unlink(entry.path)


def fingerprint(environment: jinja2.Environment) -> str:
    """What, besides a template's text, decides the code Jinja makes of it."""
    parts = [
        __version__,
        jinja2.__version__,
        type(environment).__qualname__,
        type(environment.loader).__qualname__,
        getattr(environment.finalize, "__qualname__", repr(environment.finalize)),
        repr(
            (
                environment.sandboxed,
                environment.trim_blocks,
                environment.lstrip_blocks,
                environment.keep_trailing_newline,
                environment.newline_sequence,
                environment.optimized,
                environment.autoescape,
                sorted(environment.filters),
                sorted(environment.tests),
                sorted(environment.extensions),
                sorted(getattr(environment, "intercepted_binops", ())),
                sorted(getattr(environment, "intercepted_unops", ())),
            )
        ),
    ]
    return "\0".join(parts)


def use_template_cache(environment: jinja2.Environment) -> None:
    """Keep `environment`'s compiled templates in the user's cache folder, unless the
    user's key is only temporary (then a file written now could never be verified)."""
    key, problem = trust_key()
    if problem:
        return
    folder = cache_dir() / "templates"
    environment.bytecode_cache = SignedTemplateCache(folder, key, fingerprint(environment))
