"""`letters send`: each letter by e-mail (the library is letters/deliver/mail_send.py).

Registered on the app of letters/cli.py by the import at the bottom of that module. A dry
run by default: it shows each message it would send and the server, From and Bcc it would
use; `--no-dry-run` sends. What comes from campaign files is shown through `escape`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from letters.cli_app import Project, _root, command
from letters.display import BuildProgress, err, escape, out

if TYPE_CHECKING:
    from letters.deliver.mail_plan import Outgoing
    from letters.deliver.mail_send import SendReport, SendResult


@command("send")
def send(
    context: typer.Context,
    cases: Annotated[list[str] | None, typer.Argument(help="Cases to send (default: all).")] = None,
    to: Annotated[
        list[str] | None, typer.Option("--to", help="Only these recipients: ID, tag:TAG or all.")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run/--no-dry-run", help="Only show what would be sent (the default)."),
    ] = True,
    limit: Annotated[int | None, typer.Option(help="Send at most N messages.")] = None,
    rate: Annotated[float, typer.Option(help="At most this many messages a minute.")] = 30.0,
    attach: Annotated[
        bool, typer.Option("--attach/--no-attach", help="Attach the letter's PDF.")
    ] = True,
    resend: Annotated[
        bool, typer.Option(help="Send uncertain letters again (they may arrive twice).")
    ] = False,
    redirect: Annotated[
        str | None,
        typer.Option(metavar="ADDRESS", help="Send every message to ADDRESS instead (a test)."),
    ] = None,
    smtp_host: Annotated[str | None, typer.Option(help="Mail server host.")] = None,
    smtp_port: Annotated[int | None, typer.Option(help="Mail server port.")] = None,
    security: Annotated[
        str | None, typer.Option(help="starttls (default), ssl, or none (this machine only).")
    ] = None,
    user: Annotated[str | None, typer.Option(help="User name on the mail server.")] = None,
    cafile: Annotated[
        Path | None, typer.Option(help="Trust this CA certificate (PEM) for the server.")
    ] = None,
    paper: Annotated[str | None, typer.Option(help="Paper default, as for build.")] = None,
    pdf_variant: Annotated[
        str | None, typer.Option(help="PDF variant, as for build: pdf/a-3u or pdf/ua-1.")
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", help="PDF worker processes (default: cores).")
    ] = None,
    project: Project = None,
) -> None:
    """E-mail each letter: a dry run unless --no-dry-run; never sends a letter twice."""
    from letters.deliver.mail_config import ServerFlags
    from letters.deliver.mail_options import SendOptions
    from letters.deliver.mail_send import send as run_send
    from letters.output.workers import default_jobs

    root = _root(context, project)
    options = SendOptions(
        cases=tuple(cases or ()),
        to=tuple(to or ()),
        dry_run=dry_run,
        limit=limit,
        rate=rate,
        attach=attach,
        resend=resend,
        redirect=(redirect or "").strip(),
        paper=paper,
        pdf_variant=pdf_variant,
        jobs=default_jobs() if jobs is None else jobs,
        server=ServerFlags(smtp_host, smtp_port, security, user, cafile),
    )
    with BuildProgress(quiet=dry_run, root=root) as progress:

        def shown(result: SendResult) -> None:
            progress.stop()
            _show_result(result)

        try:
            report = run_send(root, options, on_result=shown, on_build=progress.update)
        except KeyboardInterrupt:
            progress.stop()
            err.print("Interrupted before any message was sent.")
            raise typer.Exit(130) from None
    _show_report(report)
    raise typer.Exit(130 if report.interrupted else report.exit_code)


# -- what is printed ----------------------------------------------------------------------


def _size(size: int) -> str:
    return f"{size / 1024:.0f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"


def _when(record: dict[str, object] | None) -> str:
    return str(record.get("time", "")) if record else ""


def _status(item: Outgoing, report: SendReport) -> str:
    history = item.history
    if item.status == "changed":
        return f"changed since it was sent {_when(history.last('sent', 'attempt'))}"
    if item.status == "refused":
        refusal = history.last("refused")
        words = refusal.get("reply", "") if refusal else ""
        return f"refused {_when(refusal)} ({words}); tried again"
    if item.status == "failed":
        return f"not delivered {_when(history.last('failed'))}; tried again"
    if item.status == "uncertain":
        return f"uncertain (attempted {_when(history.last('attempt'))}); sent again (--resend)"
    if item.status == "pending":
        return (
            f"sent {_when(history.last('sent'))}; sent again only if its PDF changes when rebuilt"
        )
    return "new"


def _show_plan_item(item: Outgoing, report: SendReport) -> None:
    from letters.deliver.mail_address import shown

    draft = item.draft
    out.print(f"  {escape(item.job.key)}: {escape(_status(item, report))}")
    to = escape(shown(draft.to))
    if report.redirect:
        to += f" (redirected from {escape(item.address.addr_spec)})"
    out.print(f"    To:         {to}")
    out.print(f"    Subject:    {escape(draft.subject)}")
    if not draft.attachment_name:
        attachment = "none (--no-attach)"
    elif draft.attachment is None:
        attachment = f"{escape(draft.attachment_name)} (its PDF is built before sending)"
    else:
        attachment = f"{escape(draft.attachment_name)} ({_size(len(draft.attachment))})"
    out.print(f"    Attachment: {attachment}")
    if item.note:
        out.print(f"    Body:       cover note templates/{escape(item.note)}")
    pdf = " and the PDF" if draft.attachment_name and draft.attachment is None else ""
    out.print(f"    Size:       {_size(draft.size)}{pdf}")


def _show_header(report: SendReport) -> None:
    settings = report.settings
    if settings.host:
        out.print(f"Server: {escape(settings.describe())}")
    else:
        out.print(
            "Server: [yellow]not configured[/yellow] (set host in ~/.config/letters/smtp.toml, "
            "LETTERS_SMTP_HOST or --smtp-host before sending)"
        )
    out.print(f"Bcc: {escape(', '.join(settings.bcc)) if settings.bcc else 'none'}")
    if report.redirect:
        out.print(f"Redirect: every message goes to {escape(report.redirect)} (a test run)")


def _show_case(case_id: str, report: SendReport) -> None:
    from letters.deliver.mail_address import shown

    items = [item for item in report.chosen if item.job.case_id == case_id]
    if not items:
        return
    sender, reply_to = report.plan.senders[case_id]
    line = f"{case_id}: From {shown(sender)}"
    if reply_to is not None:
        line += f", Reply-To {shown(reply_to)}"
    out.print(f"\n[bold]{escape(line)}[/bold]")
    for item in items:
        _show_plan_item(item, report)


def _show_result(result: SendResult) -> None:
    item = result.item
    to = item.draft.to.addr_spec
    where = f"{item.label} → {to}" + (" (redirected test)" if item.address.addr_spec != to else "")
    if result.status == "sent":
        out.print(f"[green]sent[/green] {escape(where)} ({escape(result.reply)})")
    elif result.status == "refused":
        err.print(f"[red]refused:[/red] {escape(where)}: {escape(result.reply)}")
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/yellow] {escape(item.label)}: {escape(warning)}")


def _show_report(report: SendReport) -> None:
    for warning in report.plan.warnings:
        err.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    if report.dry_run:
        _show_header(report)
        for case_id in report.plan.senders:
            _show_case(case_id, report)
    elif report.redirect:
        out.print(f"Redirected to {escape(report.redirect)}: logged as a test, not as sent.")
    for item in report.not_built:
        assert item.error is not None
        err.print(f"[red]not sent, its PDF failed:[/red] {escape(item.error.describe())}")
    for item in report.uncertain_left:
        err.print(
            f"[yellow]uncertain:[/yellow] {escape(item.label)} was attempted "
            f"{escape(_when(item.history.last('attempt')))} with no reply recorded; not sent "
            "again (check your Sent folder; --resend sends it again)"
        )
    for missing in report.plan.no_email:
        label = missing.job.label
        out.print(f"[yellow]no e-mail address:[/yellow] {escape(label)} ({escape(missing.name)})")
    already = len(report.with_status("sent"))
    counts = (
        f"{already} already sent, {len(report.uncertain_left)} uncertain, "
        f"{len(report.plan.no_email)} without an e-mail address"
    )
    if report.held:
        counts += f", {len(report.held)} left for another run (--limit)"
    if report.dry_run:
        maybe = sum(1 for item in report.chosen if item.status == "pending")
        would = f"{len(report.chosen) - maybe} would be sent"
        if maybe:
            would += f", and {maybe} sent before only if their PDF changes when rebuilt"
        out.print(f"Dry run: {would} ({counts}). Nothing was sent; add --no-dry-run to send.")
        return
    sent = report.count("sent")
    summary = f"Sent {sent}, refused {report.count('refused')} ({counts})."
    if report.stopped or report.interrupted:
        why = "Interrupted" if report.interrupted and not report.stopped else "Stopped"
        err.print(f"[red]{why}:[/red] {escape(report.stopped or 'Ctrl-C')}")
        err.print(
            f"{sent} of {len(report.chosen) + len(report.held)} sent, {report.unsent} not sent yet."
        )
        hint = report.stop_hint or "run the same command again to send the rest"
        err.print(f"  [dim]hint:[/dim] {escape(hint)}")
    out.print(summary)
