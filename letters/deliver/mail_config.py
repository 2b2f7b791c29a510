"""Which mail server `letters send` uses: the user's settings, never the campaign's.

Owns reading `$XDG_CONFIG_HOME/letters/smtp.toml` (default `~/.config/letters/smtp.toml`),
the LETTERS_SMTP_* environment and the command's flags (a flag wins over the environment,
which wins over the file); the password, from LETTERS_SMTP_PASSWORD or the system keyring
only; and the rule that `security = "none"` may only talk to this machine. A campaign
folder is never read here: a shared folder must not point your password and your letters
at its own server.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from letters.controls import nesting_too_deep
from letters.deliver.mail_address import mailbox
from letters.errors import LettersError
from letters.trust import config_dir
from letters.workspace import suggest

CONFIG_FILE = "smtp.toml"
SECURITIES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
KEYRING_SERVICE = "letters-smtp"
PASSWORD_VARIABLE = "LETTERS_SMTP_PASSWORD"
_KEYS = ("host", "port", "security", "user", "bcc", "cafile", "timeout")
_ENVIRONMENT = {
    "host": "LETTERS_SMTP_HOST",
    "port": "LETTERS_SMTP_PORT",
    "security": "LETTERS_SMTP_SECURITY",
    "user": "LETTERS_SMTP_USER",
}
_MAX_CONFIG_BYTES = 64 * 1024
SETUP_HINT = (
    'write host = "smtp.example.org" (and port, security, user) in '
    "~/.config/letters/smtp.toml, or set LETTERS_SMTP_HOST, or pass --smtp-host"
)


@dataclass(frozen=True)
class ServerFlags:
    """What the command line says about the server (None: not given)."""

    host: str | None = None
    port: int | None = None
    security: str | None = None
    user: str | None = None
    cafile: Path | None = None


@dataclass(frozen=True)
class SmtpSettings:
    host: str  # "" when nothing says which server: a dry run still works
    port: int
    security: str  # starttls | ssl | none
    user: str = ""
    bcc: tuple[str, ...] = ()
    cafile: Path | None = None
    timeout: float = 60.0
    config_file: Path | None = None  # the file that was read, if any

    def describe(self) -> str:
        """`smtp.example.org:587 (STARTTLS, user me@example.org)`."""
        if not self.host:
            return "not configured"
        security = {"starttls": "STARTTLS", "ssl": "SSL/TLS", "none": "no encryption"}
        extra = [security[self.security]]
        if self.user:
            extra.append(f"user {self.user}")
        if self.cafile:
            extra.append(f"CA {self.cafile}")
        return f"{self.host}:{self.port} ({', '.join(extra)})"

    def require_host(self) -> None:
        if not self.host:
            raise LettersError("no mail server is configured", hint=SETUP_HINT)


def config_path() -> Path:
    return config_dir() / CONFIG_FILE


def server_settings(flags: ServerFlags, environ: Mapping[str, str] | None = None) -> SmtpSettings:
    """The settings to use: flags, then the environment, then the config file, then defaults."""
    environ = os.environ if environ is None else environ
    path = config_path()
    values = _read_config(path)
    for key, variable in _ENVIRONMENT.items():
        if environ.get(variable, "").strip():
            values[key] = (environ[variable].strip(), variable, 0)
    for key in ("host", "port", "security", "user", "cafile"):
        value = getattr(flags, key)
        if value is not None:
            values[key] = (value, f"--{'smtp-' if key in ('host', 'port') else ''}{key}", 0)
    security = _choice(values, "security", "starttls")
    host = str(_value(values, "host", "")).strip()
    settings = SmtpSettings(
        host=host,
        port=_port(values, DEFAULT_PORTS[security]),
        security=security,
        user=str(_value(values, "user", "")).strip(),
        bcc=_bcc(values),
        cafile=_cafile(values),
        timeout=_timeout(values),
        config_file=path if path.is_file() else None,
    )
    if host and security == "none" and not is_loopback(host):
        source = values["security"][1]
        raise LettersError(
            f"security none sends your password and letters unencrypted; refused for {host!r}",
            _file(source),
            values["security"][2],
            hint="use starttls or ssl; security none is only for a server on this machine "
            "(localhost, 127.0.0.1, ::1)",
        )
    return settings


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def password(settings: SmtpSettings, environ: Mapping[str, str] | None = None) -> str:
    """The password for `settings.user`: LETTERS_SMTP_PASSWORD, else the system keyring."""
    environ = os.environ if environ is None else environ
    if environ.get(PASSWORD_VARIABLE):
        return environ[PASSWORD_VARIABLE]
    try:
        import keyring  # optional: only if the user installed it

        found = keyring.get_password(KEYRING_SERVICE, settings.user)
    except Exception:  # not installed, or no usable backend: say how to give it
        found = None
    if not found:
        raise LettersError(
            f"no password for the mail server user {settings.user!r}",
            hint=f"set {PASSWORD_VARIABLE}, or store it in the system keyring: "
            f"keyring set {KEYRING_SERVICE} {settings.user}",
        )
    return str(found)


# -- the config file -------------------------------------------------------------------


Values = dict[str, tuple[Any, str, int]]  # key → (value, where it came from, line)


def _read_config(path: Path) -> Values:
    try:
        with path.open("rb") as stream:
            data = stream.read(_MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise LettersError(f"cannot read the mail settings: {exc.strerror}", path) from None
    if len(data) > _MAX_CONFIG_BYTES:
        raise LettersError("the mail settings file is too large", path)
    try:
        text = data.decode("utf-8")
        deep = nesting_too_deep(text)
        if deep:
            raise LettersError("values are nested too deeply", path, deep)
        parsed = tomllib.loads(text)
    except UnicodeDecodeError:
        raise LettersError("the mail settings file is not UTF-8", path) from None
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        raise LettersError(
            f"not valid TOML: {exc}",
            path,
            int(found.group(1)) if found else 0,
            hint='write one setting a line, e.g. host = "smtp.example.org"',
        ) from None
    values: Values = {}
    for key, value in parsed.items():
        line = _line_of(text, key)
        if key == "password":
            raise LettersError(
                "the password is not read from a file",
                path,
                line,
                hint=f"delete this line; set {PASSWORD_VARIABLE} or store it in the system "
                f"keyring: keyring set {KEYRING_SERVICE} USER",
            )
        if key not in _KEYS:
            hint = suggest(key, list(_KEYS)) or "allowed keys: " + ", ".join(_KEYS)
            raise LettersError(f"unknown key {key!r}", path, line, hint=hint)
        values[key] = (value, str(path), line)
    return values


def _line_of(text: str, key: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(rf"\s*[\"']?{re.escape(key)}[\"']?\s*=", line):
            return number
    return 0


def _file(source: str) -> str | None:
    """The file a value came from, for an error (None for a flag or a variable)."""
    return source if source.endswith(CONFIG_FILE) else None


def _value(values: Values, key: str, default: Any) -> Any:
    return values[key][0] if key in values else default


def _bad(values: Values, key: str, message: str, hint: str = "") -> LettersError:
    value, source, line = values[key]
    where = "" if _file(source) else f"{source}: "
    return LettersError(f"{where}{key} {value!r}: {message}", _file(source), line, hint=hint)


def _choice(values: Values, key: str, default: str) -> str:
    value = _value(values, key, default)
    if not isinstance(value, str) or value.strip().lower() not in SECURITIES:
        raise _bad(values, key, f"must be one of {', '.join(SECURITIES)}")
    return value.strip().lower()


def _port(values: Values, default: int) -> int:
    value = _value(values, "port", default)
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdecimal() or not 1 <= int(text) <= 65535:
        raise _bad(values, "port", "must be a whole number from 1 to 65535", "e.g. 587")
    return int(text)


def _timeout(values: Values) -> float:
    value = _value(values, "timeout", 60)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 600:
        raise _bad(values, "timeout", "must be a number of seconds from 1 to 600")
    return float(value)


def _bcc(values: Values) -> tuple[str, ...]:
    value = _value(values, "bcc", [])
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise _bad(values, "bcc", "must be an address or a list of addresses")
    addresses = []
    for item in items:
        try:
            addresses.append(mailbox(item).addr_spec)
        except ValueError as exc:
            raise _bad(values, "bcc", str(exc)) from None
    return tuple(addresses)


def _cafile(values: Values) -> Path | None:
    value = _value(values, "cafile", None)
    if value is None:
        return None
    path = Path(os.path.expanduser(str(value)))
    if not path.is_file():
        raise _bad(values, "cafile", "is not a file", "give the CA certificate file (PEM)")
    return path
