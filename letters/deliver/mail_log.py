"""sent/<case>.jsonl: what `letters send` did with each letter, one JSON record a line.

Owns the records and what they mean for a letter now. Before a message's DATA an *attempt*
(content hash, Message-ID, time) is appended and fsynced; after the server's 250 a *sent*
record with the server's reply; a refusal, or a failure that left the server without the
message, is recorded too. A rerun therefore sends only letters never sent or changed
since; a letter whose attempt has no outcome (the run died between the final "." and the
record) is *uncertain*, and is sent again only when the user asks (`--resend`).

The log lives in the campaign folder, not in out/ (which people delete), so that everyone
who shares the campaign sees what was sent. It is read and written without following
links, and locked while a run sends, so two runs cannot send the same letter at once.
Records of messages redirected to a test address say so and never count as sent.

Each record is signed with the user's trust key (letters.trust), like a manifest
entry: a log that came with a campaign cannot stop a letter from being sent (or mark it
uncertain) with records nobody here made. A team that sends from several machines shares
one key through LETTERS_TRUST_KEY; records it cannot verify are counted, not trusted.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from letters.atomic import Writable
from letters.errors import LettersError
from letters.trust import signature, trust_key, verified

LOG_DIR = "sent"
MAX_LOG_BYTES = 256 * 1024 * 1024
EVENTS = ("attempt", "sent", "refused", "failed")

# What a letter's records say about its current version.
NEW = "new"  # never attempted
CHANGED = "changed"  # an earlier version was sent (or attempted); this one is new
SENT = "sent"  # this version was sent: never again
UNCERTAIN = "uncertain"  # attempted, outcome unknown: sent again only with --resend
REFUSED = "refused"  # the server refused it (5xx): tried again by a rerun
FAILED = "failed"  # known not to have reached the server: tried again by a rerun
PENDING = "pending"  # sent before; whether it changed is known once its PDF is rebuilt
TO_SEND = (NEW, CHANGED, REFUSED, FAILED)


@dataclass
class History:
    """One letter's records (redirected test messages left out), oldest first."""

    records: list[dict[str, Any]] = field(default_factory=list)

    def status(self, content_hash: str | None, body_hash: str = "") -> str:
        """The status of the version with this hash; without it (its PDF is not built
        yet), judged by `body_hash`, the hash of everything else in the message."""
        if content_hash is None:
            tried = [r for r in self.records if r["event"] in ("sent", "attempt")]
            if not tried:
                return NEW
            return PENDING if any(r.get("body_hash") == body_hash for r in tried) else CHANGED
        mine = [record for record in self.records if record["hash"] == content_hash]
        if any(record["event"] == "sent" for record in mine):
            return SENT
        if mine:
            return {"attempt": UNCERTAIN, "refused": REFUSED}.get(mine[-1]["event"], FAILED)
        if any(record["event"] in ("sent", "attempt") for record in self.records):
            return CHANGED
        return NEW

    def last(self, *events: str) -> dict[str, Any] | None:
        """The latest record of one of these kinds."""
        return next((r for r in reversed(self.records) if r["event"] in events), None)


class SentLog:
    """The log of one case: `sent/<case>.jsonl` in the campaign folder `root`."""

    def __init__(self, root: Path, case_id: str) -> None:
        self.folder = Writable(root)
        self.case_id = case_id
        self.path = f"{LOG_DIR}/{case_id}.jsonl"
        self.unreadable: list[int] = []  # line numbers that are not a record
        self.unverified = 0  # records not signed with this user's key: ignored
        self._ends_with_newline: bool | None = None
        self._key = trust_key()[0]

    def read(self) -> dict[str, History]:
        """Every letter's history, by letter key (`template/recipient`)."""
        self.unreadable = []
        self.unverified = 0
        kind = self.folder.kind(self.path)
        if kind == "missing":
            return {}
        text = self.folder.read_text(self.path, MAX_LOG_BYTES)  # refuses a link, with why
        self._ends_with_newline = not text or text.endswith("\n")
        histories: dict[str, History] = {}
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            record = _record(line)
            if record is None:
                self.unreadable.append(number)
            elif not _signed(self._key, self.case_id, record):
                self.unverified += 1
            elif not record.get("redirected_to"):
                histories.setdefault(record["letter"], History()).records.append(record)
        return histories

    def append(self, record: dict[str, Any]) -> None:
        """Add one record durably (fsynced before this returns)."""
        if self._ends_with_newline is None:
            self._ends_with_newline = self._last_byte() in (b"", b"\n")
        signed = {**record, "mac": signature(self._key, self.case_id, record)}
        line = json.dumps(signed, ensure_ascii=False) + "\n"
        if not self._ends_with_newline:
            line = "\n" + line  # a line cut short by a full disk stays on its own
        self.folder.append(self.path, line.encode("utf-8"))
        self._ends_with_newline = True

    def _last_byte(self) -> bytes:
        if self.folder.kind(self.path) == "missing":
            return b""
        with self.folder.open_binary(self.path) as stream:
            size = os.fstat(stream.fileno()).st_size
            if not size:
                return b""
            stream.seek(size - 1)
            return stream.read(1)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the case's log for one run: a second run on it stops at once."""
        self.folder.append(self.path, b"")  # the file to lock, made without following links
        with self.folder.open_binary(self.path) as stream:
            try:
                fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise LettersError(
                    "another `letters send` is sending this case right now",
                    self.folder.path(self.path),
                    hint="wait for it to finish, then run again",
                ) from None
            yield


def _signed(key: bytes, case_id: str, record: dict[str, Any]) -> bool:
    unsigned = {name: value for name, value in record.items() if name != "mac"}
    return verified(key, record.get("mac"), case_id, unsigned)


def _record(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):  # a line nested thousands deep is no record
        return None
    if not isinstance(record, dict):
        return None
    if record.get("event") not in EVENTS:
        return None
    if not all(isinstance(record.get(key), str) for key in ("letter", "hash", "time")):
        return None
    return record


def sent_histories(root: Path, case_id: str) -> dict[str, History]:
    """What was sent of a case, by letter key (for a report of the case)."""
    return SentLog(root, case_id).read()
