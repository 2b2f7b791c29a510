"""`letters send` against a real SMTP server on 127.0.0.1 (aiosmtpd, on a port the test
opens): the messages, the sent log across reruns, failures, kills and TLS.

Network rule: every test connects only to 127.0.0.1, on a port it opened itself.
"""

from __future__ import annotations

import asyncio
import email
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from conftest import write_tree
from pypdf import PdfReader

from letters.deliver import mail_send
from letters.deliver.mail_log import SentLog
from letters.deliver.mail_options import Clock

# Integration runs (real servers, many PDFs, attack reproductions): the quick loop
# (`pytest -m "not slow"`) leaves them to the full run.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
PEOPLE = [
    ("ada", "Ada Lovelace", "ada@example.org"),
    ("hoa", "Nguyễn Thị Hoa", "hoa@example.org"),
    ("cem", "Cem Kaya", "cem@example.org"),
    ("dan", "Dan Brown", "dan@example.org"),
    ("eve", "Eve Adams", "eve@example.org"),
]
CASE = """\
title: Free expression online
date: 2026-03-14
reference: REF/1
sender:
  name: Sam Sender
  organisation: Open Net Watch
  address: [1 Example Street, London]
  email: sam@example.org
demands:
  - release everyone held for peaceful expression
facts:
  law: Cybersecurity Law
letters:
  - template: appeal
    to: [all]
"""
TEMPLATE = """\
---
subject: "About the {{ case.facts.law }} & you"
---
{{ recipient.salutation }}

We write about the {{ case.facts.law }} (see {{ recipient.fields.ref }}).

Yours sincerely,
"""


