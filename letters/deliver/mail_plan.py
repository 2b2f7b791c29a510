"""Which messages a `letters send` run would send: every selected letter as a Draft, its
status in the sent log, and the recipients who have no e-mail address.

Owns the link from letters to messages: the From and Reply-To of each case (its `send:`
block, else its sender), each recipient's address (checked, and named at its line in
recipients.yaml when it is not one), the optional cover note
`templates/email/<template>[.<lang>].md.j2`, and the PDF attachment, built first when it is
out of date so that a stale letter is never sent.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from email.headerregistry import Address
from pathlib import Path

from letters.compose.letter import Letter
from letters.compose.render import Renderer
from letters.deliver.mail_address import mailbox
from letters.deliver.mail_log import NEW, History, SentLog
from letters.deliver.mail_message import Draft, attachment_name, letter_body, note_body
from letters.deliver.mail_options import SendOptions
from letters.errors import LettersError, LettersErrors
from letters.fileio import Confined
from letters.output.build import build
from letters.output.options import BuildOptions
from letters.output.plan import Job
from letters.output.prepare import prepare
from letters.output.results import Progress
from letters.workspace import TEMPLATE_SUFFIX, TEMPLATES_DIR, CaseFile, Workspace
from letters.workspace.language import fallback_chain

NOTES_DIR = "email"  # templates/email/<template>[.<lang>].md.j2: a cover note
MAX_ATTACHMENT_BYTES = 64 * 1024 * 1024


@dataclass
class Outgoing:
    """One letter's message."""

    job: Job
    letter: Letter
    draft: Draft
    address: Address  # the recipient's own address (the draft's To, unless redirected)
    note: str = ""  # the cover note's name in templates/, when the body is one
    status: str = NEW  # see letters.deliver.mail_log
    history: History = field(default_factory=History)
    pdf: str = ""  # "" (no attachment), "current", "to build" (dry run) or "failed"
    error: LettersError | None = None  # why its PDF could not be built

    @property
    def label(self) -> str:
        return self.job.label


@dataclass(frozen=True)
class NoAddress:
    job: Job
    name: str


