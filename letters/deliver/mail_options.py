"""What a `letters send` run is asked to do, checked as soon as it is said, and the clock it
keeps time with (a test gives its own, so that no test sleeps)."""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from letters.dates import today
from letters.deliver.mail_address import mailbox
from letters.deliver.mail_config import ServerFlags
from letters.errors import LettersError

DEFAULT_RATE = 30.0  # messages a minute: what most providers accept without alarm
# Waits before the second, third and fourth try of a message after a transient failure.
RETRY_DELAYS = (5.0, 20.0, 60.0)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Clock:
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    now: Callable[[], dt.datetime] = _now


@dataclass(frozen=True)
class SendOptions:
    cases: tuple[str, ...] = ()
    to: tuple[str, ...] = ()
    dry_run: bool = True  # say what would be sent; send nothing
    limit: int | None = None  # send at most this many messages
    rate: float = DEFAULT_RATE  # messages a minute, at most
    attach: bool = True  # the letter's PDF, built first if out of date
    resend: bool = False  # send uncertain letters again
    redirect: str = ""  # send every message to this address instead (a test run)
    paper: str | None = None
    pdf_variant: str | None = None
    jobs: int = 1  # PDF worker processes when attachments must be built
    server: ServerFlags = field(default_factory=ServerFlags)
    today: dt.date = field(default_factory=today)
    retry_delays: tuple[float, ...] = RETRY_DELAYS

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 1:
            raise LettersError(
                f"--limit {self.limit}: give at least 1", hint="e.g. --limit 1 to try one"
            )
        if not (math.isfinite(self.rate) and self.rate > 0):
            raise LettersError(
                f"--rate {self.rate}: give a number of messages a minute above 0",
                hint="e.g. --rate 30",
            )
        if self.redirect:
            try:
                mailbox(self.redirect)
            except ValueError as exc:
                raise LettersError(
                    f"--redirect: {exc}", hint="e.g. --redirect you@example.org"
                ) from None
        if self.jobs < 1:
            raise LettersError(f"--jobs {self.jobs}: give at least 1", hint="e.g. --jobs 2")
