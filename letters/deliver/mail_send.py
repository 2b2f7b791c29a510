"""`letters send`: each selected letter by e-mail, never twice, never silently lost.

Owns the run: which letters go (never sent, or changed since; an uncertain one only with
`--resend`, listed first), how many and how fast (`--limit`, `--rate`), the records written
before DATA and after the server's reply, retries with backoff only for failures before the
end of DATA, and the report the command prints. Nothing here prints or exits.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from letters.deliver.mail_config import SmtpSettings, password, server_settings
from letters.deliver.mail_log import PENDING, TO_SEND, UNCERTAIN, SentLog
from letters.deliver.mail_options import Clock, SendOptions
from letters.deliver.mail_plan import Outgoing, Plan, attach_pdfs, compose, judge
from letters.deliver.mail_smtp import Connection, Delivery, ServerStop, Unreachable
from letters.errors import LettersError
from letters.output.results import Progress

RESUME_HINT = "run the same command again to send the rest: letters already sent are not sent again"


@dataclass
class SendResult:
    item: Outgoing
    status: str  # sent | refused | failed | uncertain
    reply: str = ""  # the server's words, or what happened
    tries: int = 1
    warnings: list[str] = field(default_factory=list)


@dataclass
class SendReport:
    settings: SmtpSettings
    dry_run: bool
    redirect: str
    plan: Plan
    chosen: list[Outgoing] = field(default_factory=list)  # what this run sends
    held: list[Outgoing] = field(default_factory=list)  # left for the next run by --limit
    results: list[SendResult] = field(default_factory=list)
    stopped: str = ""  # why the run stopped before the end
    stop_hint: str = ""
    interrupted: bool = False

    def with_status(self, *statuses: str) -> list[Outgoing]:
        return [item for item in self.plan.outgoing if item.status in statuses]

    def count(self, status: str) -> int:
        return sum(1 for result in self.results if result.status == status)

    @property
    def not_built(self) -> list[Outgoing]:
        return [item for item in self.plan.outgoing if item.pdf == "failed"]

    @property
    def uncertain_left(self) -> list[Outgoing]:
        """Uncertain letters this run did not send again (no --resend)."""
        return [item for item in self.with_status(UNCERTAIN) if item not in self.chosen]

    @property
    def unsent(self) -> int:
        """Letters this run was to send (or held back by --limit) that were not sent."""
        return len(self.chosen) + len(self.held) - self.count("sent")

    @property
    def exit_code(self) -> int:
        failed = self.count("refused") + self.count("failed") + self.count("uncertain")
        return 1 if self.stopped or failed or self.not_built else 0


def send(
    root: Path,
    options: SendOptions,
    clock: Clock | None = None,
    on_result: Callable[[SendResult], None] | None = None,
    on_build: Progress | None = None,
) -> SendReport:
    """Send (or, in a dry run, say what would be sent) the letters `options` selects."""
    settings = server_settings(options.server)
    secret = ""
    if not options.dry_run:
        settings.require_host()
        secret = password(settings) if settings.user else ""
    plan = compose(root, options)
    logs = {case_id: SentLog(root, case_id) for case_id in plan.case_ids}
    with contextlib.ExitStack() as stack:
        if not options.dry_run:
            for log in logs.values():
                stack.enter_context(log.locked())
        attach_pdfs(root, plan, options, on_build)
        judge(plan, logs)
        report = SendReport(settings, options.dry_run, options.redirect, plan)
        _choose(report, options)
        if not options.dry_run and report.chosen:
            run = _Run(report, logs, options, clock or Clock(), Connection(settings, secret))
            run.all(on_result)
    return report


def _choose(report: SendReport, options: SendOptions) -> None:
    ready = [item for item in report.plan.outgoing if item.pdf != "failed"]
    again = [item for item in ready if item.status == UNCERTAIN] if options.resend else []
    statuses = (*TO_SEND, PENDING) if options.dry_run else TO_SEND
    candidates = again + [item for item in ready if item.status in statuses]
    limit = len(candidates) if options.limit is None else options.limit
    report.chosen, report.held = candidates[:limit], candidates[limit:]


class _Run:
    def __init__(
        self,
        report: SendReport,
        logs: dict[str, SentLog],
        options: SendOptions,
        clock: Clock,
        connection: Connection,
    ) -> None:
        self.report = report
        self.logs = logs
        self.options = options
        self.clock = clock
        self.connection = connection
        self.settings = report.settings
        self.delivery: Delivery | None = None  # the last one, for a record that failed

    def all(self, on_result: Callable[[SendResult], None] | None) -> None:
        last: float | None = None
        try:
            for item in self.report.chosen:
                if last is not None:
                    wait = last + 60.0 / self.options.rate - self.clock.monotonic()
                    if wait > 0:
                        self.clock.sleep(wait)
                last = self.clock.monotonic()
                result = self.one(item)
                self.report.results.append(result)
                if on_result is not None:
                    on_result(result)
                if self.report.stopped or self.report.interrupted:
                    break
        except KeyboardInterrupt:
            self.connection.abort()
            self.report.interrupted = True
        finally:
            self.connection.close()

    def one(self, item: Outgoing) -> SendResult:
        """One message, tried again after a failure before the end of DATA."""
        tries, delivery = 0, Delivery("failed", "not tried")
        while tries <= len(self.options.retry_delays):
            if tries:
                self.clock.sleep(self.options.retry_delays[tries - 1])
            tries += 1
            hold = _InterruptsHeld()
            try:
                delivery = self._try(item, hold)
            except ServerStop as stop:
                self.connection.abort()
                return self._stop(item, tries, stop.message, stop.hint)
            except LettersError as error:  # a record could not be written
                self.connection.abort()
                return self._unrecorded(item, tries, error)
            finally:
                self.report.interrupted = hold.release() or self.report.interrupted
            if delivery.status in ("sent", "refused"):
                return SendResult(item, delivery.status, delivery.reply, tries, _bcc(delivery))
            self.connection.abort()
            if delivery.status == "uncertain":
                self.report.stopped = (
                    f"{item.label}: {delivery.reply}; it may or may not have arrived"
                )
                self.report.stop_hint = (
                    "it is listed as uncertain: check your Sent folder (or ask the recipient); "
                    "a rerun sends the others, and --resend sends the uncertain ones again"
                )
                return SendResult(item, "uncertain", delivery.reply, tries)
            if self.report.interrupted:
                return SendResult(item, "failed", delivery.reply, tries)
            if not delivery.retry:
                return self._stop(item, tries, f"the server did not take it: {delivery.reply}")
        return self._stop(item, tries, f"still failing after {tries} tries: {delivery.reply}")

    def _try(self, item: Outgoing, hold: _InterruptsHeld) -> Delivery:
        self.delivery = None
        try:
            self.connection.open()
        except Unreachable as exc:
            return Delivery("failed", str(exc), retry=True)
        draft = item.draft
        server = f"{self.settings.host}:{self.settings.port}"

        def before_data() -> None:
            hold.start()  # from here until the outcome is written, Ctrl-C waits
            self._record(item, "attempt", server=server)

        delivery = self.connection.deliver(
            draft.sender.addr_spec,
            [draft.to.addr_spec, *self.settings.bcc],
            draft.as_bytes(self.clock.now()),
            draft.utf8,
            before_data,
        )
        self.delivery = delivery
        if delivery.status in ("sent", "refused") or (
            delivery.status == "failed" and delivery.attempted
        ):
            extra: dict[str, Any] = {"reply": delivery.reply}
            if delivery.bcc_refused:
                extra["bcc_refused"] = delivery.bcc_refused
            self._record(item, delivery.status, **extra)
        return delivery

    def _record(self, item: Outgoing, event: str, **extra: Any) -> None:
        draft = item.draft
        record: dict[str, Any] = {
            "event": event,
            "letter": item.job.key,
            "to": item.address.addr_spec,
            "hash": draft.content_hash,
            "body_hash": draft.body_hash,
            "message_id": draft.message_id,
            "time": self.clock.now().isoformat(timespec="seconds"),
        }
        if self.report.redirect:
            record["redirected_to"] = draft.to.addr_spec
        record.update(extra)
        self.logs[item.job.case_id].append(record)

    def _stop(self, item: Outgoing, tries: int, why: str, hint: str = "") -> SendResult:
        self.report.stopped = f"{item.label}: {why}"
        self.report.stop_hint = hint or RESUME_HINT
        return SendResult(item, "failed", why, tries)

    def _unrecorded(self, item: Outgoing, tries: int, error: LettersError) -> SendResult:
        where = error.location()
        problem = f"{where}: {error.message}" if where else error.message
        if self.delivery is not None and self.delivery.status == "sent":
            self.report.stopped = (
                f"{item.label} was sent, but its record could not be written ({problem})"
            )
            self.report.stop_hint = (
                "it will show as uncertain: do not --resend it; fix the problem, then "
                "run again for the rest"
            )
            return SendResult(item, "sent", self.delivery.reply, tries)
        return self._stop(item, tries, f"not sent: the sent log could not be written ({problem})")


def _bcc(delivery: Delivery) -> list[str]:
    return [f"Bcc {address} refused: {words}" for address, words in delivery.bcc_refused.items()]


class _InterruptsHeld:
    """Ctrl-C held back while a message's outcome is being learned and written (from just
    before its attempt record to just after its outcome record), so an interrupt makes no
    needless uncertain letter; a second Ctrl-C is not held. Only in the main thread."""

    def __init__(self) -> None:
        self.previous: Any = None
        self.active = False
        self.pending = False

    def start(self) -> None:
        if self.active or threading.current_thread() is not threading.main_thread():
            return
        self.previous = signal.signal(signal.SIGINT, self._hold)
        self.active = True

    def _hold(self, signum: int, frame: FrameType | None) -> None:
        if self.pending:
            raise KeyboardInterrupt
        self.pending = True

    def release(self) -> bool:
        """Stop holding; whether a Ctrl-C came meanwhile."""
        if self.active:
            signal.signal(signal.SIGINT, self.previous or signal.default_int_handler)
            self.active = False
        return self.pending
