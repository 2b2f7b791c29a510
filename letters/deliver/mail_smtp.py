"""Talking to the mail server: connect (STARTTLS or SSL, certificate and host name checked),
log in, and hand over one message, saying exactly how far it got.

Owns the distinction that keeps a letter from going twice. A failure before the end of
DATA (a 4xx, a dropped connection, a body that could not be written) means the server does
not have the message: trying again cannot duplicate it. No reply after the final "." means
nobody can know: the message is *uncertain*. `before_data` runs after the server accepted
the recipient and before DATA, so the caller's attempt record is on disk first.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from letters.deliver.mail_config import SmtpSettings
from letters.errors import WriteError

_HOSTNAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,200}[A-Za-z0-9])?")


class ServerStop(WriteError):
    """A problem with the server that ends the run: every message would meet it (a
    certificate that does not match, a refused login, a refused sender address)."""


class Unreachable(Exception):
    """The server cannot be reached now (refused, timed out, 421 at the greeting)."""


@dataclass
class Delivery:
    status: str  # sent | refused | failed | uncertain
    reply: str  # the server's words, or what happened
    attempted: bool = False  # DATA was begun (the attempt record was written)
    retry: bool = False  # failed before the end of DATA: trying again is safe
    bcc_refused: dict[str, str] = field(default_factory=dict)


def reply(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(words.split())}".strip()


def _what(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return reply(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, TimeoutError):
        return "no answer (timed out)"
    return str(exc) or type(exc).__name__


class Connection:
    """One session with the server, opened when first needed, reopened after a failure."""

    def __init__(self, settings: SmtpSettings, password: str = "") -> None:
        self.settings = settings
        self.password = password
        self.smtp: smtplib.SMTP | None = None

    # -- opening -------------------------------------------------------------------------

    def _context(self) -> ssl.SSLContext:
        cafile = self.settings.cafile
        try:
            return ssl.create_default_context(cafile=str(cafile) if cafile else None)
        except (OSError, ssl.SSLError) as exc:
            raise ServerStop(f"cannot read the CA certificate file: {exc}", cafile) from None

    def open(self) -> None:
        """Connect, secure and log in, unless already open. Raises Unreachable for what
        may pass (retried), ServerStop for what will not."""
        if self.smtp is not None:
            return
        settings = self.settings
        where = f"{settings.host}:{settings.port}"
        name = socket.gethostname()
        local = name if _HOSTNAME.fullmatch(name) else "localhost"
        smtp: smtplib.SMTP | None = None
        try:
            if settings.security == "ssl":
                smtp = smtplib.SMTP_SSL(
                    settings.host,
                    settings.port,
                    local_hostname=local,
                    timeout=settings.timeout,
                    context=self._context(),
                )
            else:
                smtp = smtplib.SMTP(
                    settings.host, settings.port, local_hostname=local, timeout=settings.timeout
                )
            smtp.ehlo()
            if settings.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise ServerStop(
                        f"{where} does not offer STARTTLS; letters never sends unencrypted",
                        hint="use security ssl (often port 465) if the server offers it",
                    )
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if settings.user:
                smtp.login(settings.user, self.password)
        except ServerStop:
            _close(smtp)
            raise
        except ssl.SSLCertVerificationError as exc:
            _close(smtp)
            raise ServerStop(
                f"refused to connect to {where}: its certificate is not trusted "
                f"({exc.verify_message or exc.reason})",
                hint="check the host name; for a server with its own certificate "
                "authority, give its CA certificate with --cafile (or cafile in smtp.toml)",
            ) from None
        except ssl.SSLError as exc:
            _close(smtp)
            raise ServerStop(f"secure connection to {where} failed: {exc.reason or exc}") from None
        except smtplib.SMTPAuthenticationError as exc:
            _close(smtp)
            raise ServerStop(
                f"{where} refused the user name or password: {_what(exc)}",
                hint="check the user (--user, LETTERS_SMTP_USER or smtp.toml) and "
                "LETTERS_SMTP_PASSWORD",
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            _close(smtp)
            raise ServerStop(f"{where}: {exc}") from None
        except socket.gaierror as exc:
            _close(smtp)
            raise ServerStop(
                f"cannot find the mail server {settings.host!r}: {exc.strerror}",
                hint="check the host name",
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            _close(smtp)
            raise Unreachable(f"cannot reach {where}: {_what(exc)}") from None
        self.smtp = smtp

    def close(self) -> None:
        """End the session politely (QUIT), or just drop it if that fails."""
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                _close(smtp)

    def abort(self) -> None:
        """Drop the connection at once (after a failure, or when interrupted)."""
        smtp, self.smtp = self.smtp, None
        _close(smtp)

    # -- one message ---------------------------------------------------------------------

    def deliver(
        self,
        sender: str,
        recipients: list[str],
        data: bytes,
        utf8: bool,
        before_data: Callable[[], None],
    ) -> Delivery:
        """Hand one message over: `recipients[0]` is the addressee, the others are Bcc."""
        smtp = self.smtp
        assert smtp is not None, "open() first"
        smtp.command_encoding = "ascii"
        options: list[str] = []
        if utf8:
            if not smtp.has_extn("smtputf8"):
                return Delivery(
                    "refused",
                    "the server does not take non-ASCII addresses (it does not offer SMTPUTF8)",
                )
            options += ["SMTPUTF8", "BODY=8BITMIME"] if smtp.has_extn("8bitmime") else ["SMTPUTF8"]
        if smtp.has_extn("size"):
            options.append(f"SIZE={len(data)}")
        try:
            code, text = smtp.mail(sender, options)
            if code != 250:
                self._reset()
                if code >= 500 and code != 552:  # 552: this message is too large
                    raise ServerStop(
                        f"the server refused the sender address {sender}: {reply(code, text)}",
                        hint="use an address your server lets you send from: `from:` under "
                        "`send:` in the case file, or the sender's email",
                    )
                return _refusal(code, text, attempted=False)
            code, text = smtp.rcpt(recipients[0])
            if code not in (250, 251):
                self._reset()
                return _refusal(code, text, attempted=False)
            bcc_refused = {}
            for address in recipients[1:]:
                code, text = smtp.rcpt(address)
                if code not in (250, 251):
                    bcc_refused[address] = reply(code, text)
        except (smtplib.SMTPException, OSError) as exc:
            return Delivery("failed", _what(exc), retry=True)
        before_data()
        try:
            code, text = smtp.docmd("DATA")
            if code != 354:
                self._reset()
                return _refusal(code, text, attempted=True)
            smtp.send(_dot_stuffed(data))  # ends with the final "."
        except (smtplib.SMTPException, OSError) as exc:
            # The final "." was not written: the server cannot have taken the message.
            return Delivery("failed", _what(exc), attempted=True, retry=True)
        try:
            code, text = smtp.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            return Delivery("uncertain", f"no reply after the message: {_what(exc)}", True)
        if code == 250:
            return Delivery("sent", reply(code, text), True, bcc_refused=bcc_refused)
        # Refused after the end of DATA: the server says it does not have it, but a retry
        # now would break the rule that only failures before the end of DATA are retried.
        return Delivery("refused" if code >= 500 else "failed", reply(code, text), True)

    def _reset(self) -> None:
        try:
            if self.smtp is not None:
                self.smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.abort()


def _refusal(code: int, text: bytes, attempted: bool) -> Delivery:
    if 400 <= code < 500:
        return Delivery("failed", reply(code, text), attempted, retry=True)
    return Delivery("refused", reply(code, text), attempted)


def _dot_stuffed(data: bytes) -> bytes:
    """The message for DATA: a line starting with "." gets another, then the final "."."""
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        with contextlib.suppress(OSError):
            smtp.close()
