"""Which letters a build makes: cases, templates and recipients, in print order."""

from __future__ import annotations

from dataclasses import dataclass

from letters.compose.address import (
    Window,
    campaign_windows,
    too_many_lines_message,
    window_problems,
)
from letters.errors import LettersError
from letters.workspace import CaseFile, Workspace, suggest
from letters.workspace.schema import Recipient


@dataclass(frozen=True)
class Job:
    case_id: str
    template_name: str
    recipient_id: str
    paper: str

    @property
    def key(self) -> str:
        return f"{self.template_name}/{self.recipient_id}"

    @property
    def label(self) -> str:
        """The letter, as messages and records name it: case/template/recipient."""
        return f"{self.case_id}/{self.key}"


def matches(recipient: Recipient, selector: str) -> bool:
    if selector == "all":
        return True
    if selector.startswith("tag:"):
        return selector[4:] in recipient.tags
    return recipient.id == selector


def check_selector(workspace: Workspace, selector: str) -> str:
    """An explanation of why `selector` selects nobody, or "" when it is fine (or when
    recipients.yaml had problems, already reported, that may be why)."""
    if selector == "all" or workspace.recipients_incomplete:
        return ""
    if selector.startswith("tag:"):
        tag = selector[4:]
        if tag in workspace.tags():
            return ""
        hint = suggest(tag, workspace.tags())
        return f"no recipient has the tag {tag!r}" + (f" ({hint})" if hint else "")
    if workspace.recipient(selector):
        return ""
    hint = suggest(selector, [r.id for r in workspace.recipients])
    return f"no recipient has the id {selector!r}" + (f" ({hint})" if hint else "")


def plan_case(
    workspace: Workspace,
    case_file: CaseFile,
    only: list[str],
    default_paper: str | None,
    windows: dict[str, Window] | None = None,
) -> tuple[list[Job], list[LettersError]]:
    """The letters of one case (filtered by `only` selectors), and problems in its rules;
    with `windows`, an address that does not fit its envelope window is one of them."""
    errors: list[LettersError] = []
    # Sets, and each selector once: a case may repeat `all` thousands of times.
    by_template: dict[str, set[str]] = {}
    located = case_file.located
    for index, rule in enumerate(case_file.case.letters):
        if rule.template in workspace.broken_templates and rule.template not in workspace.templates:
            continue
        if rule.template not in workspace.templates:
            hint = suggest(rule.template, list(workspace.templates))
            errors.append(
                located.error(
                    ("letters", index, "template"),
                    f"template {rule.template!r} does not exist in templates/",
                    hint or f"create templates/{rule.template}.md.j2",
                )
            )
            continue
        chosen = by_template.setdefault(rule.template, set())
        seen: set[str] = set()
        for position, selector in enumerate(rule.to):
            if selector in seen:
                continue
            seen.add(selector)
            problem = check_selector(workspace, selector)
            if problem:
                errors.append(
                    located.error(
                        ("letters", index, "to", position),
                        problem,
                        "use a recipient id from recipients.yaml, tag:TAG, or all",
                    )
                )
                continue
            chosen.update(r.id for r in workspace.recipients if matches(r, selector))
    jobs: list[Job] = []
    for template_name, wanted in by_template.items():
        for recipient in workspace.recipients:
            if recipient.id not in wanted:
                continue
            if only and not any(matches(recipient, selector) for selector in only):
                continue
            paper = recipient.paper or case_file.case.paper or default_paper or "a4"
            window = windows and windows[paper]
            too_big = window and _address_problem(workspace, recipient, paper, window, case_file)
            if too_big:
                errors.append(too_big)
                continue
            jobs.append(Job(case_file.id, template_name, recipient.id, paper))
    return jobs, _unique(errors)


def _address_problem(
    workspace: Workspace, recipient: Recipient, paper: str, window: Window, case_file: CaseFile
) -> LettersError | None:
    """The address block against the envelope window, as an error at the address's line."""
    for problem in window_problems(recipient, window, case_file.case):
        file, line, column = workspace.recipient_line(recipient.id, "address", key=True)
        return LettersError(
            f"recipient {recipient.id!r}: {too_many_lines_message(problem, paper)}",
            file,
            line,
            column,
            "shorten the address: join lines, abbreviate, or leave out the job title",
        )
    return None


def _unique(errors: list[LettersError]) -> list[LettersError]:
    seen: set[str] = set()
    result = []
    for error in errors:
        if error.describe() not in seen:
            seen.add(error.describe())
            result.append(error)
    return result


def plan(
    workspace: Workspace,
    case_ids: list[str],
    only: list[str],
    default_paper: str | None,
    *,
    window: bool = True,
) -> tuple[list[Job], list[LettersError]]:
    """Every letter to make for the chosen cases (all cases when none are named). With
    `window`, as for printing, each address must fit its envelope window; Markdown and
    HTML letters never fail on it."""
    windows = campaign_windows(workspace.root) if window else None
    errors: list[LettersError] = []
    for selector in only:
        problem = check_selector(workspace, selector)
        if problem:
            errors.append(LettersError(f"--to {selector}: {problem}"))
    for case_id in case_ids:
        if case_id not in workspace.cases:
            hint = suggest(case_id, list(workspace.cases))
            errors.append(
                LettersError(
                    f"no case {case_id!r} in cases/",
                    workspace.root / "cases",
                    hint=hint or "cases are the file names in cases/ without .yaml",
                )
            )
    jobs: list[Job] = []
    for case_id in case_ids or list(workspace.cases):
        if case_id in workspace.cases:
            case_jobs, case_errors = plan_case(
                workspace, workspace.cases[case_id], only, default_paper, windows
            )
            jobs.extend(case_jobs)
            errors.extend(case_errors)
    return jobs, _unique(errors)
