"""One letter as Markdown text, for the terminal. Imports nothing of the PDF stage."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from letters import dates
from letters.compose.render import Renderer
from letters.errors import LettersError, LettersErrors
from letters.layout.markdown import letter_markdown
from letters.output.plan import plan
from letters.workspace import Workspace, load_workspace, suggest


def preview(
    root: Path,
    case_id: str,
    recipient_id: str | None,
    template: str | None = None,
    today: dt.date | None = None,
) -> str:
    """The complete Markdown letter that `build --format md` would write."""
    today = today or dates.today()
    workspace, errors = load_workspace(root)
    if errors:
        raise LettersErrors(errors)
    if recipient_id is None:
        raise _choose_recipient(workspace, case_id)
    jobs, errors = plan(workspace, [case_id], [recipient_id], None, window=False)
    if errors:
        raise LettersErrors(errors)
    if template is not None:
        names = sorted({job.template_name for job in jobs})
        jobs = [job for job in jobs if job.template_name == template]
        if not jobs:
            hint = suggest(template, names) or "templates for this recipient: " + ", ".join(names)
            raise LettersError(
                f"{recipient_id!r} gets no letter from template {template!r} in case {case_id!r}",
                workspace.cases[case_id].path,
                hint=hint,
            )
    if not jobs:
        raise LettersError(
            f"{recipient_id!r} gets no letter in case {case_id!r}",
            workspace.cases[case_id].path,
            hint="add the recipient (or one of its tags) to a `to:` list under `letters:`",
        )
    if len(jobs) > 1:
        raise LettersError(
            f"{recipient_id!r} gets several letters in case {case_id!r}",
            workspace.cases[case_id].path,
            hint="choose one with --template: " + ", ".join(job.template_name for job in jobs),
        )
    job = jobs[0]
    recipient = workspace.recipient(job.recipient_id)
    assert recipient is not None
    letter = Renderer(workspace).render(
        workspace.cases[case_id], job.template_name, recipient, job.paper, today
    )
    return letter_markdown(letter)


def _choose_recipient(workspace: Workspace, case_id: str) -> LettersError:
    """The error for a preview without --to: who could be previewed."""
    jobs, errors = plan(workspace, [case_id], [], None, window=False)
    if errors and not jobs:
        return LettersErrors(errors)
    who = [f"{job.recipient_id} ({job.template_name})" for job in jobs]
    shown = ", ".join(who[:20]) + (f" and {len(who) - 20} more" if len(who) > 20 else "")
    return LettersError(
        f"choose whose letter to preview with --to; in case {case_id!r}: {shown}",
        hint=f"e.g. letters preview {case_id} --to {jobs[0].recipient_id}" if jobs else "",
    )
