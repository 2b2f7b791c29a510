"""The first half of every build: load, plan and render every selected letter in memory."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from letters.compose.letter import Letter, SenderBlock
from letters.compose.render import Renderer
from letters.errors import LettersError, LettersErrors
from letters.output.options import BuildOptions
from letters.output.plan import Job, plan
from letters.output.shards import in_shard
from letters.workspace import Workspace, load_workspace


def prepare(
    root: Path, options: BuildOptions
) -> tuple[Workspace, list[Job], list[tuple[Job, Letter]], list[tuple[Job, LettersError]]]:
    """Load, plan and render every selected letter in memory; collect every problem."""
    workspace, jobs = planned(root, options)
    letters: list[tuple[Job, Letter]] = []
    render_errors: list[tuple[Job, LettersError]] = []
    for job, letter in composed(workspace, jobs, options.today):
        if isinstance(letter, LettersError):
            render_errors.append((job, letter))
        else:
            letters.append((job, letter))
    return workspace, jobs, letters, render_errors


def planned(root: Path, options: BuildOptions) -> tuple[Workspace, list[Job]]:
    """The workspace and the letters `options` select, or every problem that stops them."""
    workspace, errors = load_workspace(root)
    if errors:
        # Planning on a half-loaded workspace would only add echoes of the same problems.
        raise LettersErrors(errors)
    jobs, errors = plan(
        workspace,
        list(options.cases),
        list(options.to),
        options.paper,
        window="pdf" in options.formats,
    )
    if errors:
        raise LettersErrors(errors)
    if not jobs:
        raise nothing_to_build(workspace, options)
    if options.shard:
        # An empty shard is fine: a CI matrix may have more slices than letters.
        jobs = [job for job in jobs if in_shard(job, options.shard)]
    return workspace, jobs


def composed(
    workspace: Workspace, jobs: list[Job], today: dt.date, renderer: Renderer | None = None
) -> Iterator[tuple[Job, Letter | LettersError]]:
    """Each job's letter, or the problem that stops it, one at a time."""
    renderer = renderer or Renderer(workspace)
    for job in jobs:
        try:
            yield job, render_job(renderer, workspace, job, today)
        except LettersError as error:
            yield job, error


@dataclass(frozen=True)
class LetterFacts:
    """What a build needs of a composed letter before it writes it: what its inputs' hash
    reads. The build composes the letter again when it writes it, so however many letters
    a campaign has, their text is in memory one at a time (a letter is a few kilobytes)."""

    template_file: Path | None
    date: dt.date
    sender: SenderBlock
    language: str
    digest: str  # of the whole letter as checked: what is written must be the same

    @classmethod
    def of(cls, letter: Letter) -> LetterFacts:
        return cls(
            letter.template_file, letter.date, letter.sender, letter.language, letter_digest(letter)
        )


def letter_digest(letter: Letter) -> str:
    """A hash of every field of `letter` (a dataclass of plain values: its repr is stable)."""
    return hashlib.sha256(repr(letter).encode("utf-8")).hexdigest()


def render_job(renderer: Renderer, workspace: Workspace, job: Job, today: dt.date) -> Letter:
    recipient = workspace.recipient(job.recipient_id)
    assert recipient is not None
    return renderer.render(
        workspace.cases[job.case_id], job.template_name, recipient, job.paper, today
    )


def nothing_to_build(workspace: Workspace, options: BuildOptions) -> LettersError:
    """Why a campaign or a selection yields no letter (a build of nothing is no success)."""
    if not workspace.recipients:
        return LettersError(
            "there is nothing to build: recipients.yaml lists nobody",
            workspace.root / "recipients.yaml",
            hint="add recipients under `recipients:`, or import them with `letters import`",
        )
    if options.to:
        chosen = ", ".join(options.to)
        cases = ", ".join(options.cases) if options.cases else "any case"
        return LettersError(
            f"there is nothing to build: --to {chosen} selects nobody who gets a letter in {cases}",
            hint="`letters list` shows who gets which letter",
        )
    return LettersError(
        "there is nothing to build: no `to:` list in the cases selects a recipient",
        workspace.root / "cases",
        hint="add recipient ids, tag:TAG or all to a `to:` list under `letters:`",
    )
