"""`letters list`: the cases, templates and letters of a workspace, as rows of text."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from letters.errors import LettersErrors
from letters.output.plan import plan
from letters.workspace import load_workspace


@dataclass
class Table:
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)
    whole: tuple[str, ...] = ("case", "template", "recipient", "file")  # never wrapped


def listing(root: Path) -> list[Table]:
    """Three tables: cases (with their letter counts), templates and who gets which letter."""
    workspace, errors = load_workspace(root)
    if errors:
        raise LettersErrors(errors)
    jobs, errors = plan(workspace, [], [], None, window=False)
    if errors:
        raise LettersErrors(errors)
    cases = Table("Cases", ("case", "title", "date", "letters"))
    for case_id, case_file in workspace.cases.items():
        count = sum(1 for job in jobs if job.case_id == case_id)
        date = case_file.case.date.isoformat() if case_file.case.date else "(today)"
        cases.rows.append((case_id, case_file.case.title, date, str(count)))
    templates = Table("Templates", ("template", "language", "file", "subject"))
    for name, variants in workspace.templates.items():
        for template in variants.values():
            templates.rows.append((name, template.language, template.path.name, template.subject))
    letters = Table("Letters", ("case", "template", "recipient", "name", "language", "paper"))
    for job in jobs:
        recipient = workspace.recipient(job.recipient_id)
        assert recipient is not None
        variant = workspace.template_for(job.template_name, recipient.language)
        letters.rows.append(
            (
                job.case_id,
                variant.path.name,
                job.recipient_id,
                recipient.name,
                variant.language,
                job.paper,
            )
        )
    return [cases, templates, letters]