def recipients_yaml(people: list[tuple[str, str, str]]) -> str:
    lines = ["recipients:"]
    for rid, name, address in people:
        lines += [
            f"  - id: {rid}",
            f"    name: {json.dumps(name, ensure_ascii=False)}",
            "    address: [1 Road, Town]",
        ]
        if address:
            lines.append(f"    email: {address}")
        lines.append("    fields: {ref: A&B_C*1}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def campaign(tmp_path: Path):
    def make(people=PEOPLE, files: dict[str, str] | None = None) -> Path:
        tree = {
            "recipients.yaml": recipients_yaml(people),
            "cases/free-expression.yaml": CASE,
            "templates/appeal.md.j2": TEMPLATE,
            **(files or {}),
        }
        return write_tree(tmp_path / "campaign", tree)

    return make


# -- the server ---------------------------------------------------------------------------


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Handler:
    """Stores what it receives; can refuse addresses, fail after some messages, drop the
    connection after a message, or hold a message until the test lets it go."""

    messages: list[Received] = field(default_factory=list)
    sessions: int = 0
    refuse: set[str] = field(default_factory=set)  # 550 at RCPT
    fail_after: int | None = None  # 421 at MAIL once this many were taken
    drop: set[str] = field(default_factory=set)  # close without a reply after DATA
    hold_at: int | None = None  # the n-th message waits (stored) until `release`
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, options):
        if self.fail_after is not None and len(self.messages) >= self.fail_after:
            return "421 4.3.2 Too busy, come back later"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address in self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if set(envelope.rcpt_tos) & self.drop:
            server.transport.close()
            return "250 never heard"
        received = Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        self.messages.append(received)
        if self.hold_at is not None and len(self.messages) == self.hold_at:
            self.arrived.set()
            for _ in range(1000):  # bounded: at most 10 s
                if self.release.is_set():
                    break
                await asyncio.sleep(0.01)
        return f"250 2.0.0 Ok: queued as {len(self.messages)}"

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.recipients]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch):
    """start(**options) → (handler, port): a server on 127.0.0.1, stopped after the test;
    LETTERS_SMTP_* point `letters send` at the last one started (unencrypted, loopback)."""
    started: list[Controller] = []

    def start(handler: Handler | None = None, **options) -> tuple[Handler, int]:
        handler = handler or Handler()
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
        controller.start()
        started.append(controller)
        monkeypatch.setenv("LETTERS_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("LETTERS_SMTP_PORT", str(port))
        monkeypatch.setenv("LETTERS_SMTP_SECURITY", "none")
        return handler, port

    yield start
    for controller in started:
        controller.stop()


@dataclass
class FakeClock:
    """Time that passes only when the run sleeps: the sleeps are recorded, never slept."""

    now_seconds: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now_seconds += seconds

    def clock(self) -> Clock:
        return Clock(sleep=self.sleep, monotonic=lambda: self.now_seconds)


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(mail_send, "Clock", fake.clock)
    return fake


def records(root: Path, case: str = "free-expression") -> list[dict]:
    path = root / "sent" / f"{case}.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]


def send(run, root: Path, *args: str):
    return run("send", "-C", root, "--rate", "1000000", *args)


# -- the dry run ----------------------------------------------------------------------------


def test_the_dry_run_shows_each_message_and_sends_nothing(sample, run, smtp):
    handler, port = smtp()
    result = run("send", "cybersecurity-law-2018", "-C", sample)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"Server: 127.0.0.1:{port} (no encryption)" in out and "Bcc: none" in out
    assert 'From "Ruth Okafor" <campaigns@opennetwatch.example>' in out
    assert out.count("To:  ") == 5 and out.count("Subject:") == 5 and out.count("Size:") == 5
    assert '"Tim Cook" <tim.cook@example.org>' in out
    assert "Subject:    Viet Nam's draft Cybersecurity Law and Apple's users" in out
    assert "Attachment: apple-ceo-cybersecurity-law-2018.pdf" in out
    assert "Dry run: 5 would be sent" in out and "Nothing was sent" in out
    assert handler.messages == [] and handler.sessions == 0
    assert not (sample / "sent").exists() and not (sample / "out").exists()


def test_the_dry_run_needs_no_server(sample, run):
    result = run("send", "-C", sample)
    assert result.exit_code == 0, result.output
    assert "Server: not configured" in result.stdout
    assert "Dry run: 10 would be sent" in result.stdout
    sending = run("send", "--no-dry-run", "-C", sample)
    assert sending.exit_code == 2 and "no mail server is configured" in sending.stderr


# -- the messages ---------------------------------------------------------------------------


@pytest.mark.slow
def test_each_message_has_its_headers_parts_and_current_pdf(campaign, run, smtp):
    root = campaign(people=PEOPLE[:2])
    handler, _ = smtp()
    result = send(run, root, "--no-dry-run")
    assert result.exit_code == 0, result.output
    assert "Sent 2, refused 0" in result.stdout
    assert [m.recipients for m in handler.messages] == [["ada@example.org"], ["hoa@example.org"]]
    hoa = handler.to("hoa@example.org")[0]
    assert hoa.sender == "sam@example.org"
    message = hoa.message
    assert str(message["From"]) == "Sam Sender <sam@example.org>"
    assert message["To"].addresses[0].display_name == "Nguyễn Thị Hoa"
    assert message["To"].addresses[0].addr_spec == "hoa@example.org"
    assert str(message["Subject"]) == "About the Cybersecurity Law & you"
    assert message["Date"].datetime is not None
    log = [r for r in records(root) if r["letter"] == "appeal/hoa"]
    assert [r["event"] for r in log] == ["attempt", "sent"]
    assert message["Message-ID"] == log[0]["message_id"]
    assert log[0]["hash"] in message["Message-ID"]
    assert log[1]["reply"].startswith("250 2.0.0 Ok: queued")
    assert message.get_content_type() == "multipart/mixed"
    body = message.get_body(("plain",))
    alternative = [part.get_content_type() for part in message.iter_parts()]
    assert alternative == ["multipart/alternative", "application/pdf"]
    text = body.get_content()
    assert "(see A&B_C*1)" in text and "&amp;" not in text and "\\_" not in text
    assert "Nguyễn Thị Hoa" in text and "Yours sincerely," in text
    html = message.get_body(("html",)).get_content()
    assert "<p>We write about the Cybersecurity Law (see A&amp;B_C*1).</p>" in html
    assert "<img" not in html and "http" not in html.replace("http-equiv", "")
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "hoa-free-expression.pdf"
    pdf = attachment.get_content()
    assert pdf == (root / "out/free-expression/appeal/hoa.pdf").read_bytes()
    pages = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "We write about the Cybersecurity Law" in pages and "Nguyễn Thị Hoa" in pages

    # The template changes: the rerun rebuilds the PDF first and sends a new message.
    (root / "templates/appeal.md.j2").write_text(
        TEMPLATE.replace("We write about", "We write again about"), "utf-8"
    )
    dry = send(run, root, "--to", "hoa")
    assert "appeal/hoa: changed since it was sent" in dry.stdout
    again = send(run, root, "--no-dry-run", "--to", "hoa")
    assert again.exit_code == 0, again.output
    newer = handler.to("hoa@example.org")[1].message
    assert newer["Message-ID"] != message["Message-ID"]
    [attachment] = list(newer.iter_attachments())
    pages = "".join(p.extract_text() for p in PdfReader(io.BytesIO(attachment.get_content())).pages)
    assert "We write again about" in pages


def test_a_rerun_sends_nothing_and_the_message_id_is_stable(campaign, run, smtp):
    root = campaign()
    handler, _ = smtp()
    first = send(run, root, "--no-dry-run", "--no-attach")
    assert first.exit_code == 0, first.output
    assert len(handler.messages) == 5
    assert not list(handler.messages[0].message.iter_attachments())
    rerun = send(run, root, "--no-dry-run", "--no-attach")
    assert rerun.exit_code == 0, rerun.output
    assert "Sent 0, refused 0 (5 already sent" in rerun.stdout
    assert len(handler.messages) == 5
    dry = send(run, root, "--no-attach")
    assert "Dry run: 0 would be sent (5 already sent" in dry.stdout
    # A record of the same message names the same Message-ID (it comes from the content).
    ids = {r["letter"]: r["message_id"] for r in records(root)}
    assert ids["appeal/ada"] == handler.to("ada@example.org")[0].message["Message-ID"]


@pytest.mark.slow
def test_a_cover_note_is_the_body_and_the_letter_goes_attached(campaign, run, smtp):
    note = "{{ recipient.salutation }}\n\nPlease find our letter about {{ subject }} attached.\n"
    root = campaign(people=PEOPLE[:1], files={"templates/email/appeal.md.j2": note})
    handler, _ = smtp()
    dry = send(run, root)
    assert "Body:       cover note templates/email/appeal.md.j2" in dry.stdout
    result = send(run, root, "--no-dry-run")
    assert result.exit_code == 0, result.output
    message = handler.messages[0].message
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text == (
        "Dear Ada Lovelace,\n\nPlease find our letter about About the Cybersecurity Law & you "
        "attached.\n"
    )
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "free-expression-appeal-ada.pdf"
    pages = "".join(p.extract_text() for p in PdfReader(io.BytesIO(attachment.get_content())).pages)
    assert "We write about the Cybersecurity Law" in pages


# -- never twice, never silently lost -------------------------------------------------------


def test_a_server_that_fails_after_two_stops_the_run_and_a_rerun_sends_the_rest(
    campaign, run, smtp, fake_clock
):
    root = campaign()
    handler, _ = smtp(Handler(fail_after=2))
    result = send(run, root, "--no-dry-run", "--no-attach")
    assert result.exit_code == 1, result.output
    assert len(handler.messages) == 2
    assert "free-expression/appeal/cem" in result.stderr and "421 4.3.2 Too busy" in result.stderr
    assert "2 of 5 sent, 3 not sent yet" in result.stderr
    assert "run the same command again to send the rest" in result.stderr
    assert fake_clock.sleeps[-3:] == [5.0, 20.0, 60.0]  # backoff, then it stops
    handler.fail_after = None
    rerun = send(run, root, "--no-dry-run", "--no-attach")
    assert rerun.exit_code == 0, rerun.output
    assert "Sent 3" in rerun.stdout and "2 already sent" in rerun.stdout
    for _, _, address in PEOPLE:
        assert len(handler.to(address)) == 1, address


def test_a_refused_address_is_recorded_and_the_others_go(campaign, run, smtp):
    root = campaign()
    handler, _ = smtp(Handler(refuse={"cem@example.org"}))
    result = send(run, root, "--no-dry-run", "--no-attach")
    assert result.exit_code == 1, result.output
    assert "refused: free-expression/appeal/cem → cem@example.org: 550 5.1.1 No such" in (
        result.stderr
    )
    assert len(handler.messages) == 4 and not handler.to("cem@example.org")
    refused = [r for r in records(root) if r["letter"] == "appeal/cem"]
    assert [r["event"] for r in refused] == ["refused"]
    handler.refuse.clear()
    rerun = send(run, root, "--no-dry-run", "--no-attach")
    assert rerun.exit_code == 0, rerun.output
    assert len(handler.messages) == 5 and len(handler.to("cem@example.org")) == 1


def test_no_reply_after_the_message_is_uncertain_and_resent_only_on_request(campaign, run, smtp):
    root = campaign()
    handler, _ = smtp(Handler(drop={"cem@example.org"}))
    result = send(run, root, "--no-dry-run", "--no-attach")
    assert result.exit_code == 1, result.output
    assert "free-expression/appeal/cem: no reply after the message" in result.stderr
    assert "--resend sends the uncertain ones again" in result.stderr
    assert len(handler.messages) == 2
    handler.drop.clear()
    rerun = send(run, root, "--no-dry-run", "--no-attach")
    assert rerun.exit_code == 0, rerun.output
    assert "uncertain: free-expression/appeal/cem was attempted" in rerun.stderr
    assert len(handler.messages) == 4 and not handler.to("cem@example.org")
    resend = send(run, root, "--no-dry-run", "--no-attach", "--resend")
    assert resend.exit_code == 0, resend.output
    assert "Sent 1" in resend.stdout
    for _, _, address in PEOPLE:
        assert len(handler.to(address)) == 1, address
    again = send(run, root, "--no-dry-run", "--no-attach", "--resend")
    assert "Sent 0" in again.stdout and len(handler.messages) == 5


@pytest.mark.slow
def test_a_send_killed_with_sigkill_then_rerun_reaches_everyone_exactly_once(campaign, run, smtp):
    """Killed after the server took the third message and before its record: the rerun
    sends the others and reports the third as uncertain instead of sending it twice."""
    root = campaign()
    handler, port = smtp(Handler(hold_at=3))
    env = {**os.environ, "LETTERS_SMTP_PORT": str(port)}
    command = [sys.executable, str(REPO / "cli.py"), "send", "--no-dry-run", "--no-attach"]
    process = subprocess.Popen(
        [*command, "--rate", "1000000", "-C", str(root)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert handler.arrived.wait(timeout=20), "the third message never arrived"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        handler.release.set()
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert len(handler.messages) == 3
    assert [r["event"] for r in records(root)][-1] == "attempt"
    rerun = send(run, root, "--no-dry-run", "--no-attach")
    assert rerun.exit_code == 0, rerun.output
    assert "uncertain: free-expression/appeal/cem" in rerun.stderr
    for _, _, address in PEOPLE:
        assert len(handler.to(address)) == 1, address


def test_a_second_run_on_the_same_case_waits_its_turn(campaign, run, smtp):
    root = campaign()
    handler, _ = smtp()
    with SentLog(root, "free-expression").locked():
        result = send(run, root, "--no-dry-run", "--no-attach")
    assert result.exit_code == 2
    assert "another `letters send` is sending this case right now" in result.stderr
    assert handler.messages == []


# -- options ---------------------------------------------------------------------------------


def test_limit_and_rate(campaign, run, smtp, fake_clock):
    root = campaign()
    handler, _ = smtp()
    result = run("send", "-C", root, "--no-dry-run", "--no-attach", "--limit", "3")
    assert result.exit_code == 0, result.output
    assert len(handler.messages) == 3
    assert "2 left for another run (--limit)" in result.stdout
    assert fake_clock.sleeps == [2.0, 2.0]  # the default 30 a minute
    rest = run("send", "-C", root, "--no-dry-run", "--no-attach", "--rate", "6")
    assert rest.exit_code == 0 and len(handler.messages) == 5
    assert fake_clock.sleeps[2:] == [10.0]
    assert run("send", "-C", root, "--limit", "0").exit_code == 2
    assert run("send", "-C", root, "--rate", "0").exit_code == 2


def test_redirect_is_a_test_run_not_a_sent_letter(campaign, run, smtp):
    root = campaign()
    handler, _ = smtp()
    result = send(
        run, root, "--no-dry-run", "--no-attach", "--limit", "1", "--redirect", "me@example.org"
    )
    assert result.exit_code == 0, result.output
    assert "sent free-expression/appeal/ada → me@example.org (redirected test)" in result.stdout
    [message] = handler.messages
    assert message.recipients == ["me@example.org"]
    assert str(message.message["To"]) == "Ada Lovelace <me@example.org>"
    [_attempt, sent] = records(root)
    assert sent["event"] == "sent" and sent["redirected_to"] == "me@example.org"
    assert sent["to"] == "ada@example.org"
    real = send(run, root, "--no-dry-run", "--no-attach")
    assert "Sent 5" in real.stdout and len(handler.to("ada@example.org")) == 1


def test_a_recipient_without_email_is_listed_and_counted(campaign, run, smtp):
    root = campaign(people=[*PEOPLE[:2], ("nob", "No Body", "")])
    handler, _ = smtp()
    result = send(run, root, "--no-dry-run", "--no-attach")
    assert result.exit_code == 0, result.output
    assert "no e-mail address: free-expression/appeal/nob (No Body)" in result.stdout
    assert "1 without an e-mail address" in result.stdout and len(handler.messages) == 2


def test_a_name_cannot_add_a_header(campaign, run, smtp):
    root = campaign(people=[("ada", "Ada\nBcc: evil@example.net", "ada@example.org")])
    handler, _ = smtp()
    result = send(run, root, "--no-dry-run", "--no-attach")
    assert result.exit_code == 0, result.output
    [received] = handler.messages
    assert received.recipients == ["ada@example.org"]
    assert b"\nBcc:" not in received.data and received.message["Bcc"] is None
    assert received.message["To"].addresses[0].display_name == "Ada Bcc: evil@example.net"


def test_a_bad_address_is_an_error_at_its_line(campaign, run, smtp):
    root = campaign(people=[("ada", "Ada", "ada@@example.org")])
    handler, _ = smtp()
    result = send(run, root, "--no-dry-run")
    assert result.exit_code == 2
    assert "recipients.yaml:5:12: error: 'ada@@example.org' is not an e-mail address" in (
        result.stderr
    )
    assert handler.sessions == 0


def test_a_non_ascii_address_needs_smtputf8(campaign, run, smtp):
    root = campaign(people=[("hoa", "Hoa", "hoà@example.org")])
    handler, _ = smtp(Handler(), enable_SMTPUTF8=False)
    refused = send(run, root, "--no-dry-run", "--no-attach")
    assert refused.exit_code == 1 and "it does not offer SMTPUTF8" in refused.stderr
    assert handler.messages == []
    handler, _ = smtp(Handler(), enable_SMTPUTF8=True)
    result = send(run, root, "--no-dry-run", "--no-attach")
    assert result.exit_code == 0, result.output
    assert handler.messages[0].recipients == ["hoà@example.org"]
    assert "\r\nTo: Hoa <hoà@example.org>\r\n" in handler.messages[0].data.decode("utf-8")


# -- server settings -------------------------------------------------------------------------


def test_settings_come_from_the_user_config_file(campaign, run, smtp, monkeypatch):
    root = campaign(people=PEOPLE[:1])
    handler, port = smtp()
    for name in ("HOST", "PORT", "SECURITY"):
        monkeypatch.delenv(f"LETTERS_SMTP_{name}")
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "letters" / "smtp.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f'host = "127.0.0.1"\nport = {port}\nsecurity = "none"\nbcc = "archive@example.org"\n',
        "utf-8",
    )
    dry = send(run, root)
    assert f"Server: 127.0.0.1:{port} (no encryption)" in dry.stdout
    assert "Bcc: archive@example.org" in dry.stdout
    result = send(run, root, "--no-dry-run", "--no-attach")
    assert result.exit_code == 0, result.output
    [received] = handler.messages
    assert received.recipients == ["ada@example.org", "archive@example.org"]
    assert received.message["Bcc"] is None
    config.write_text('host = "127.0.0.1"\npassword = "hunter2"\n', "utf-8")
    refused = send(run, root)
    assert refused.exit_code == 2
    assert "smtp.toml:2: error: the password is not read from a file" in refused.stderr


def test_security_none_is_refused_for_another_host(campaign, run, monkeypatch):
    root = campaign()
    monkeypatch.setenv("LETTERS_SMTP_HOST", "mail.example.org")
    monkeypatch.setenv("LETTERS_SMTP_SECURITY", "none")
    result = send(run, root, "--no-dry-run")
    assert result.exit_code == 2
    assert "security none sends your password and letters unencrypted" in result.stderr
    assert "refused for 'mail.example.org'" in result.stderr


def test_server_settings_in_the_case_are_errors_at_their_line(campaign, run, smtp):
    case = CASE + "send:\n  from: Campaigns <campaigns@example.org>\n  host: smtp.evil.example\n"
    root = campaign(files={"cases/free-expression.yaml": case})
    handler, _ = smtp()
    result = send(run, root, "--no-dry-run")
    assert result.exit_code == 2
    assert "cases/free-expression.yaml:18:3: error: send.host: mail server settings" in (
        result.stderr
    )
    assert "smtp.toml" in result.stderr and handler.sessions == 0


def test_the_case_send_block_sets_from_and_reply_to(campaign, run, smtp):
    case = CASE + "send:\n  from: Campaigns <campaigns@example.org>\n  reply_to: r@example.org\n"
    root = campaign(people=PEOPLE[:1], files={"cases/free-expression.yaml": case})
    handler, _ = smtp()
    result = send(run, root, "--no-dry-run", "--no-attach")
    assert result.exit_code == 0, result.output
    message = handler.messages[0].message
    assert str(message["From"]) == "Campaigns <campaigns@example.org>"
    assert str(message["Reply-To"]) == "r@example.org"
    assert handler.messages[0].sender == "campaigns@example.org"


@pytest.fixture
def tls(tmp_path: Path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))

    def context(host: str):
        import ssl

        server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(host).configure_cert(server)
        return server

    return cafile, context


def test_starttls_with_a_test_ca_and_a_login(campaign, run, smtp, tls, monkeypatch):
    cafile, context = tls
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")

    root = campaign(people=PEOPLE[:1])
    handler, _ = smtp(
        Handler(),
        tls_context=context("127.0.0.1"),
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    monkeypatch.setenv("LETTERS_SMTP_PASSWORD", "s3cret")
    args = ("--no-dry-run", "--no-attach", "--security", "starttls", "--user", "sam")
    result = send(run, root, *args, "--cafile", str(cafile))
    assert result.exit_code == 0, result.output
    assert logins == [(b"sam", b"s3cret")] and len(handler.messages) == 1
    untrusted = send(run, root, *args, "--to", "ada", "--resend")
    assert "Sent 0" in untrusted.stdout  # nothing left to send, so no connection at all
    assert len(logins) == 1


def test_a_certificate_for_another_host_is_refused(campaign, run, smtp, tls):
    cafile, context = tls
    root = campaign(people=PEOPLE[:1])
    handler, _ = smtp(Handler(), tls_context=context("mail.example.org"), require_starttls=True)
    result = send(
        run, root, "--no-dry-run", "--no-attach", "--security", "starttls", "--cafile", cafile
    )
    assert result.exit_code == 1
    assert "its certificate is not trusted" in result.stderr
    assert "mismatch" in result.stderr.lower() and handler.messages == []
    assert [r["event"] for r in records(root)] == []
    no_ca = send(run, root, "--no-dry-run", "--no-attach", "--security", "starttls")
    assert no_ca.exit_code == 1 and "certificate is not trusted" in no_ca.stderr
    assert "--cafile" in no_ca.stderr


def test_an_unreachable_server_is_retried_then_the_run_stops(
    campaign, run, fake_clock, monkeypatch
):
    root = campaign(people=PEOPLE[:1])
    monkeypatch.setenv("LETTERS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LETTERS_SMTP_PORT", str(free_port()))  # nobody listens there
    monkeypatch.setenv("LETTERS_SMTP_SECURITY", "none")
    result = send(run, root, "--no-dry-run", "--no-attach")
    assert result.exit_code == 1
    assert "cannot reach 127.0.0.1" in result.stderr and "0 of 1 sent" in result.stderr
    assert fake_clock.sleeps == [5.0, 20.0, 60.0]  # recorded, not slept
    assert not any(r["event"] == "attempt" for r in records(root))


def test_the_report_says_what_was_sent_and_when(campaign, run, smtp):
    import csv
    import io

    root = campaign()
    handler, _ = smtp()
    handler.refuse.add("hoa@example.org")
    send(run, root, "--no-dry-run", "--no-attach")
    result = run("report", "-C", root)
    assert result.exit_code == 0, result.output
    rows = {r["recipient"]: r for r in csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff")))}
    assert rows["ada"]["sent"] == "sent" and rows["ada"]["sent_at"].startswith("20")
    assert rows["hoa"]["sent"] == "refused" and rows["hoa"]["sent_at"] == ""
