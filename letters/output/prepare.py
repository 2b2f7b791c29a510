"""The first half of every build: load, plan and render every selected letter in memory."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from letters.compose.letter import Letter
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
    renderer = Renderer(workspace)
    letters: list[tuple[Job, Letter]] = []
    render_errors: list[tuple[Job, LettersError]] = []
    for job in jobs:
        try:
            letters.append((job, render_job(renderer, workspace, job, options.today)))
        except LettersError as error:
            render_errors.append((job, error))
    return workspace, jobs, letters, render_errors


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
