"""out/<case>/post.json: what each envelope and label file was made from, signed by this user.

Envelope and label files are rebuilt only when their inputs change: the recipients' address
lines in print order, the return address, the envelope size or label sheet, `--skip`, the
page as laid out, the fonts and the tool's version. Each file's record carries those hashes,
the hash of the file's bytes, and an HMAC made with the user's trust key
(`letters.trust`), like the manifest's entries: a file that no verified record vouches
for (one that came with a campaign, or was edited) is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from letters import __version__
from letters.atomic import Writable
from letters.errors import LettersError
from letters.fileio import sha256_file
from letters.layout.html import FONTS_CSS
from letters.layout.pdf import PdfOutput
from letters.trust import signature, trust_key, verified

RECORD = "post.json"
MAX_RECORD_BYTES = 4 * 1024 * 1024


@dataclass
class PostFile:
    """One envelope or label file: where it is and what happened to it."""

    path: Path
    status: str  # built | unchanged | new | rebuild (the last two in a dry run)
    kind: str  # "envelopes" or "labels"
    pieces: int  # letters it serves
    reason: str = ""  # why it was (or would be) rebuilt
    pages: int = 0
    warnings: list[str] = field(default_factory=list)


def digest(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fonts_digest() -> str:
    """The packaged fonts and their stylesheet: an input of every envelope and label."""
    folder = FONTS_CSS.parent
    return digest({path.name: sha256_file(path) for path in sorted(folder.iterdir())})


def common_inputs() -> dict[str, str]:
    return {"fonts": fonts_digest(), "tool": digest(__version__)}


class PostRecord:
    """The verified records of one case folder's envelope and label files."""

    def __init__(self, out: Writable, case_id: str, key: bytes) -> None:
        self.out = out
        self.case_id = case_id
        self.key = key
        self.files: dict[str, dict[str, Any]] = {}

    @property
    def path(self) -> str:
        return f"{self.case_id}/{RECORD}"

    @classmethod
    def read(cls, out: Writable, case_id: str) -> PostRecord:
        key, _ = trust_key()
        record = cls(out, case_id, key)
        data: Any = {}
        if out.root.is_dir() and out.kind(record.path) == "file":
            try:
                data = json.loads(out.read_text(record.path, MAX_RECORD_BYTES))
            except (ValueError, RecursionError, LettersError):
                data = {}
        files = data.get("files", {}) if isinstance(data, dict) else {}
        for name, entry in (files if isinstance(files, dict) else {}).items():
            if not isinstance(entry, dict):
                continue
            unsigned = {k: v for k, v in entry.items() if k != "mac"}
            if verified(key, entry.get("mac"), case_id, RECORD, name, unsigned):
                record.files[name] = entry
        return record

    def change(self, name: str, inputs: dict[str, str]) -> str:
        """Why the file must be (re)built: new, what changed, or "unchanged"."""
        entry = self.files.get(name)
        relative = f"{self.case_id}/{name}"
        if entry is None or not self.out.is_file(relative):
            return "new"
        old = entry.get("inputs", {})
        changed = [part for part in inputs if old.get(part) != inputs[part]]
        if changed:
            return ", ".join(f"{part} changed" for part in changed)
        if self.out.sha256(relative) != entry.get("sha256"):
            return "file edited"
        return "unchanged"

    def record(self, name: str, inputs: dict[str, str]) -> None:
        entry: dict[str, Any] = {
            "sha256": self.out.sha256(f"{self.case_id}/{name}"),
            "inputs": inputs,
        }
        entry["mac"] = signature(self.key, self.case_id, RECORD, name, entry)
        self.files[name] = entry
        data = {"format_version": 1, "tool_version": __version__, "files": self.files}
        text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        self.out.write_atomic(self.path, text.encode("utf-8"))


def produce(
    out: Writable,
    case_id: str,
    name: str,
    inputs: dict[str, str],
    make: Callable[[], PdfOutput],
    *,
    kind: str,
    pieces: int,
    force: bool = False,
    dry_run: bool = False,
) -> PostFile:
    """Write `out/<case>/<name>` from `make()` unless a verified record says it is current."""
    record = PostRecord.read(out, case_id)
    path = out.path(f"{case_id}/{name}")
    reason = record.change(name, inputs)
    if reason == "unchanged" and not force:
        return PostFile(path, "unchanged", kind, pieces)
    why = "forced" if reason == "unchanged" else reason
    if dry_run:
        return PostFile(path, "new" if reason == "new" else "rebuild", kind, pieces, why)
    made = make()
    out.write_atomic(f"{case_id}/{name}", made.data)
    record.record(name, inputs)
    return PostFile(path, "built", kind, pieces, why, made.pages, made.warnings)
