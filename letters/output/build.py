"""Build letters: render in memory, skip what is unchanged, write outputs atomically.

The order of work: plan the jobs, render every letter (cheap, and it validates every
template against every recipient before anything is written), then produce each output
format, skipping outputs whose inputs have not changed since the last build.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from letters.atomic import Writable
from letters.compose.letter import Letter
from letters.compose.render import Renderer
from letters.errors import LettersError, LettersErrors, once_per_place
from letters.fileio import Confined, sha256_bytes
from letters.layout.markdown import letter_markdown
from letters.output.failures import failures_name, write_failures
from letters.output.folder import open_output_folder, output_path, remove_stale_temporaries
from letters.output.inputs import InputHasher
from letters.output.manifest import MANIFEST, Manifest, file_digest
from letters.output.options import BuildOptions
from letters.output.plan import Job
from letters.output.prepare import LetterFacts, composed, letter_digest, planned, render_job
from letters.output.print_files import write_case_print_files
from letters.output.results import BuildReport, OutputResult, Pending, Progress
from letters.output.shards import case_ids, shard_manifest_name
from letters.trust import trust_key
from letters.workspace import Workspace

# Letters kept composed between their check and their writing (a few kB each); the others
# are composed again. Up to this many, a build composes each letter once.
KEPT_LETTERS = 1000

if TYPE_CHECKING:  # the pool comes from output/workers.py, imported only to render PDFs
    from concurrent.futures import ProcessPoolExecutor


def build(root: Path, options: BuildOptions, progress: Progress | None = None) -> BuildReport:
    """Build the letters `options` selects (the options checked themselves when made)."""
    workers: ProcessPoolExecutor | None = None
    try:  # a Ctrl-C while the workers start still shuts them down
        workers = _early_workers(root, options)
        return _build(root, options, progress, workers)
    finally:
        if workers is not None:  # nothing to render after all, or the build failed
            workers.shutdown(wait=True, cancel_futures=True)


def _early_workers(root: Path, options: BuildOptions) -> ProcessPoolExecutor | None:
    """The PDF workers, started before the letters are composed when all of them will be
    rendered in parallel: a first build (no output folder yet) or --force, of the whole
    campaign. A rebuild starts them only if some letter changed, so an unchanged one never
    loads WeasyPrint; nor does `--to` or `--shard`, which may select a letter or none."""
    every_letter = (options.force or not os.path.lexists(options.output_folder(root))) and not (
        options.to or options.shard
    )
    if "pdf" not in options.formats or options.dry_run or options.jobs <= 1 or not every_letter:
        return None
    from letters.output.workers import start_workers

    return start_workers(root.resolve(), options.pdf_variant, options.jobs)


def _build(
    root: Path,
    options: BuildOptions,
    progress: Progress | None,
    workers: ProcessPoolExecutor | None,
) -> BuildReport:
    workspace, jobs = planned(root, options)
    renderer = Renderer(workspace)  # checks the letters, and composes again those not kept
    # Every letter is composed now, so that a problem in any stops the build before anything
    # is written. The first KEPT_LETTERS are kept for writing; of the others only what their
    # inputs' hash needs (LetterFacts), and they are composed again when written: memory
    # stays flat however large the campaign, and a usual one is composed once.
    letters: list[tuple[Job, LetterFacts]] = []
    kept: dict[tuple[str, str], Letter] = {}
    render_failures: list[tuple[Job, LettersError]] = []
    for job, letter in composed(workspace, jobs, options.today, renderer):
        if isinstance(letter, LettersError):
            render_failures.append((job, letter))
            continue
        letters.append((job, LetterFacts.of(letter)))
        if len(kept) < KEPT_LETTERS:
            kept[job.case_id, job.key] = letter
    out_dir = options.output_folder(workspace.root)
    render_errors = [error for _, error in render_failures]
    report = BuildReport(
        out_dir=out_dir,
        planned=jobs,
        render_errors=render_errors,
        render_failures=render_failures,
    )
    if render_errors and not options.keep_going:
        raise LettersErrors(once_per_place(render_errors))
    out = open_output_folder(out_dir, case_ids(jobs), create=not options.dry_run)
    key, key_problem = trust_key()
    if key_problem:
        report.warnings.append(f"{key_problem}; every letter is rebuilt (set LETTERS_TRUST_KEY)")
    hasher = InputHasher(workspace, options)
    manifest_name = shard_manifest_name(options.shard) if options.shard else MANIFEST
    manifests = {
        case_id: Manifest.read(out, case_id, manifest_name, key) for case_id in case_ids(jobs)
    }
    if not options.dry_run:
        for case_id in manifests:
            remove_stale_temporaries(out, case_id)
            if not options.shard:
                report.removed.extend(manifests[case_id].remove_untrusted_print_files())
    pending: list[Pending] = []
    for job, facts in letters:
        for fmt in options.formats:
            path = output_path(out_dir, job, fmt)
            inputs = hasher.inputs(job, facts, fmt)
            reason = manifests[job.case_id].change(job.key, fmt, inputs, path, hasher.resource)
            if reason == "unchanged" and not options.force:
                report.outputs.append(OutputResult(job, fmt, path, "unchanged"))
            elif options.dry_run:
                status = "new" if reason == "new" else "rebuild"
                why = "forced" if reason == "unchanged" else reason
                report.outputs.append(OutputResult(job, fmt, path, status, why))
            else:
                pending.append(Pending(job, facts, fmt, path, inputs))
    waiting = {(item.job.case_id, item.job.key) for item in pending}
    kept = {key: letter for key, letter in kept.items() if key in waiting}  # unchanged: let go
    report.total = len(report.outputs) + len(pending)
    if options.dry_run:
        return report
    if progress is not None:
        for result in report.outputs:
            progress(result, report.total)
    try:
        for result in _produce(workspace, renderer, out, pending, options, workers, kept):
            if result.status == "built":
                _record(manifests[result.job.case_id], result, workspace.root)
            report.outputs.append(result)
            if progress is not None:
                progress(result, report.total)
            if result.status == "failed" and options.fail_fast:
                report.stopped_early = True
                break
    finally:
        for manifest in manifests.values():
            manifest.save()
    for case_id in manifests:
        write_failures(
            out,
            case_id,
            [r for r in report.outputs if r.job.case_id == case_id],
            failures_name(options.shard),
            partial=bool(options.to),
            not_rendered=[(j, e) for j, e in render_failures if j.case_id == case_id],
        )
    if not options.to and not options.shard and not report.stopped_early:
        # Only a full build knows every letter that should exist; a partial one would
        # delete the letters it did not select.
        for case_id, manifest in manifests.items():
            keep = {job.key for job in jobs if job.case_id == case_id}
            report.removed.extend(manifest.prune(keep))
            manifest.save()
    if options.print_file and "pdf" in options.formats:
        if report.failed or report.render_errors:
            # A print file with letters missing would be posted as if it were complete.
            report.print_skipped = True
        else:
            report.print_files.extend(write_case_print_files(out, jobs, options.duplex, manifests))
    return report


def _record(manifest: Manifest, result: OutputResult, root: Path) -> None:
    job = result.job
    resources = {
        path.relative_to(root).as_posix(): file_digest(Confined(root), str(path.relative_to(root)))
        for path in result.resources
        if root in path.parents
    }
    manifest.record(
        job.key,
        (job.template_name, job.recipient_id),
        job.paper,
        result.format,
        result.path,
        result.inputs,
        resources,
        result.sha256,
    )


def _produce(
    workspace: Workspace,
    renderer: Renderer,
    out: Writable,
    pending: list[Pending],
    options: BuildOptions,
    workers: ProcessPoolExecutor | None,
    kept: dict[tuple[str, str], Letter],
) -> Iterator[OutputResult]:
    """Write every pending output; PDFs go through the PDF stage (possibly in parallel).
    A letter not `kept` since it was checked is composed again as it is written, and must
    be the letter that was checked."""
    pdfs = {item.path: item for item in pending if item.format == "pdf"}
    in_order = [item for item in pending if item.format != "pdf"] + list(pdfs.values())
    last_format = {(item.job.case_id, item.job.key): item.format for item in in_order}

    def letter_of(item: Pending) -> Letter:
        key = (item.job.case_id, item.job.key)
        letter = kept.get(key)
        if letter is None:
            letter = render_job(renderer, workspace, item.job, options.today)
            if letter_digest(letter) != item.facts.digest:
                raise LettersError(
                    "the letter came out differently when composed again to be written",
                    item.facts.template_file,
                    hint="a template must give the same letter each time; build again",
                )
            return letter
        if last_format[key] == item.format:
            del kept[key]  # its last output: let it go
        return letter

    def failed(item: Pending, error: LettersError) -> OutputResult:
        error.letter = error.letter or item.job.label
        return OutputResult(item.job, item.format, item.path, "failed", error=error)

    for item in pending:
        if item.format == "pdf":
            continue
        try:
            letter = letter_of(item)
            if item.format == "md":
                data = letter_markdown(letter).encode("utf-8")
            else:
                from letters.layout.html import letter_page

                # The campaign's own page layout may fail for this letter (a limit, say).
                data = letter_page(letter, workspace.root).encode("utf-8")
        except LettersError as error:
            yield failed(item, error)
            continue
        out.write_atomic(item.path, data)
        yield OutputResult(
            item.job, item.format, item.path, "built", inputs=item.inputs, sha256=sha256_bytes(data)
        )
    if not pdfs:
        return
    from letters.output.workers import PdfItem, render_pdfs, worker_stopped

    not_composed: list[OutputResult] = []

    def work() -> Iterator[PdfItem]:
        # Composed as the workers take them: a few letters in flight, never all of them.
        for item in pdfs.values():
            try:
                yield item.job, letter_of(item), item.path
            except LettersError as error:
                not_composed.append(failed(item, error))

    done: set[Path] = set()
    for job, path, rendered in render_pdfs(
        workspace.root, work(), len(pdfs), options.pdf_variant, options.jobs, out.root, workers
    ):
        done.add(path)
        yield OutputResult(
            job,
            "pdf",
            path,
            "failed" if rendered.error else "built",
            error=rendered.error,
            warnings=rendered.warnings,
            inputs=pdfs[path].inputs,
            resources=rendered.resources,
            sha256=rendered.sha256,
        )
        while not_composed:  # in turn, so that --fail-fast stops at the first
            result = not_composed.pop(0)
            done.add(result.path)
            yield result
    for result in not_composed:
        done.add(result.path)
        yield result
    for path, item in pdfs.items():
        if path not in done:  # never sent: a worker died first
            yield failed(item, worker_stopped(item.facts.template_file, item.job.label))
