"""The record of what was produced: one row per letter, in print order, as CSV, xlsx or JSON.

Per letter: case, template, language, recipient id, name, organisation, the address on one
line, e-mail, paper, pages (counted from the built PDF), the output file, its sha256, when it
was built (from the signed manifest) and whether it is up to date with the workspace, judged
as `build --dry-run` judges it. It is what a campaign office files as its record and imports
into its CRM. Only manifest entries this user can verify count as built; files are read
through the output folder without following links.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from letters.atomic import Writable
from letters.compose.address import recipient_lines
from letters.compose.letter import Letter
from letters.deliver.mail_log import History, sent_histories
from letters.errors import LettersError
from letters.output.folder import open_output_folder, output_path
from letters.output.inputs import InputHasher
from letters.output.manifest import Manifest
from letters.output.options import BuildOptions
from letters.output.plan import Job
from letters.output.prepare import prepare
from letters.output.printing import print_file_names
from letters.trust import trust_key
from letters.workspace.schema import Recipient

REPORT_FORMATS = ("csv", "xlsx", "json")
# Which output of a letter the record shows: the PDF when there is one.
PREFERRED = ("pdf", "html", "md")
BOM = "\ufeff"
# A cell starting with one of these is a formula to a spreadsheet: recipient data may come
# from a stranger, so such text is written as text (OWASP's advice for CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ReportRow:
    case: str
    template: str
    language: str
    recipient: str
    name: str
    organisation: str
    address: str
    email: str
    paper: str
    pages: int | None
    file: str
    sha256: str
    built_at: str
    up_to_date: bool
    reason: str  # why not up to date ("" when it is)
    sent: str  # by e-mail: sent, refused, uncertain (no reply after the message) or ""
    sent_at: str  # when it was last sent


COLUMNS = tuple(ReportRow.__dataclass_fields__)


def one_line_address(recipient: Recipient, case: Any = None) -> str:
    """The postal address on one line: the window's lines (as the letters of `case` print
    them) without the name, title and organisation, which have their own columns."""
    lines = list(recipient_lines(recipient, case))
    name = " ".join(part for part in (recipient.honorific, recipient.name) if part)
    for own in (name, recipient.title, recipient.organisation):
        if own and own in lines:
            lines.remove(own)
    return ", ".join(lines)


def report_rows(root: Path, options: BuildOptions) -> list[ReportRow]:
    """A row for every letter of the chosen cases (all by default), in print order."""
    workspace, jobs, letters, failures = prepare(root, options)
    out_dir = options.output_folder(workspace.root)
    cases = list(dict.fromkeys(job.case_id for job in jobs))
    out = open_output_folder(out_dir, cases, create=False)
    key, _ = trust_key()
    hasher = InputHasher(workspace, options)
    rendered: dict[Job, Letter | None] = {job: letter for job, letter in letters}
    rendered.update({job: None for job, _ in failures})
    rows: list[ReportRow] = []
    for case_id in cases:
        manifests = _manifests(out, case_id, key) if out_dir.is_dir() else []
        sent = sent_histories(workspace.root, case_id)
        case_jobs = [job for job in jobs if job.case_id == case_id]
        for paper in print_file_names([job.paper for job in case_jobs]):
            for job in (job for job in case_jobs if job.paper == paper):
                recipient = workspace.recipient(job.recipient_id)
                assert recipient is not None
                row = _row(out, out_dir, job, rendered.get(job), recipient, manifests, hasher)
                rows.append(_with_sending(row, sent.get(job.key)))
    return rows


# The latest e-mail record of a letter, as the report's word for it.
_SENT_WORDS = {"sent": "sent", "refused": "refused", "attempt": "uncertain"}


def _with_sending(row: ReportRow, history: History | None) -> ReportRow:
    """The row with what `letters send` recorded of its letter (redirected tests left out)."""
    if history is None:
        return row
    last = history.last(*_SENT_WORDS)
    sent = history.last("sent")
    return dataclasses.replace(
        row,
        sent=_SENT_WORDS[last["event"]] if last else "",
        sent_at=str(sent.get("time", "")) if sent else "",
    )


def _manifests(out: Writable, case_id: str, key: bytes) -> list[Manifest]:
    """The case's verified manifests: the full build's, then any shard's."""
    if out.kind(case_id) != "folder":
        return []
    names = [n for n in out.listdir(case_id) if n.startswith("manifest") and n.endswith(".json")]
    names.sort(key=lambda name: name != "manifest.json")
    return [Manifest.read(out, case_id, name, key) for name in names]


