"""`letters check`: every problem in a workspace, found in one pass."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from letters import dates
from letters.compose.render import Renderer
from letters.errors import LettersError, each_error
from letters.output.options import BuildOptions
from letters.output.plan import plan
from letters.output.prepare import nothing_to_build
from letters.workspace import load_workspace


@dataclass
class CheckReport:
    recipients: int = 0
    cases: int = 0
    templates: int = 0
    letters: int = 0
    errors: list[LettersError] = field(default_factory=list)


def check(root: Path, today: dt.date | None = None) -> CheckReport:
    """Validate every file, plan every case and render every letter in memory."""
    today = today or dates.today()
    workspace, errors = load_workspace(root)
    report = CheckReport(
        recipients=len(workspace.recipients),
        cases=len(workspace.cases),
        templates=sum(len(variants) for variants in workspace.templates.values()),
    )
    jobs, plan_errors = plan(workspace, [], [], None)
    errors.extend(plan_errors)
    if not jobs and not errors:
        errors.append(nothing_to_build(workspace, BuildOptions()))
    renderer = Renderer(workspace)
    seen: set[tuple[str, int, str]] = set()
    for job in jobs:
        recipient = workspace.recipient(job.recipient_id)
        assert recipient is not None
        try:
            renderer.render(
                workspace.cases[job.case_id], job.template_name, recipient, job.paper, today
            )
            report.letters += 1
        except LettersError as failure:
            # A broken template fails for every recipient: report it once, naming the first.
            for error in each_error(failure):
                where = (str(error.file), error.line, error.message)
                if where not in seen:
                    seen.add(where)
                    errors.append(error)
    report.errors = errors
    return report
