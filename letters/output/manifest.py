"""out/<case>/manifest.json: what each built letter was made from, signed by this user.

For every output the manifest keeps the hashes of its inputs and of its bytes, so a rebuild
writes only what changed. Each finished output is also appended at once to
manifest.json.journal, so that a build killed halfway (even with kill -9) loses nothing it
finished; the next read replays the journal, and a save folds it into the manifest.

Every entry and journal line carries an HMAC made with the user's trust key (letters.trust):
an entry that does not verify (a manifest that came with a campaign, or was edited) is
ignored, so its letter is rebuilt, and a print file no verified entry vouches for is deleted.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from letters import __version__
from letters.atomic import Writable
from letters.errors import LettersError
from letters.fileio import Confined
from letters.trust import signature, verified

MANIFEST = "manifest.json"
# A manifest holds about 1 KB a letter; a larger file (a sparse one shipped in out/, say)
# is not read at all, so its letters are rebuilt.
MAX_RECORD_BYTES = 64 * 1024 * 1024
PRINT_FILE_PREFIX = "print"


class Manifest:
    """The manifest of one case folder in the output folder `out` (a Writable root)."""

    def __init__(self, out: Writable, case_id: str, name: str, key: bytes) -> None:
        self.out = out
        self.case_id = case_id
        self.name = name
        self.key = key
        self.entries: dict[str, Any] = {}
        self.print_files: dict[str, Any] = {}
        self.dirty = False

    # -- where things are ----------------------------------------------------------------

    @property
    def path(self) -> str:
        return f"{self.case_id}/{self.name}"

    @property
    def journal(self) -> str:
        return f"{self.path}.journal"

    def relative(self, path: Path) -> str:
        """An output's path as the manifest records it: relative to the case folder."""
        return "/".join(self.out.parts(path)[1:])

    # -- reading -------------------------------------------------------------------------

    @classmethod
    def read(cls, out: Writable, case_id: str, name: str, key: bytes) -> Manifest:
        """The verified part of a manifest (and its journal); a missing one is empty."""
        manifest = cls(out, case_id, name, key)
        data = manifest._json(manifest.path)
        letters = data.get("letters", {}) if isinstance(data, dict) else {}
        for letter_key, entry in (letters if isinstance(letters, dict) else {}).items():
            if not isinstance(entry, dict):
                continue
            for fmt, output in dict(entry.get("outputs", {})).items():
                manifest._adopt(letter_key, entry, fmt, output)
        prints = data.get("print_files", {}) if isinstance(data, dict) else {}
        for file_name, record in (prints if isinstance(prints, dict) else {}).items():
            if isinstance(record, dict) and verified(
                key, record.get("mac"), case_id, file_name, record.get("sha256")
            ):
                manifest.print_files[file_name] = record
        manifest.replay_journal()
        return manifest

    def _json(self, relative: str) -> Any:
        if not self.out.root.is_dir() or self.out.kind(relative) != "file":
            return {}
        try:
            return json.loads(self.out.read_text(relative, MAX_RECORD_BYTES))
        except (ValueError, RecursionError, LettersError):
            return {}

    def _adopt(self, letter_key: str, entry: dict[str, Any], fmt: str, output: Any) -> bool:
        """Take one output record if its signature verifies."""
        if not isinstance(output, dict) or not isinstance(fmt, str):
            return False
        paper = entry.get("paper")
        unsigned = {k: v for k, v in output.items() if k != "mac"}
        if not verified(
            self.key, output.get("mac"), self.case_id, letter_key, fmt, paper, unsigned
        ):
            return False
        kept = self.entries.setdefault(
            letter_key,
            {"template": entry.get("template"), "recipient": entry.get("recipient")},
        )
        kept["paper"] = paper
        kept.setdefault("outputs", {})[fmt] = output
        return True

    def _journal_lines(self) -> list[str]:
        if not self.out.root.is_dir() or self.out.kind(self.journal) != "file":
            return []
        try:
            return self.out.read_text(self.journal, MAX_RECORD_BYTES).splitlines()
        except LettersError:
            return []

    def replay_journal(self) -> None:
        for line in self._journal_lines():
            try:
                record = json.loads(line)
                entry = {k: record[k] for k in ("template", "recipient", "paper")}
                adopted = self._adopt(record["key"], entry, record["format"], record["output"])
            except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
                continue  # the line a kill cut short
            self.dirty = self.dirty or adopted

    # -- judging -------------------------------------------------------------------------

    def output(self, letter_key: str, fmt: str) -> dict[str, Any] | None:
        found = self.entries.get(letter_key, {}).get("outputs", {}).get(fmt)
        return found if isinstance(found, dict) else None

    def change(
        self,
        letter_key: str,
        fmt: str,
        inputs: dict[str, str],
        path: Path,
        resource_digest: Callable[[str], str],
    ) -> str:
        """Why this output must be (re)built: new, data/template/... changed, or unchanged."""
        entry = self.output(letter_key, fmt)
        if not entry or not self.out.is_file(path):
            return "new"
        old = entry.get("inputs", {})
        changed = [name for name in inputs if old.get(name) != inputs[name]]
        if changed:
            return ", ".join(f"{name} changed" for name in changed)
        if self.out.sha256(path) != entry.get("sha256"):
            return "output file edited"
        for name, digest in entry.get("resources", {}).items():
            if resource_digest(name) != digest:
                return f"{name} changed"
        return "unchanged"

    # -- writing -------------------------------------------------------------------------

    def record(
        self,
        letter_key: str,
        names: tuple[str, str],
        paper: str,
        fmt: str,
        path: Path,
        inputs: dict[str, str],
        resources: dict[str, str],
        sha256: str = "",
    ) -> None:
        """Note a finished output, signed, and append it to the journal at once (`sha256`
        of its bytes when the writer knows it; else the file is read)."""
        template, recipient = names
        output: dict[str, Any] = {
            "file": self.relative(path),
            "sha256": sha256 or self.out.sha256(path),
            "inputs": inputs,
            # Wall-clock time of the build, for `letters report` (never part of a PDF's bytes);
            # signed with the rest. Entries written before it existed simply lack it.
            "built_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if resources:
            output["resources"] = resources
        output["mac"] = signature(self.key, self.case_id, letter_key, fmt, paper, output)
        entry = self.entries.setdefault(
            letter_key, {"template": template, "recipient": recipient, "outputs": {}}
        )
        entry["paper"] = paper
        entry.setdefault("outputs", {})[fmt] = output
        self.dirty = True
        line = {
            "key": letter_key,
            "template": template,
            "recipient": recipient,
            "paper": paper,
            "format": fmt,
            "output": output,
        }
        self.out.append(self.journal, (json.dumps(line, ensure_ascii=False) + "\n").encode())

    def record_print_file(self, file_name: str) -> None:
        digest = self.out.sha256(f"{self.case_id}/{file_name}")
        self.print_files[file_name] = {
            "sha256": digest,
            "mac": signature(self.key, self.case_id, file_name, digest),
        }
        self.dirty = True

    def remove_untrusted_print_files(self) -> list[Path]:
        """Delete print files no verified record vouches for (they may hold letters made
        elsewhere, from templates nobody here reviewed)."""
        removed: list[Path] = []
        if not self.out.root.is_dir() or self.out.kind(self.case_id) != "folder":
            return removed
        for name in self.out.listdir(self.case_id):
            if not (name.startswith(PRINT_FILE_PREFIX) and name.endswith(".pdf")):
                continue
            relative = f"{self.case_id}/{name}"
            record = self.print_files.get(name)
            if record is None or self.out.sha256(relative) != record.get("sha256"):
                self.out.unlink(relative)
                self.print_files.pop(name, None)
                self.dirty = True
                removed.append(self.out.path(relative))
        return removed

    def forget_print_file(self, file_name: str) -> None:
        if self.print_files.pop(file_name, None) is not None:
            self.dirty = True

    def prune(self, keep: set[str]) -> list[Path]:
        """Forget letters no longer planned (recipient removed) and delete their files."""
        removed: list[Path] = []
        for letter_key in [k for k in self.entries if k not in keep]:
            for output in self.entries[letter_key].get("outputs", {}).values():
                relative = f"{self.case_id}/{output.get('file', '')}"
                if self.out.is_file(relative) and self.out.unlink(relative):
                    removed.append(self.out.path(relative))
            del self.entries[letter_key]
            self.dirty = True
        return removed

    def save(self) -> None:
        if not self.dirty:
            return
        data = {
            "format_version": 1,
            "tool_version": __version__,
            "letters": self.entries,
            "print_files": self.print_files,
        }
        with self.out.atomic_stream(self.path) as stream:
            # Streamed: the manifest of thousands of letters is never one string in memory
            # (json.dumps joins half a million pieces: about 20 MB at 5,000 letters).
            text = io.TextIOWrapper(stream, encoding="utf-8", newline="\n")
            try:
                json.dump(data, text, indent=2, ensure_ascii=False, sort_keys=True)
                text.write("\n")
                text.flush()
            finally:
                text.detach()
        self.out.unlink(self.journal)
        self.dirty = False


@cache
def _cached_digest(confined: Confined, relative: str, modified: int) -> str:
    return confined.sha256(relative)


def file_digest(confined: Confined, relative: str) -> str:
    """sha256 of a campaign file, once per version of it in this process; "" if missing,
    a link or not a regular file (it is then refused where it is used)."""
    modified = confined.modified(relative)
    if modified is None:
        return ""
    return _cached_digest(confined, relative, modified)
