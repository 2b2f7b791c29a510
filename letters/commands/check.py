"""`letters check`: every problem in a workspace, found in one pass."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from letters import dates
from letters.compose.render import Renderer
from letters.compose.translate import needs_translation
from letters.errors import LettersError, once_per_place
from letters.output.options import BuildOptions
from letters.output.plan import Job, plan
from letters.output.prepare import nothing_to_build
from letters.workspace import Workspace, load_workspace
from letters.workspace.postal import region_problem
from letters.workspace.schema import PostalAddress


@dataclass
class CheckReport:
    recipients: int = 0
    cases: int = 0
    templates: int = 0
    letters: int = 0
    errors: list[LettersError] = field(default_factory=list)
    # Not wrong, but worth a look: letters that use a case's values in another language.
    warnings: list[LettersError] = field(default_factory=list)


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
    failures: list[LettersError] = []
    for job in jobs:
        recipient = workspace.recipient(job.recipient_id)
        assert recipient is not None
        try:
            renderer.render(
                workspace.cases[job.case_id], job.template_name, recipient, job.paper, today
            )
            report.letters += 1
        except LettersError as failure:
            failures.append(failure)
    # A broken template fails for every recipient: each problem once, naming the first.
    report.errors = errors + once_per_place(failures)
    report.warnings = region_warnings(workspace) + translation_warnings(workspace, jobs)
    return report


def region_warnings(workspace: Workspace) -> list[LettersError]:
    """A structured address whose region is none the country's post lists: worth a look,
    not an error (the data is not exhaustive, and the letter prints what you wrote)."""
    warnings = []
    hint = "check the spelling; the post's own name or code for it is the safest"
    for recipient in workspace.recipients:
        address = recipient.address
        problem = isinstance(address, PostalAddress) and region_problem(
            address.country, address.region
        )
        if problem:
            file, line, column = workspace.recipient_line(recipient.id, "address", "region")
            warnings.append(
                LettersError(f"recipient {recipient.id!r}: {problem}", file, line, column, hint)
            )
    for case_file in workspace.cases.values():
        address = case_file.case.sender.address
        problem = isinstance(address, PostalAddress) and region_problem(
            address.country, address.region
        )
        if problem:
            line, column = case_file.located.line_of(("sender", "address", "region"))
            warnings.append(LettersError(f"sender: {problem}", case_file.path, line, column, hint))
    return warnings


def translation_warnings(workspace: Workspace, jobs: list[Job]) -> list[LettersError]:
    """One warning per case and language whose letters fall back to the case's base values
    (written in its `language`) for want of a `translations:` entry in theirs."""
    found: dict[tuple[str, str], list[str]] = {}
    for job in jobs:
        recipient = workspace.recipient(job.recipient_id)
        variants = workspace.templates.get(job.template_name, {})
        if recipient is None or not variants:
            continue
        language = workspace.template_for(job.template_name, recipient.language).language
        if needs_translation(workspace.cases[job.case_id].case, language):
            found.setdefault((job.case_id, language), []).append(job.recipient_id)
    warnings = []
    for (case_id, language), ids in found.items():
        case_file = workspace.cases[case_id]
        line, column = case_file.located.line_of(("translations",), key=True)
        warnings.append(
            LettersError(
                f"{len(ids)} letter(s) in {language!r} ({', '.join(ids[:3])}"
                f"{', ...' if len(ids) > 3 else ''}) use the case's values in "
                f"{case_file.case.language!r}: it has no {language!r} translation",
                case_file.path,
                line,
                column,
                f"add `translations: {language}: {{title: ..., demands: [...]}}` to the case",
            )
        )
    return warnings
