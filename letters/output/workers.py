"""The PDF stage for many letters: worker processes, each with one warm PdfRenderer."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from letters.atomic import Writable
from letters.compose.letter import Letter
from letters.errors import LettersError
from letters.fileio import sha256_bytes
from letters.limits import LimitExceeded, Limits, guarded
from letters.output.plan import Job

PdfItem = tuple[Job, Letter, Path]


@dataclass(frozen=True)
class Rendered:
    """What became of one letter's PDF."""

    error: LettersError | None = None
    warnings: list[str] = field(default_factory=list)
    resources: list[Path] = field(default_factory=list)  # workspace files it used
    sha256: str = ""  # of the bytes written: the build records it without reading them back


PdfDone = tuple[Job, Path, Rendered]

_worker_renderer = None  # one per worker process, so fonts and CSS are parsed once
_limits = Limits()


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_PARENT_POLL_SECONDS = 1.0


def _die_with_parent(parent_pid: int) -> None:
    """End this worker as soon as the build that started it is gone, even by `kill -9`.

    On Linux the kernel sends SIGKILL when the parent dies (PR_SET_PDEATHSIG); the parent
    may have died before that was set, so its pid is checked right after. Elsewhere a
    daemon thread polls the parent's pid. Either way no orphan renders on and writes PDFs.
    """
    if _set_parent_death_signal(signal.SIGKILL):
        if os.getppid() != parent_pid:  # it died before the signal was armed
            os._exit(1)
        return
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(_PARENT_POLL_SECONDS)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="letters-parent-watch", daemon=True).start()