@dataclass
class Plan:
    outgoing: list[Outgoing] = field(default_factory=list)  # in print order
    no_email: list[NoAddress] = field(default_factory=list)
    senders: dict[str, tuple[Address, Address | None]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def case_ids(self) -> list[str]:
        """The cases with a message to judge (whose sent log is read, and locked to send)."""
        return list(dict.fromkeys(item.job.case_id for item in self.outgoing))


def compose(root: Path, options: SendOptions) -> Plan:
    """Every selected letter rendered into its message (without its PDF yet); every
    problem in the campaign's files is raised at once, before anything is sent."""
    workspace, jobs, letters, failures = prepare(root, _build_options(options))
    if failures:
        raise LettersErrors([error for _, error in failures])
    plan = Plan()
    errors: list[LettersError] = []
    for case_id in dict.fromkeys(job.case_id for job in jobs):
        case_file = workspace.cases[case_id]
        try:
            plan.senders[case_id] = _sender(case_file)
        except LettersError as error:
            errors.append(error)
        if case_file.case.date is None:
            plan.warnings.append(
                f"case {case_id} has no date: its letters carry the day they are sent, so a "
                "run on another day sends them again as changed letters (give it a `date:`)"
            )
    redirect = mailbox(options.redirect) if options.redirect else None
    renderer: Renderer | None = None
    for job, letter in letters:
        recipient = workspace.recipient(job.recipient_id)
        assert recipient is not None
        if not recipient.email.strip():
            plan.no_email.append(NoAddress(job, recipient.name))
            continue
        try:
            address = mailbox(recipient.email, recipient.name)
        except ValueError as exc:
            file, line, column = workspace.recipient_line(recipient.id, "email")
            errors.append(
                LettersError(str(exc), file, line, column, "write one address: name@example.org")
            )
            continue
        if job.case_id not in plan.senders:
            continue
        sender, reply_to = plan.senders[job.case_id]
        note = _note(workspace, letter) if options.attach else ""
        try:
            if note:
                renderer = renderer or Renderer(workspace)
                case_file = workspace.cases[job.case_id]
                body = note_body(renderer.render_extra(note, case_file, recipient, letter), letter)
            else:
                body = letter_body(letter)
        except LettersError as error:
            errors.extend(error.errors if isinstance(error, LettersErrors) else [error])
            continue
        to = _redirected(address, redirect) if redirect else address
        name = attachment_name(letter, bool(note)) if options.attach else ""
        draft = Draft(sender, to, reply_to, letter.subject, body, name)
        plan.outgoing.append(Outgoing(job, letter, draft, address, note))
    if errors:
        raise LettersErrors(errors)
    return plan


def attach_pdfs(
    root: Path, plan: Plan, options: SendOptions, progress: Progress | None = None
) -> None:
    """Put each letter's PDF in its draft: built first when out of date (in a dry run only
    the PDFs already built and up to date are read; the others are marked "to build")."""
    if not options.attach or not plan.outgoing:
        return
    build_options = dataclasses.replace(
        _build_options(options),
        cases=tuple(dict.fromkeys(item.job.case_id for item in plan.outgoing)),
        to=tuple(dict.fromkeys(item.job.recipient_id for item in plan.outgoing)),
        dry_run=options.dry_run,
        keep_going=True,
    )
    report = build(root, build_options, None if options.dry_run else progress)
    results = {(r.job.case_id, r.job.key): r for r in report.outputs if r.format == "pdf"}
    out = Confined(report.out_dir)
    for item in plan.outgoing:
        result = results.get((item.job.case_id, item.job.key))
        if result is None or result.status not in ("built", "unchanged", "failed"):
            item.pdf = "to build"
        elif result.status == "failed":
            item.pdf, item.error = "failed", result.error
        else:
            data = out.read_bytes(result.path, MAX_ATTACHMENT_BYTES)
            item.draft = dataclasses.replace(item.draft, attachment=data)
            item.pdf = "current"


def judge(plan: Plan, logs: dict[str, SentLog]) -> None:
    """Each letter's status: what its case's sent log says about this version of it."""
    for case_id, log in logs.items():
        histories = log.read()
        if log.unreadable:
            lines = ", ".join(str(number) for number in log.unreadable[:10])
            plan.warnings.append(f"{log.path}: line(s) {lines} are not records; ignored")
        if log.unverified:
            plan.warnings.append(
                f"{log.path}: {log.unverified} record(s) not signed with your key were ignored "
                "(made on another machine, or shipped with the campaign): share the key with "
                "LETTERS_TRUST_KEY to trust a colleague's records"
            )
        for item in plan.outgoing:
            if item.job.case_id != case_id:
                continue
            item.history = histories.get(item.job.key, History())
            known = item.draft.attachment is not None or not item.draft.attachment_name
            content_hash = item.draft.content_hash if known else None
            item.status = item.history.status(content_hash, item.draft.body_hash)


def _build_options(options: SendOptions) -> BuildOptions:
    return BuildOptions(
        formats=("pdf",),
        cases=options.cases,
        to=options.to,
        paper=options.paper,
        pdf_variant=options.pdf_variant,
        today=options.today,
        jobs=options.jobs,
    )


def _sender(case_file: CaseFile) -> tuple[Address, Address | None]:
    """The From and Reply-To of a case's messages."""
    case, located = case_file.case, case_file.located
    send = case.send
    path: tuple[str, ...] = ("send", "from") if send and send.from_ else ("sender", "email")
    text = send.from_ if send and send.from_ else case.sender.email
    if not text:
        raise located.error(
            ("sender",),
            "the case has no e-mail address to send from",
            "add `email:` under `sender:`, or a `send:` block with `from: you@example.org`",
        )
    try:
        sender = mailbox(text, case.sender.name)
    except ValueError as exc:
        raise located.error(path, str(exc)) from None
    reply_to = None
    if send and send.reply_to:
        try:
            reply_to = mailbox(send.reply_to)
        except ValueError as exc:
            raise located.error(("send", "reply_to"), str(exc)) from None
    return sender, reply_to


def _note(workspace: Workspace, letter: Letter) -> str:
    """The cover note for this letter's template and language, if the campaign has one."""
    confined = Confined(workspace.root)
    for tag in [*fallback_chain(letter.language), ""]:
        name = f"{NOTES_DIR}/{letter.template_name}{'.' + tag if tag else ''}{TEMPLATE_SUFFIX}"
        if confined.kind(f"{TEMPLATES_DIR}/{name}") != "missing":
            return name  # a link or a FIFO is refused, with its reason, when it is read
    return ""


def _redirected(address: Address, redirect: Address) -> Address:
    """The test address, under the recipient's name (so the message looks as it will)."""
    return Address(
        display_name=address.display_name, username=redirect.username, domain=redirect.domain
    )
