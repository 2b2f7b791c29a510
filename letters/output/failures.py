"""failures.json: the letters a build could not make, and why."""

from __future__ import annotations

import contextlib
import json

from letters.atomic import Writable
from letters.errors import LettersError
from letters.output.manifest import MAX_RECORD_BYTES
from letters.output.plan import Job
from letters.output.results import OutputResult

FAILURES = "failures.json"


def failures_name(shard: tuple[int, int] | None) -> str:
    return f"failures.{shard[0]}-of-{shard[1]}.json" if shard else FAILURES


def write_failures(
    out: Writable,
    case_id: str,
    outputs: list[OutputResult],
    name: str,
    partial: bool,
    not_rendered: list[tuple[Job, LettersError]] | None = None,
) -> None:
    """Record the letters that failed, at the template stage ("render") or an output format.

    A partial build (--to) keeps the failures of letters it did not try again; a full build
    (or a shard, in its own file) replaces the list."""
    path = f"{case_id}/{name}"
    not_rendered = not_rendered or []
    tried = {(r.job.template_name, r.job.recipient_id, r.format) for r in outputs}
    # "render" stands for the template stage: tried by every letter this build selected.
    tried |= {(r.job.template_name, r.job.recipient_id, "render") for r in outputs}
    tried |= {(job.template_name, job.recipient_id, "render") for job, _ in not_rendered}
    entries = []
    if partial:
        with contextlib.suppress(LettersError, ValueError, KeyError, TypeError, RecursionError):
            text = out.read_text(path, MAX_RECORD_BYTES) if out.is_file(path) else ""
            old = json.loads(text)["failures"] if text else []
            entries = [
                entry
                for entry in old
                if (entry["template"], entry["recipient"], entry["format"]) not in tried
            ]
    entries += [
        {
            "case": result.job.case_id,
            "template": result.job.template_name,
            "recipient": result.job.recipient_id,
            "format": result.format,
            "letter": result.job.label,
            "error": result.error.message if result.error else "",
            "file": str(result.error.file) if result.error and result.error.file else "",
            "line": result.error.line if result.error else 0,
        }
        for result in outputs
        if result.status == "failed"
    ]
    entries += [
        {
            "case": job.case_id,
            "template": job.template_name,
            "recipient": job.recipient_id,
            "format": "render",
            "letter": job.label,
            "error": error.message,
            "file": str(error.file or ""),
            "line": error.line,
        }
        for job, error in not_rendered
    ]
    if not entries:
        if out.root.is_dir():
            out.unlink(path)
        return
    text = json.dumps({"failures": entries}, indent=2, ensure_ascii=False) + "\n"
    out.write_atomic(path, text.encode("utf-8"))