def _set_parent_death_signal(signum: int) -> bool:
    """Ask Linux to send `signum` to this process when its parent dies; False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # the process's own symbols, libc's among them
        return int(libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _init_worker(
    root: Path, pdf_variant: str | None, in_pool: bool = False, parent_pid: int | None = None
) -> None:
    global _worker_renderer, _limits
    from letters.layout.pdf import PdfRenderer

    if parent_pid is not None:
        _die_with_parent(parent_pid)
    _limits = Limits.from_env()
    if in_pool:
        # Ctrl-C reaches the whole process group; the parent alone decides how to stop.
        # SIGINT arrives blocked (see render_pdfs), so one sent during start-up is dropped.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _worker_renderer = PdfRenderer(root, pdf_variant=pdf_variant, max_pages=_limits.pages)


def _render_one(root: Path, out_root: Path, letter: Letter, path: Path) -> Rendered:
    """Lay out one letter and write its PDF atomically into the output folder (never
    through a link); never raises for a bad letter."""
    from letters.layout.html import letter_page

    assert _worker_renderer is not None
    label = "/".join(letter.key)
    try:
        # The page layout may be the campaign's own template: letter_page runs it under
        # the time and memory limits itself.
        html = letter_page(letter, root, _limits)
        # Pango and friends abort rather than fail when memory is refused: time limit only.
        with guarded(_limits, "laying out the PDF", memory=False):
            output = _worker_renderer.render(html, letter)
        Writable(out_root).write_atomic(path, output.data)
    except LettersError as error:
        error.letter = error.letter or label
        return Rendered(error)
    except LimitExceeded as exceeded:
        return Rendered(
            LettersError(str(exceeded), letter.template_file, hint=exceeded.hint, letter=label)
        )
    except Exception as exc:
        return Rendered(
            LettersError(
                f"PDF rendering failed: {type(exc).__name__}: {exc}",
                letter.template_file,
                letter=label,
            )
        )
    return Rendered(None, output.warnings, output.resources, sha256_bytes(output.data))


def _worker_died(letter: Letter) -> LettersError:
    return worker_stopped(letter.template_file, "/".join(letter.key))


def worker_stopped(template_file: Path | None, label: str) -> LettersError:
    """The error of a letter lost with a PDF worker that died."""
    return LettersError(
        "the PDF worker process stopped unexpectedly",
        template_file,
        hint="run the build again; if it happens again, try --jobs 1 to find the letter",
        letter=label,
    )


def _result(future: Future[Rendered], letter: Letter) -> Rendered:
    """What the worker made of `letter`; a failure of the pool's own (a letter that could
    not be sent, say) fails that letter, not the build. A dead worker breaks the pool."""
    try:
        return future.result()
    except BrokenProcessPool:
        raise
    except Exception as exc:
        label = "/".join(letter.key)
        return Rendered(
            LettersError(
                f"PDF rendering failed: {type(exc).__name__}: {exc}",
                letter.template_file,
                letter=label,
            )
        )


def start_workers(root: Path, pdf_variant: str | None, jobs: int) -> ProcessPoolExecutor:
    """Fork `jobs` PDF workers now, so that they load WeasyPrint, the fonts and the
    stylesheets while the build is still composing the letters (a second or so saved on a
    first build); pass the pool to `render_pdfs`, or shut it down if nothing is rendered."""
    # Each worker gets our pid to die with us (see _die_with_parent). The death signal
    # follows the thread that forked the worker: here, as the pool forks its workers on the
    # first submission, from this (the calling) thread, which outlives the pool.
    pool = ProcessPoolExecutor(
        max_workers=jobs,
        initializer=_init_worker,
        initargs=(root, pdf_variant, True, os.getpid()),
    )
    # Workers are forked by the first submission: they inherit SIGINT blocked until their
    # initializer ignores it, so an early Ctrl-C cannot kill one mid-start.
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        pool.submit(_started)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return pool


def _started() -> None:
    """Nothing: the first task submitted, which makes the pool fork its workers."""


def render_pdfs(
    root: Path,
    items: Iterable[PdfItem],
    count: int,
    pdf_variant: str | None,
    jobs: int,
    out_root: Path,
    pool: ProcessPoolExecutor | None = None,
) -> Iterator[PdfDone]:
    """Yield each of the `count` letters of `items` as its PDF is written (in completion
    order when parallel), by `pool` when the build started its workers early; the pool is
    shut down at the end. `items` is read as the workers need letters; if a worker dies,
    the letters in flight are yielded failed and the rest of `items` is left unread (the
    caller reports those: reading them would compose them for nothing)."""
    jobs = max(1, min(jobs, count))
    if jobs == 1 and pool is None:
        _init_worker(root, pdf_variant)
        for job, letter, path in items:
            yield job, path, _render_one(root, out_root, letter, path)
        return
    with pool or start_workers(root, pdf_variant, jobs) as pool:
        waiting: dict[Future[Rendered], PdfItem] = {}
        queue = iter(items)
        taken: list[PdfItem] = []  # out of the queue, in no future: lost if the pool breaks

        def submit(item: PdfItem) -> None:
            taken.append(item)
            waiting[pool.submit(_render_one, root, out_root, item[1], item[2])] = item
            taken.pop()

        try:
            try:
                # Keep a bounded number of letters in flight so memory stays flat.
                for item in queue:
                    submit(item)
                    if len(waiting) >= jobs * 4:
                        break
                while waiting:
                    done, _ = wait(waiting, return_when=FIRST_COMPLETED)
                    for future in done:
                        item = waiting.pop(future)
                        taken.append(item)
                        rendered = _result(future, item[1])
                        taken.pop()
                        yield item[0], item[2], rendered
                        following = next(queue, None)
                        if following is not None:
                            submit(following)
            except BrokenProcessPool:
                # A worker died (killed, a crash in a C library, or WeasyPrint failing to
                # load while the letters were composed): every letter not yet written is
                # lost with it; report each of them and stop.
                lost = [*taken, *waiting.values()]
                waiting.clear()
                for lost_job, lost_letter, lost_path in lost:
                    yield lost_job, lost_path, Rendered(_worker_died(lost_letter))
        except BaseException:
            for future in waiting:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
