"""Print files: every letter of a case in one PDF, in print order, and merge-print for
letters built in shards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from letters.atomic import Writable
from letters.errors import LettersError, LettersErrors
from letters.output.folder import open_output_folder, output_path
from letters.output.inputs import InputHasher
from letters.output.manifest import MANIFEST, Manifest
from letters.output.options import BuildOptions
from letters.output.plan import Job
from letters.output.prepare import prepare
from letters.output.shards import case_ids
from letters.trust import trust_key


def write_case_print_files(
    out: Writable, jobs: list[Job], duplex: bool, manifests: dict[str, Manifest]
) -> list[Path]:
    """print.pdf for each case, in plan order (template order in the case, then recipients)."""
    from letters.output.printing import write_print_files

    written: list[Path] = []
    for case_id in case_ids(jobs):
        files = [
            (job.paper, output_path(out.root, job, "pdf")) for job in jobs if job.case_id == case_id
        ]
        missing = [path for _, path in files if not out.is_file(path)]
        if missing:
            raise LettersError(
                f"{len(missing)} letter(s) of case {case_id!r} have no PDF yet, e.g. "
                f"{missing[0].relative_to(out.root)}",
                out.path(case_id),
                hint="build every shard (or run `letters build --format pdf`) first",
            )
        manifest = manifests[case_id]
        names = write_print_files(out, case_id, files, duplex)
        for stale in ("print.pdf", "print-a4.pdf", "print-letter.pdf"):
            if stale not in names:
                manifest.forget_print_file(stale)
        for name in names:
            manifest.record_print_file(name)
            written.append(out.path(f"{case_id}/{name}"))
        manifest.save()
    return written


def merge_print(root: Path, options: BuildOptions) -> list[Path]:
    """Join the PDFs of a sharded build into print files, in unsharded order.

    Only letters recorded in a manifest this user can verify count as built: shards built on
    other machines must share the key (LETTERS_TRUST_KEY)."""
    workspace, jobs, letters, render_failures = prepare(root, options)
    if render_failures:
        raise LettersErrors([error for _, error in render_failures])
    out_dir = options.output_folder(workspace.root)
    out = open_output_folder(out_dir, case_ids(jobs), create=True)
    key, _ = trust_key()
    hasher = InputHasher(workspace, options)
    problems: list[str] = []
    for case_id in case_ids(jobs):
        names = out.listdir(case_id) if out.kind(case_id) == "folder" else []
        for name in names:
            if name.startswith("failures") and name.endswith(".json"):
                problems.append(f"{case_id}/{name} lists letters that failed")
        recorded = _recorded_outputs(out, case_id, names, key)
        for job, letter in letters:
            if job.case_id != case_id:
                continue
            path = output_path(out_dir, job, "pdf")
            entry = recorded.get(job.key)
            current = hasher.inputs(job, letter, "pdf")
            if entry is None or not out.is_file(path):
                problems.append(f"{path.relative_to(out_dir)} has not been built")
            elif out.sha256(path) != entry.get("sha256") or any(
                entry.get("inputs", {}).get(name) != value
                for name, value in current.items()
                if name != "options"  # the shards' --pdf-variant is theirs to choose
            ):
                problems.append(f"{path.relative_to(out_dir)} is out of date")
    if problems:
        raise LettersError(
            f"{len(problems)} letter(s) are not ready to print, e.g. {problems[0]}",
            out_dir,
            hint="build every shard again (unchanged letters are skipped), then merge-print; "
            "shards built on other machines need the same LETTERS_TRUST_KEY",
        )
    manifests = {case_id: Manifest.read(out, case_id, MANIFEST, key) for case_id in case_ids(jobs)}
    return write_case_print_files(out, jobs, options.duplex, manifests)


def _recorded_outputs(
    out: Writable, case_id: str, names: list[str], key: bytes
) -> dict[str, dict[str, Any]]:
    """The verified PDF entries of every manifest in a case folder (full build's and shards')."""
    recorded: dict[str, dict[str, Any]] = {}
    for name in names:
        if not (name.startswith("manifest") and name.endswith(".json")):
            continue
        manifest = Manifest.read(out, case_id, name, key)
        for letter_key in manifest.entries:
            pdf = manifest.output(letter_key, "pdf")
            if pdf:
                recorded[letter_key] = pdf
    return recorded
