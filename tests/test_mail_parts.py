"""The parts of `letters send` without a server: plain text without escapes, headers that
no value can add to, addresses, the user's settings, and what the sent log means."""

from __future__ import annotations

import datetime as dt
import email
import os
from email import policy
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from letters.compose.escape import escape_markdown, unescape_markdown
from letters.deliver.mail_address import mailbox, message_id_domain
from letters.deliver.mail_config import ServerFlags, password, server_settings
from letters.deliver.mail_log import History, SentLog
from letters.deliver.mail_message import Body, Draft, html_document, plain_text
from letters.errors import LettersError
from letters.workspace import load_workspace

HOSTILE = [
    "AT&T <b>bold</b> & more",
    "*stars* _under_ `code` [link](x) \\back\\slash",
    "# heading",
    "- item",
    "+ item",
    "1. first",
    "12) twelfth",
    "~~~ fence",
    "=== rule",
    "&amp; already an entity &lt; &#126; &#61;",
    "\\*not\\* escaped twice",
    "> quote",
    "--",
    "a\\",
    "{{ 7*7 }} {% if %}",
    "Nguyễn Thị Hoa & Bắc Ninh",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_unescape_markdown_undoes_escape_markdown(value):
    assert unescape_markdown(escape_markdown(value)) == value


@given(st.text(alphabet=st.sampled_from(list("ab1. -+*_#`[]()!<>&\\;:'\"=~|{}é")), max_size=40))
def test_unescape_is_the_exact_inverse_for_any_text(text):
    value = text.strip()
    assert unescape_markdown(escape_markdown(value)) == value


def test_plain_text_has_no_markdown_escapes():
    markdown = f"Dear {escape_markdown('A&B_C')},\n\n{escape_markdown('1. x')}  \nnext\n"
    assert plain_text(markdown) == "Dear A&B_C,\n\n1. x\nnext\n"


def test_the_html_part_fetches_nothing_and_escapes_its_title():
    page = html_document("![x](http://evil.example/p.png) hello", "<b>T</b>", "en")
    assert "<img" not in page and "evil.example" not in page
    assert "<title>&lt;b&gt;T&lt;/b&gt;</title>" in page and 'style="' in page


def draft(**changes) -> Draft:
    values = {
        "sender": mailbox("sam@example.org", "Sam Sender"),
        "to": mailbox("ada@example.org", "Ada Lovelace"),
        "reply_to": None,
        "subject": "About the law",
        "body": Body("text\n", "<p>html</p>"),
        "attachment_name": "ada-case.pdf",
        "attachment": b"%PDF-1.7 one",
    }
    values.update(changes)
    return Draft(**values)


def test_a_subject_or_name_with_line_breaks_adds_no_header():
    hostile = draft(
        subject="Hello\r\nBcc: evil@example.net\r\n\r\nbody",
        to=mailbox("ada@example.org", "Ada\nBcc: evil@example.net"),
    )
    data = hostile.as_bytes(dt.datetime(2026, 3, 14, tzinfo=dt.UTC))
    headers = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert not any(line.lower().startswith(b"bcc") for line in headers)
    message = email.message_from_bytes(data, policy=policy.default)
    assert str(message["Subject"]) == "Hello Bcc: evil@example.net body"
    assert message["Bcc"] is None


def test_the_message_id_holds_the_content_hash():
    one = draft()
    assert one.content_hash in one.message_id
    assert one.message_id == draft().message_id  # stable
    assert one.message_id.endswith("@example.org>")
    assert draft(attachment=b"%PDF-1.7 two").message_id != one.message_id
    assert draft(attachment=b"%PDF-1.7 two").body_hash == one.body_hash
    assert draft(subject="Other").body_hash != one.body_hash


@pytest.mark.parametrize(
    ("text", "name", "address"),
    [
        ("ada@example.org", "Ada", "ada@example.org"),
        ('"Open Net Watch" <campaigns@example.org>', "Open Net Watch", "campaigns@example.org"),
        ("Ruth Okafor <ruth@example.org>", "Ruth Okafor", "ruth@example.org"),
        ("hoà@example.org", "Ada", "hoà@example.org"),
    ],
)
def test_mailboxes(text, name, address):
    parsed = mailbox(text, "Ada")
    assert (parsed.display_name, parsed.addr_spec) == (name, address)


@pytest.mark.parametrize(
    "text",
    ["ada", "ada@", "@example.org", "a b@example.org", "a@b@c", "ada@.org", "x <a@b>, y <c@d>"],
)
def test_not_mailboxes(text):
    with pytest.raises(ValueError, match="is not an e-mail address"):
        mailbox(text)


def test_message_id_domain_is_ascii():
    assert message_id_domain(mailbox("x@Bücher.example")) == "xn--bcher-kva.example"


# -- settings --------------------------------------------------------------------------


def config(text: str) -> Path:
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "letters" / "smtp.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def test_flags_win_over_the_environment_which_wins_over_the_file():
    config('host = "file.example"\nport = 2525\nuser = "me"\nbcc = ["a@example.org"]\n')
    settings = server_settings(ServerFlags(), {})
    assert (settings.host, settings.port, settings.security, settings.user) == (
        "file.example",
        2525,
        "starttls",
        "me",
    )
    assert settings.bcc == ("a@example.org",)
    environ = {"LETTERS_SMTP_HOST": "env.example", "LETTERS_SMTP_SECURITY": "ssl"}
    settings = server_settings(ServerFlags(), environ)
    assert (settings.host, settings.security) == ("env.example", "ssl")
    settings = server_settings(ServerFlags(host="flag.example", port=465), environ)
    assert (settings.host, settings.port) == ("flag.example", 465)
    assert server_settings(ServerFlags(), {"LETTERS_SMTP_SECURITY": "ssl"}).port == 2525


def test_default_ports_follow_the_security():
    assert server_settings(ServerFlags(host="h.example"), {}).port == 587
    assert server_settings(ServerFlags(host="h.example", security="ssl"), {}).port == 465
    assert server_settings(ServerFlags(host="::1", security="none"), {}).port == 25


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ('host = "h"\nprot = 25\n', "unknown key 'prot'", 2),
        ('host = "h"\nport = 0\n', "port 0: must be a whole number", 2),
        ('security = "tls"\n', "must be one of starttls, ssl, none", 1),
        ('password = "x"\n', "the password is not read from a file", 1),
        ('bcc = "not an address"\n', "is not an e-mail address", 1),
        ("host = \n", "not valid TOML", 1),
    ],
)
def test_a_bad_config_file_is_an_error_at_its_line(text, message, line):
    path = config(text)
    with pytest.raises(LettersError) as raised:
        server_settings(ServerFlags(), {})
    assert message in raised.value.message
    assert Path(raised.value.file or "") == path and raised.value.line == line