def _row(
    out: Writable,
    out_dir: Path,
    job: Job,
    letter: Letter | None,
    recipient: Recipient,
    manifests: list[Manifest],
    hasher: InputHasher,
) -> ReportRow:
    case = hasher.workspace.cases[job.case_id].case
    fmt, manifest = next(
        ((f, m) for f in PREFERRED for m in manifests if m.output(job.key, f)), ("", None)
    )
    path = output_path(out_dir, job, fmt) if fmt else None
    entry = manifest.output(job.key, fmt) if manifest is not None else None
    on_disk = path if path is not None and out.is_file(path) else None
    if letter is None:
        reason = "the letter does not render (see `letters check`)"
    elif manifest is None or entry is None or path is None:
        reason = "not built"
    else:
        current = hasher.inputs(job, letter, fmt)
        if manifest.entries[job.key].get("paper") == job.paper:
            # The PDF variant is the build's own choice, as merge-print says too.
            current["options"] = entry.get("inputs", {}).get("options", current["options"])
        reason = manifest.change(job.key, fmt, current, path, hasher.resource)
    return ReportRow(
        case=job.case_id,
        template=job.template_name,
        language=letter.language if letter is not None else recipient.language,
        recipient=job.recipient_id,
        name=recipient.name,
        organisation=recipient.organisation,
        address=one_line_address(recipient, case),
        email=recipient.email,
        paper=job.paper,
        pages=_pages(out, on_disk) if on_disk and fmt == "pdf" else None,
        file=on_disk.relative_to(out_dir).as_posix() if on_disk else "",
        sha256=out.sha256(on_disk) if on_disk else "",
        built_at=str(entry.get("built_at", "")) if entry is not None else "",
        up_to_date=reason == "unchanged",
        reason="" if reason == "unchanged" else reason,
        sent="",
        sent_at="",
    )


def _pages(out: Writable, path: Path) -> int | None:
    import pikepdf

    try:
        with out.open_binary(path) as stream, pikepdf.open(stream) as pdf:
            return len(pdf.pages)
    except (pikepdf.PdfError, LettersError):
        return None


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def report_bytes(rows: list[ReportRow], fmt: str) -> bytes:
    """The record as a file: CSV (UTF-8 with a BOM, so spreadsheets read it right), xlsx or
    JSON (a list of objects)."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        writer.writerows([_cell(value) for value in asdict(row).values()] for row in rows)
        return (BOM + buffer.getvalue()).encode("utf-8")
    if fmt == "json":
        data = [asdict(row) for row in rows]
        return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    if fmt == "xlsx":
        return _xlsx(rows)
    raise LettersError(
        f"--format {fmt!r} is not a report format", hint=f"use one of: {', '.join(REPORT_FORMATS)}"
    )


def _xlsx(rows: list[ReportRow]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "letters"
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for number, row in enumerate(rows, start=2):
        for column, value in enumerate(asdict(row).values(), start=1):
            cell = sheet.cell(number, column)
            if isinstance(value, bool):
                cell.value = "yes" if value else "no"
            elif value is not None:
                cell.value = value
            if cell.data_type == "f":  # text that looks like a formula stays text
                cell.data_type = "s"
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for column, name in enumerate(COLUMNS, start=1):
        longest = max([len(name), *(len(_cell(getattr(row, name))) for row in rows)])
        sheet.column_dimensions[get_column_letter(column)].width = min(longest + 2, 70)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
