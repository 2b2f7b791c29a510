"""E-mail addresses and header text for `letters send`: parsed strictly, one line each.

Names, subjects and addresses come from campaign files a stranger may have written. Every
value that goes into a header passes through here: line breaks and other control characters
become spaces (so no header can be added through a name or a subject), and an address must
be one plain `local@domain`, which Python's `email` package then parses again.
"""

from __future__ import annotations

import re
from email.errors import HeaderParseError, MessageDefect
from email.headerregistry import Address

# One address: no spaces, brackets, quotes, commas or a second @ (non-ASCII is allowed:
# it is sent with SMTPUTF8).
_ADDRESS = re.compile(r"[^\s<>()\[\]\\,;:\"@]+@[^\s<>()\[\]\\,;:\"@]+")
_NAMED = re.compile(r"([^<>]*?)\s*<([^<>]*)>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# RFC 5321 limits an address to 254 characters; a display name longer than this is no
# person's name (and folding a huge one into a header takes seconds).
MAX_ADDRESS = 254
MAX_NAME = 200
_DOMAIN = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


def one_line(text: str) -> str:
    """`text` on one line: control characters and runs of white space become one space."""
    return " ".join(_CONTROL.sub(" ", text).split())


def mailbox(text: str, name: str = "") -> Address:
    """`local@domain` (with `name` as its display name) or `Name <local@domain>` as an
    Address; ValueError saying what is wrong otherwise."""
    text = text.strip()
    named = _NAMED.fullmatch(text)
    if named:
        name, text = named.group(1).strip(), named.group(2).strip()
        if len(name) >= 2 and name[0] == name[-1] == '"':
            name = name[1:-1]
    if len(text) > MAX_ADDRESS:
        raise ValueError(f"the address is longer than {MAX_ADDRESS} characters")
    if len(name) > MAX_NAME:
        raise ValueError(f"the name before the address is longer than {MAX_NAME} characters")
    local, _, domain = text.rpartition("@")
    if (
        not _ADDRESS.fullmatch(text)
        or any(
            part.startswith(".") or part.endswith(".") or ".." in part for part in (local, domain)
        )
        or "@" in local
    ):
        raise ValueError(f"{text!r} is not an e-mail address")
    try:
        if local.isascii():
            return Address(display_name=one_line(name), addr_spec=text)
        # The email package refuses a non-ASCII local part in addr_spec, not in its parts.
        return Address(display_name=one_line(name), username=local, domain=domain)
    except (ValueError, IndexError, HeaderParseError, MessageDefect):
        raise ValueError(f"{text!r} is not an e-mail address") from None


def needs_utf8(address: Address) -> bool:
    """Whether sending to (or from) this address needs the server's SMTPUTF8."""
    return not address.addr_spec.isascii()


def shown(address: Address) -> str:
    """`"Name" <local@domain>` for the terminal and the log (not a header)."""
    if not address.display_name:
        return address.addr_spec
    return f'"{address.display_name}" <{address.addr_spec}>'


def message_id_domain(address: Address) -> str:
    """The right-hand side of a Message-ID: the sender's domain, as ASCII."""
    domain = address.domain.lower()
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return "letters.invalid"
    return domain if _DOMAIN.fullmatch(domain) else "letters.invalid"
