"""Resource limits for rendering one letter, so a hostile template can't hang or eat memory.

Each limit can be changed with an environment variable (documented in the README):
LETTERS_TIME_LIMIT (seconds per letter and stage), LETTERS_MEMORY_LIMIT_MB (extra address
space a render may take), LETTERS_PAGE_LIMIT (pages per letter), LETTERS_LETTER_LIMIT_KB
(Markdown text per letter).
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from letters.errors import LettersError


class LimitExceeded(Exception):
    """Raised inside a render that went over one of its limits."""

    def __init__(self, kind: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.hint = hint


@dataclass(frozen=True)
class Limits:
    seconds: int = 20
    memory_mb: int = 1024
    pages: int = 50
    letter_kb: int = 512

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            seconds=number("LETTERS_TIME_LIMIT", cls.seconds, maximum=86_400),
            memory_mb=number("LETTERS_MEMORY_LIMIT_MB", cls.memory_mb),
            pages=number("LETTERS_PAGE_LIMIT", cls.pages),
            letter_kb=number("LETTERS_LETTER_LIMIT_KB", cls.letter_kb),
        )

    def too_slow(self, what: str) -> LimitExceeded:
        return LimitExceeded(
            "time",
            f"{what} took longer than the limit of {self.seconds:g} s",
            "look for a loop that runs too often; raise LETTERS_TIME_LIMIT if the letter "
            "really needs longer",
        )

    def too_big(self, what: str) -> LimitExceeded:
        return LimitExceeded(
            "memory",
            f"{what} needed more memory than the limit of {self.memory_mb} MB",
            "look for an expression that builds a huge value; raise LETTERS_MEMORY_LIMIT_MB "
            "if needed",
        )

    def too_long(self) -> LimitExceeded:
        return LimitExceeded(
            "size",
            f"the letter is longer than the limit of {self.letter_kb} KB of text",
            "look for a loop that repeats text; raise LETTERS_LETTER_LIMIT_KB if needed",
        )

    def too_many_pages(self, pages: int) -> LimitExceeded:
        return LimitExceeded(
            "pages",
            f"the letter has {pages} pages, more than the limit of {self.pages}",
            "shorten the letter or raise LETTERS_PAGE_LIMIT",
        )


def number(name: str, default: int, maximum: int = 1_000_000) -> int:
    """A limit from the environment variable `name`: a whole number from 1 to `maximum`,
    or `default` when unset. "0.5" or "0" is an error, never a silent "no limit"."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdecimal() and 1 <= int(text) <= maximum):
        raise LettersError(
            f"{name}={text!r} is not a usable limit",
            hint=f"set {name} to a whole number from 1 to {maximum}, or unset it",
        )
    return int(text)


_active: list[str] = []  # the guard running now in this process's main thread, if any


def address_space_bytes() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as stream:
            return int(stream.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


@contextlib.contextmanager
def guarded(limits: Limits, what: str, memory: bool = True) -> Iterator[None]:
    """Run the block under a wall-clock alarm and an address-space cap.

    Both work in the main thread of a process only (signals are delivered there); elsewhere
    the block runs unguarded, which the README says. `memory=False` keeps only the alarm:
    C libraries such as Pango abort rather than fail cleanly when an allocation is refused.
    """
    if threading.current_thread() is not threading.main_thread() or _active:
        # Nested guards would cancel the outer alarm on exit: the outermost one governs.
        yield
        return
    previous_handler = None
    previous_limit = resource.getrlimit(resource.RLIMIT_AS)

    def on_alarm(signum: int, frame: object) -> None:
        raise limits.too_slow(what)

    _active.append(what)
    try:
        previous_handler = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, limits.seconds)
        current = address_space_bytes()
        if memory and current and limits.memory_mb > 0:
            cap = current + limits.memory_mb * 1024 * 1024
            hard = previous_limit[1]
            if hard == resource.RLIM_INFINITY or cap < hard:
                resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
        try:
            yield
        except MemoryError:
            raise limits.too_big(what) from None
    finally:
        _active.pop()
        signal.setitimer(signal.ITIMER_REAL, 0)
        if previous_handler is not None:
            signal.signal(signal.SIGALRM, previous_handler)
        resource.setrlimit(resource.RLIMIT_AS, previous_limit)