def test_security_none_only_to_this_machine():
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert server_settings(ServerFlags(host=host, security="none"), {}).host == host
    for host in ("mail.example.org", "10.0.0.1", "localhost.example.org"):
        with pytest.raises(LettersError, match="unencrypted; refused"):
            server_settings(ServerFlags(host=host, security="none"), {})


def test_the_password_comes_from_the_environment_or_the_keyring():
    settings = server_settings(ServerFlags(host="h.example", user="me"), {})
    assert password(settings, {"LETTERS_SMTP_PASSWORD": "s3cret"}) == "s3cret"
    with pytest.raises(LettersError, match="no password for the mail server user 'me'") as raised:
        password(settings, {})
    assert "keyring set letters-smtp me" in raised.value.hint


# -- the case's send: block ----------------------------------------------------------------


def test_the_send_block_allows_from_and_reply_to_only(workspace):
    from conftest import CASE

    case = CASE + "send:\n  from: not an address\n  replyto: x@example.org\n  smtp_host: h\n"
    root = workspace(**{"cases/free-expression.yaml": case})
    _, errors = load_workspace(root)
    described = [error.describe(root) for error in errors]
    assert any("send.from: write an e-mail address" in text for text in described)
    assert any("unknown key 'replyto'" in text and "reply_to" in text for text in described)
    assert any("send.smtp_host: mail server settings" in text for text in described)


# -- the sent log ---------------------------------------------------------------------------


def record(event: str, digest: str, **extra) -> dict:
    return {"event": event, "letter": "t/r", "hash": digest, "time": "t", **extra}


def test_what_the_records_mean():
    assert History().status("h1") == "new"
    assert History([record("attempt", "h1")]).status("h1") == "uncertain"
    assert History([record("attempt", "h1"), record("sent", "h1")]).status("h1") == "sent"
    assert History([record("attempt", "h1"), record("failed", "h1")]).status("h1") == "failed"
    assert History([record("refused", "h1")]).status("h1") == "refused"
    assert History([record("sent", "h1")]).status("h2") == "changed"
    assert History([record("refused", "h1")]).status("h2") == "new"
    sent = History([record("sent", "h1", body_hash="b1")])
    assert sent.status(None, "b1") == "pending" and sent.status(None, "b2") == "changed"


def test_the_log_survives_a_torn_line(tmp_path):
    SentLog(tmp_path, "c").append(record("sent", "h1"))
    with (tmp_path / "sent" / "c.jsonl").open("a", encoding="utf-8") as log_file:
        log_file.write('{"event": "attempt", "letter": "t/')  # a kill cut this one short
    log = SentLog(tmp_path, "c")
    assert log.read()["t/r"].status("h1") == "sent" and log.unreadable == [2]
    log.append(record("sent", "h2"))
    log = SentLog(tmp_path, "c")
    histories = log.read()
    assert histories["t/r"].status("h2") == "sent" and log.unreadable == [2]


def test_records_not_signed_with_the_users_key_are_ignored(tmp_path):
    (tmp_path / "sent").mkdir()
    forged = '{"event": "sent", "letter": "t/r", "hash": "h1", "time": "t", "mac": "x"}\n'
    (tmp_path / "sent" / "c.jsonl").write_text(forged, "utf-8")
    log = SentLog(tmp_path, "c")
    assert log.read() == {} and log.unverified == 1


def test_the_log_is_never_read_or_written_through_a_link(tmp_path):
    elsewhere = tmp_path / "elsewhere.jsonl"
    elsewhere.write_text("", "utf-8")
    (tmp_path / "sent").mkdir()
    (tmp_path / "sent" / "c.jsonl").symlink_to(elsewhere)
    with pytest.raises(LettersError, match="link"):
        SentLog(tmp_path, "c").read()
    with pytest.raises(LettersError, match="link"):
        SentLog(tmp_path, "c").append(record("sent", "h1"))
    assert elsewhere.read_text("utf-8") == ""
