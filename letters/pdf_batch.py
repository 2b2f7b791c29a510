"""The PDF stage for many letters: worker processes, each with one warm PdfRenderer."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from letters.errors import LettersError
from letters.fileio import write_atomic
from letters.letter import Letter
from letters.limits import LimitExceeded, Limits, guarded
from letters.plan import Job

PdfItem = tuple[Job, Letter, Path]


@dataclass(frozen=True)
class Rendered:
    """What became of one letter's PDF."""

    error: LettersError | None = None
    warnings: list[str] = field(default_factory=list)
    resources: list[Path] = field(default_factory=list)  # workspace files it used


PdfDone = tuple[Job, Path, Rendered]

_worker_renderer = None  # one per worker process, so fonts and CSS are parsed once
_limits = Limits()


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _init_worker(root: Path, pdf_variant: str | None, in_pool: bool = False) -> None:
    global _worker_renderer, _limits
    from letters.pdf import PdfRenderer

    _limits = Limits.from_env()
    if in_pool:
        # Ctrl-C reaches the whole process group; the parent alone decides how to stop.
        # SIGINT arrives blocked (see render_pdfs), so one sent during start-up is dropped.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _worker_renderer = PdfRenderer(root, pdf_variant=pdf_variant, max_pages=_limits.pages)


def _render_one(root: Path, letter: Letter, path: Path) -> Rendered:
    """Lay out one letter and write its PDF atomically; never raises for a bad letter."""
    from letters.html import letter_page

    assert _worker_renderer is not None
    label = f"{letter.case_id}/{letter.template_name}/{letter.recipient_id}"
    try:
        with guarded(_limits, "laying out the PDF", memory=False):
            output = _worker_renderer.render(letter_page(letter, root), letter)
    except LettersError as error:
        error.message = f"{label}: {error.message}"
        return Rendered(error)
    except LimitExceeded as exceeded:
        return Rendered(
            LettersError(f"{label}: {exceeded}", letter.template_file, hint=exceeded.hint)
        )
    except Exception as exc:
        return Rendered(
            LettersError(
                f"{label}: PDF rendering failed: {type(exc).__name__}: {exc}", letter.template_file
            )
        )
    write_atomic(path, output.data)
    return Rendered(None, output.warnings, output.resources)


def _worker_died(letter: Letter) -> LettersError:
    return LettersError(
        f"{letter.case_id}/{letter.template_name}/{letter.recipient_id}: the PDF worker "
        "process stopped unexpectedly",
        letter.template_file,
        hint="run the build again; if it happens again, try --jobs 1 to find the letter",
    )


def render_pdfs(
    root: Path, items: list[PdfItem], pdf_variant: str | None, jobs: int
) -> Iterator[PdfDone]:
    """Yield each letter as its PDF is written (in completion order when parallel)."""
    jobs = max(1, min(jobs, len(items)))
    if jobs == 1:
        _init_worker(root, pdf_variant)
        for job, letter, path in items:
            yield job, path, _render_one(root, letter, path)
        return
    with ProcessPoolExecutor(
        max_workers=jobs, initializer=_init_worker, initargs=(root, pdf_variant, True)
    ) as pool:
        waiting: dict[Future[Rendered], PdfItem] = {}
        queue = iter(items)
        try:
            # Workers are forked by the first submissions: they inherit SIGINT blocked until
            # their initializer ignores it, so an early Ctrl-C cannot kill one mid-start.
            previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                # Keep a bounded number of letters in flight so memory stays flat.
                for item in queue:
                    waiting[pool.submit(_render_one, root, item[1], item[2])] = item
                    if len(waiting) >= jobs * 4:
                        break
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, previous)
            while waiting:
                done, _ = wait(waiting, return_when=FIRST_COMPLETED)
                for future in done:
                    job, letter, path = waiting.pop(future)
                    try:
                        rendered = future.result()
                    except BrokenProcessPool:
                        # A worker died (killed, or a crash in a C library): every letter
                        # still in flight is lost with it; report them and stop.
                        for lost_job, lost_letter, lost_path in [
                            (job, letter, path),
                            *waiting.values(),
                            *queue,
                        ]:
                            yield lost_job, lost_path, Rendered(_worker_died(lost_letter))
                        waiting.clear()
                        return
                    yield job, path, rendered
                    following = next(queue, None)
                    if following is not None:
                        waiting[pool.submit(_render_one, root, following[1], following[2])] = (
                            following
                        )
        except BaseException:
            for future in waiting:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
