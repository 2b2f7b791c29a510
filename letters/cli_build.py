"""Builds and previews from the command line: once with a progress bar, or again on every
save with --watch (one line per rebuild; a PDF viewer that reloads on change then shows the
new letter about a second after you save)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import typer

from letters import LettersError
from letters.display import BuildProgress, err, out, relative, show_build, show_errors
from letters.output.options import BuildOptions
from letters.output.results import BuildReport


def build_once(root: Path, options: BuildOptions, quiet: bool) -> BuildReport:
    """One build with a progress bar (or lines when piped), then its summary."""
    from letters.output.build import build

    started = time.monotonic()
    with BuildProgress(quiet=quiet or options.dry_run, root=root) as progress:
        try:
            report = build(root, options, progress.update)
        except KeyboardInterrupt:
            progress.stop()
            err.print(
                f"Interrupted after {progress.done} letters; finished letters are saved and "
                "the next build does only the rest."
            )
            raise typer.Exit(130) from None
    show_build(report, root, options.dry_run, quiet, time.monotonic() - started)
    return report


def watch_build(root: Path, options: BuildOptions) -> int:
    """Build, then rebuild what changed on every save, until Ctrl-C."""
    from letters.output.build import build

    def rebuild(saved: list[Path]) -> None:
        started = time.monotonic()
        report = build(root, options)
        built = report.count("built")
        failed = len(report.failed) + len(report.render_errors)
        for problem in [*report.render_errors, *(r.error for r in report.failed if r.error)]:
            show_errors(problem, root)
        what = ", ".join(relative(path, root) for path in saved[:3]) or "start"
        out.print(
            f"{time.strftime('%H:%M:%S')} {what}: built {built}, failed {failed}, "
            f"unchanged {report.count('unchanged')} ({time.monotonic() - started:.1f}s)"
        )

    return _on_every_save(root, rebuild)


def watch_preview(root: Path, show: Callable[[], None]) -> int:
    """Show a letter, then show it again on every save, until Ctrl-C."""

    def redraw(saved: list[Path]) -> None:
        if out.is_terminal:
            out.clear()
        show()
        if saved:
            err.print(
                f"[dim]{time.strftime('%H:%M:%S')} redrawn after saving "
                f"{', '.join(relative(path, root) for path in saved[:3])}[/dim]"
            )

    return _on_every_save(root, redraw)


def _on_every_save(root: Path, action: Callable[[list[Path]], None]) -> int:
    from letters.commands.watch import saves

    out.print(f"Watching {relative(root, root.parent)} for saves; Ctrl-C stops.")
    _quietly(action, root, [])
    try:
        for saved in saves(root):
            _quietly(action, root, saved)
    except KeyboardInterrupt:
        pass
    return 0


def _quietly(action: Callable[[list[Path]], None], root: Path, saved: list[Path]) -> None:
    """Run one round; a mistake in a file being edited is shown, and watching goes on."""
    try:
        action(saved)
    except LettersError as error:
        show_errors(error, root)
