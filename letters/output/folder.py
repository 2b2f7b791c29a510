"""The output folder: where each letter goes, and the checks before anything is written."""

from __future__ import annotations

from pathlib import Path

from letters.atomic import Writable, is_abandoned
from letters.errors import LettersError, LettersErrors, WriteError
from letters.output.plan import Job


def output_path(out_dir: Path, job: Job, fmt: str) -> Path:
    return out_dir / job.case_id / job.template_name / f"{job.recipient_id}.{fmt}"


def open_output_folder(out_dir: Path, case_ids: list[str], create: bool) -> Writable:
    """The output folder, checked before anything is written into it.

    `out_dir` itself may be a link the user chose with --out; below it, a link or any other
    file that is not a regular one (a FIFO where the journal goes) is refused, naming it:
    a campaign could ship `out/<case>/manifest.json.journal` as a link to a file elsewhere.
    """
    if create:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WriteError(
                f"cannot create the output folder: {exc.strerror}",
                out_dir,
                hint="choose another folder with --out",
            ) from None
    elif not out_dir.is_dir():
        return Writable(out_dir)
    if not out_dir.is_dir():
        raise WriteError("the output folder is a file, not a folder", out_dir)
    out = Writable(out_dir)
    problems: list[LettersError] = []
    for case_id in case_ids:
        kind = out.kind(case_id)
        if kind in ("file", "other"):
            raise WriteError(
                f"{case_id} in the output folder is a file, not a folder",
                out.path(case_id),
                hint="move it away, then build again",
            )
        problems += [
            LettersError(
                "a link (or another file that is not a regular one) in the output folder",
                path,
                hint="delete it: letters never writes through links",
            )
            for path in out.walk_links(case_id)
        ]
    if problems:
        raise LettersErrors(problems)
    return out


def remove_stale_temporaries(out: Writable, case_id: str) -> None:
    """Delete temporary files a killed build left behind (finished files are never torn).

    Builds may share the folder (shards), so only files of writers that have stopped go.
    """
    if out.kind(case_id) != "folder":
        return
    for path in out.files(case_id):
        if path.name.startswith(".") and path.name.endswith(".tmp") and is_abandoned(path):
            out.unlink(path)
