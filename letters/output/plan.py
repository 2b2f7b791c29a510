"""Which letters a build makes: cases, templates and recipients, in print order."""

from __future__ import annotations

from dataclasses import dataclass

from letters.compose.address import text_width_mm
from letters.compose.render import recipient_lines
from letters.errors import LettersError
from letters.workspace import CaseFile, Workspace, suggest
from letters.workspace.schema import Recipient

# What fits the envelope window: DIN 5008 form B gives 6 address lines below the
# return-address zone; a #10 window (7/8 in tall) holds 5 at 10 pt.
MAX_ADDRESS_LINES = {"a4": 6, "letter": 5}
# The default layout's address block: its width and font size (letters/assets/letter.css).
ADDRESS_WIDTH_MM = {"a4": 80.0, "letter": 3.6 * 25.4}
ADDRESS_SIZE_PT = 10.0


@dataclass(frozen=True)
class Job:
    case_id: str
    template_name: str
    recipient_id: str
    paper: str

    @property
    def key(self) -> str:
        return f"{self.template_name}/{self.recipient_id}"


def matches(recipient: Recipient, selector: str) -> bool:
    if selector == "all":
        return True
    if selector.startswith("tag:"):
        return selector[4:] in recipient.tags
    return recipient.id == selector


def check_selector(workspace: Workspace, selector: str) -> str:
    """An explanation of why `selector` selects nobody, or "" when it is fine."""
    if selector == "all":
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
    workspace: Workspace, case_file: CaseFile, only: list[str], default_paper: str | None
) -> tuple[list[Job], list[LettersError]]:
    """The letters of one case (filtered by `only` selectors), and problems in its rules."""
    errors: list[LettersError] = []
    by_template: dict[str, list[str]] = {}
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
        chosen = by_template.setdefault(rule.template, [])
        for position, selector in enumerate(rule.to):
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
            chosen.extend(r.id for r in workspace.recipients if matches(r, selector))
    jobs: list[Job] = []
    for template_name, ids in by_template.items():
        wanted = set(ids)
        for recipient in workspace.recipients:
            if recipient.id not in wanted:
                continue
            if only and not any(matches(recipient, selector) for selector in only):
                continue
            paper = recipient.paper or case_file.case.paper or default_paper or "a4"
            too_big = _address_problem(workspace, recipient, paper)
            if too_big:
                errors.append(too_big)
                continue
            jobs.append(Job(case_file.id, template_name, recipient.id, paper))
    return jobs, _unique(errors)


def _address_problem(workspace: Workspace, recipient: Recipient, paper: str) -> LettersError | None:
    lines = recipient_lines(recipient)
    limit = MAX_ADDRESS_LINES[paper]
    if len(lines) > limit:
        file, line, column = workspace.recipient_line(recipient.id, "address", key=True)
        return LettersError(
            f"recipient {recipient.id!r}: the address has {len(lines)} lines, but the "
            f"{paper.upper() if paper == 'a4' else 'US Letter'} envelope window holds {limit} "
            "(name, title, organisation and address lines together)",
            file,
            line,
            column,
            "shorten the address: join lines or leave out the job title",
        )
    fields = [("name",), ("title",), ("organisation",)] + [
        ("address", i) for i in range(len(recipient.address))
    ]
    name_line = " ".join(part for part in (recipient.honorific, recipient.name) if part)
    values = [name_line, recipient.title, recipient.organisation, *recipient.address]
    for path, value in zip(fields, values, strict=True):
        width = line_too_wide(value, paper)
        if width:
            file, line, column = workspace.recipient_line(recipient.id, *path)
            hint = (
                "split it over two address lines"
                if path[0] == "address"
                else "shorten it (an abbreviation, say), or move part of it into the address"
            )
            return LettersError(
                f"recipient {recipient.id!r}: address line {value!r} prints {width:.0f} mm wide, "
                f"wider than the envelope window ({ADDRESS_WIDTH_MM[paper]:.0f} mm)",
                file,
                line,
                column,
                hint,
            )
    return None


def line_too_wide(text: str, paper: str) -> float:
    """The printed width in mm of an address line too wide for the window, else 0."""
    width = text_width_mm(text, ADDRESS_SIZE_PT)
    return width if width > ADDRESS_WIDTH_MM[paper] else 0.0


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
) -> tuple[list[Job], list[LettersError]]:
    """Every letter to make for the chosen cases (all cases when none are named)."""
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
                workspace, workspace.cases[case_id], only, default_paper
            )
            jobs.extend(case_jobs)
            errors.extend(case_errors)
    return jobs, _unique(errors)
