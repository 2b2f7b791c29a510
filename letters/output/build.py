"""Build letters: render in memory, skip what is unchanged, write outputs atomically.

The order of work: plan the jobs, render every letter (cheap, and it validates every
template against every recipient before anything is written), then produce each output
format, skipping outputs whose inputs have not changed since the last build.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.loaders import split_template_path

from letters import __version__
from letters.compose.letter import Letter
from letters.compose.render import Renderer
from letters.errors import LettersError, LettersErrors, WriteError
from letters.fileio import Confined, is_abandoned, sha256_bytes, sha256_file
from letters.layout.html import ASSETS_DIR
from letters.layout.markdown import letter_markdown
from letters.output.manifest import MANIFEST, Manifest, file_digest
from letters.output.plan import Job, plan
from letters.output.trust import trust_key
from letters.workspace import TEMPLATE_SUFFIX, TEMPLATES_DIR, Workspace, load_workspace
from letters.workspace.templates import template_text

FORMATS = ("md", "html", "pdf")
FAILURES = "failures.json"


@dataclass(frozen=True)
class BuildOptions:
    formats: tuple[str, ...] = ("md",)
    out_dir: Path | None = None  # default: <workspace>/out
    cases: tuple[str, ...] = ()
    to: tuple[str, ...] = ()
    paper: str | None = None
    force: bool = False
    dry_run: bool = False
    keep_going: bool = False
    pdf_variant: str | None = None
    today: dt.date = field(default_factory=dt.date.today)
    print_file: bool = False
    duplex: bool = False
    jobs: int = 1
    fail_fast: bool = False
    shard: tuple[int, int] | None = None  # (K, N): build the K-th of N slices


@dataclass
class OutputResult:
    job: Job
    format: str
    path: Path
    status: str  # built | unchanged | failed | new | changed (the last two in a dry run)
    reason: str = ""
    error: LettersError | None = None
    warnings: list[str] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)
    resources: list[Path] = field(default_factory=list)  # workspace files a PDF used


@dataclass(frozen=True)
class Pending:
    job: Job
    letter: Letter
    format: str
    path: Path
    inputs: dict[str, str]


@dataclass
class BuildReport:
    out_dir: Path
    planned: list[Job] = field(default_factory=list)
    outputs: list[OutputResult] = field(default_factory=list)
    render_errors: list[LettersError] = field(default_factory=list)
    render_failures: list[tuple[Job, LettersError]] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    print_files: list[Path] = field(default_factory=list)
    total: int = 0
    stopped_early: bool = False
    print_skipped: bool = False
    warnings: list[str] = field(default_factory=list)  # about the build, not one letter

    def count(self, status: str) -> int:
        return sum(1 for output in self.outputs if output.status == status)

    @property
    def failed(self) -> list[OutputResult]:
        return [output for output in self.outputs if output.status == "failed"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.render_errors else 0


Progress = Callable[[OutputResult, int], None]  # (an output done, outputs in this build)


def output_path(out_dir: Path, job: Job, fmt: str) -> Path:
    return out_dir / job.case_id / job.template_name / f"{job.recipient_id}.{fmt}"


def prepare(
    root: Path, options: BuildOptions
) -> tuple[Workspace, list[Job], list[tuple[Job, Letter]], list[tuple[Job, LettersError]]]:
    """Load, plan and render every selected letter in memory; collect every problem."""
    workspace, errors = load_workspace(root)
    if errors:
        # Planning on a half-loaded workspace would only add echoes of the same problems.
        raise LettersErrors(errors)
    jobs, errors = plan(workspace, list(options.cases), list(options.to), options.paper)
    if errors:
        raise LettersErrors(errors)
    if options.shard:
        jobs = [job for job in jobs if in_shard(job, options.shard)]
    renderer = Renderer(workspace)
    letters: list[tuple[Job, Letter]] = []
    render_errors: list[tuple[Job, LettersError]] = []
    for job in jobs:
        try:
            letters.append((job, render_job(renderer, workspace, job, options.today)))
        except LettersError as error:
            render_errors.append((job, error))
    return workspace, jobs, letters, render_errors


def render_job(renderer: Renderer, workspace: Workspace, job: Job, today: dt.date) -> Letter:
    recipient = workspace.recipient(job.recipient_id)
    assert recipient is not None
    return renderer.render(
        workspace.cases[job.case_id], job.template_name, recipient, job.paper, today
    )


def build(root: Path, options: BuildOptions, progress: Progress | None = None) -> BuildReport:
    for fmt in options.formats:
        if fmt not in FORMATS:
            raise LettersError(f"unknown format {fmt!r}", hint="use md, html or pdf")
    if options.to and options.print_file:
        raise LettersError(
            "--print makes the print file of the whole case, so it cannot go with --to",
            hint="build without --to (unchanged letters are skipped, so it is quick)",
        )
    if options.shard and options.print_file:
        raise LettersError(
            "--print needs every letter; a shard has only its slice",
            hint="build the shards, gather their out/ folders, then run `letters merge-print`",
        )
    workspace, jobs, letters, render_failures = prepare(root, options)
    out_dir = (options.out_dir or workspace.root / "out").resolve()
    render_errors = [error for _, error in render_failures]
    report = BuildReport(
        out_dir=out_dir,
        planned=jobs,
        render_errors=render_errors,
        render_failures=render_failures,
    )
    if render_errors and not options.keep_going:
        raise LettersErrors(render_errors)
    out = open_output_folder(out_dir, _case_ids(jobs), create=not options.dry_run)
    key, key_problem = trust_key()
    if key_problem:
        report.warnings.append(f"{key_problem}; every letter is rebuilt (set LETTERS_TRUST_KEY)")
    hasher = InputHasher(workspace, options)
    manifest_name = shard_manifest_name(options.shard) if options.shard else MANIFEST
    manifests = {
        case_id: Manifest.read(out, case_id, manifest_name, key) for case_id in _case_ids(jobs)
    }
    if not options.dry_run:
        for case_id in manifests:
            remove_stale_temporaries(out, case_id)
            if not options.shard:
                report.removed.extend(manifests[case_id].remove_untrusted_print_files())
    pending: list[Pending] = []
    for job, letter in letters:
        for fmt in options.formats:
            path = output_path(out_dir, job, fmt)
            inputs = hasher.inputs(job, letter, fmt)
            reason = manifests[job.case_id].change(job.key, fmt, inputs, path, hasher.resource)
            if reason == "unchanged" and not options.force:
                report.outputs.append(OutputResult(job, fmt, path, "unchanged"))
            elif options.dry_run:
                status = "new" if reason == "new" else "rebuild"
                why = "forced" if reason == "unchanged" else reason
                report.outputs.append(OutputResult(job, fmt, path, status, why))
            else:
                pending.append(Pending(job, letter, fmt, path, inputs))
    report.total = len(report.outputs) + len(pending)
    if options.dry_run:
        return report
    if progress is not None:
        for result in report.outputs:
            progress(result, report.total)
    try:
        for result in _produce(workspace, out, pending, options):
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
    )


def open_output_folder(out_dir: Path, case_ids: list[str], create: bool) -> Confined:
    """The output folder, checked before anything is written into it.

    `out_dir` itself may be a link the user chose with --out; below it, a link or any other
    file that is not a regular one (a FIFO where the journal goes) is refused, naming it:
    a campaign could ship `out/<case>/manifest.json.journal` as a link to a file elsewhere.
    """
    if create:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WriteError(
                f"cannot create the output folder: {exc.strerror}",
                out_dir,
                hint="choose another folder with --out",
            ) from None
    elif not out_dir.is_dir():
        return Confined(out_dir)
    if not out_dir.is_dir():
        raise WriteError("the output folder is a file, not a folder", out_dir)
    out = Confined(out_dir)
    problems: list[LettersError] = []
    for case_id in case_ids:
        kind = out.kind(case_id)
        if kind in ("file", "other"):
            raise WriteError(
                f"{case_id} in the output folder is a file, not a folder",
                out.path(case_id),
                hint="move it away, then build again",
            )
        problems += [
            LettersError(
                "a link (or another file that is not a regular one) in the output folder",
                path,
                hint="delete it: letters never writes through links",
            )
            for path in out.walk_links(case_id)
        ]
    if problems:
        raise LettersErrors(problems)
    return out


def remove_stale_temporaries(out: Confined, case_id: str) -> None:
    """Delete temporary files a killed build left behind (finished files are never torn).

    Builds may share the folder (shards), so only files of writers that have stopped go.
    """
    if out.kind(case_id) != "folder":
        return
    for path in out.files(case_id):
        if path.name.startswith(".") and path.name.endswith(".tmp") and is_abandoned(path):
            out.unlink(path)


def write_case_print_files(
    out: Confined, jobs: list[Job], duplex: bool, manifests: dict[str, Manifest]
) -> list[Path]:
    """print.pdf for each case, in plan order (template order in the case, then recipients)."""
    from letters.output.printing import write_print_files

    written: list[Path] = []
    for case_id in _case_ids(jobs):
        files = [
            (job.paper, output_path(out.root, job, "pdf")) for job in jobs if job.case_id == case_id
        ]
        missing = [path for _, path in files if not out.is_file(path)]
        if missing:
            raise LettersError(
                f"{len(missing)} letter(s) of case {case_id!r} have no PDF yet, e.g. "
                f"{missing[0].relative_to(out.root)}",
                out.path(case_id),
                hint="build every shard (or run `letters build --format pdf`) first",
            )
        manifest = manifests[case_id]
        names = write_print_files(out, case_id, files, duplex)
        for stale in ("print.pdf", "print-a4.pdf", "print-letter.pdf"):
            if stale not in names:
                manifest.forget_print_file(stale)
        for name in names:
            manifest.record_print_file(name)
            written.append(out.path(f"{case_id}/{name}"))
        manifest.save()
    return written


def merge_print(root: Path, options: BuildOptions) -> list[Path]:
    """Join the PDFs of a sharded build into print files, in unsharded order.

    Only letters recorded in a manifest this user can verify count as built: shards built on
    other machines must share the key (LETTERS_TRUST_KEY)."""
    workspace, jobs, letters, render_failures = prepare(root, options)
    if render_failures:
        raise LettersErrors([error for _, error in render_failures])
    out_dir = (options.out_dir or workspace.root / "out").resolve()
    out = open_output_folder(out_dir, _case_ids(jobs), create=True)
    key, _ = trust_key()
    hasher = InputHasher(workspace, options)
    problems: list[str] = []
    for case_id in _case_ids(jobs):
        names = out.listdir(case_id) if out.kind(case_id) == "folder" else []
        for name in names:
            if name.startswith("failures") and name.endswith(".json"):
                problems.append(f"{case_id}/{name} lists letters that failed")
        recorded = _recorded_outputs(out, case_id, names, key)
        for job, letter in letters:
            if job.case_id != case_id:
                continue
            path = output_path(out_dir, job, "pdf")
            entry = recorded.get(job.key)
            current = hasher.inputs(job, letter, "pdf")
            if entry is None or not out.is_file(path):
                problems.append(f"{path.relative_to(out_dir)} has not been built")
            elif out.sha256(path) != entry.get("sha256") or any(
                entry.get("inputs", {}).get(name) != value
                for name, value in current.items()
                if name != "options"  # the shards' --pdf-variant is theirs to choose
            ):
                problems.append(f"{path.relative_to(out_dir)} is out of date")
    if problems:
        raise LettersError(
            f"{len(problems)} letter(s) are not ready to print, e.g. {problems[0]}",
            out_dir,
            hint="build every shard again (unchanged letters are skipped), then merge-print; "
            "shards built on other machines need the same LETTERS_TRUST_KEY",
        )
    manifests = {case_id: Manifest.read(out, case_id, MANIFEST, key) for case_id in _case_ids(jobs)}
    return write_case_print_files(out, jobs, options.duplex, manifests)


def _recorded_outputs(
    out: Confined, case_id: str, names: list[str], key: bytes
) -> dict[str, dict[str, Any]]:
    """The verified PDF entries of every manifest in a case folder (full build's and shards')."""
    recorded: dict[str, dict[str, Any]] = {}
    for name in names:
        if not (name.startswith("manifest") and name.endswith(".json")):
            continue
        manifest = Manifest.read(out, case_id, name, key)
        for letter_key in manifest.entries:
            pdf = manifest.output(letter_key, "pdf")
            if pdf:
                recorded[letter_key] = pdf
    return recorded


def failures_name(shard: tuple[int, int] | None) -> str:
    return f"failures.{shard[0]}-of-{shard[1]}.json" if shard else FAILURES


def write_failures(
    out: Confined,
    case_id: str,
    outputs: list[OutputResult],
    name: str,
    partial: bool,
    not_rendered: list[tuple[Job, LettersError]] | None = None,
) -> None:
    """Record the letters that failed, at the template stage ("render") or an output format.

    A partial build (--to) keeps the failures of letters it did not try again; a full build
    (or a shard, in its own file) replaces the list."""
    path = f"{case_id}/{name}"
    not_rendered = not_rendered or []
    tried = {(r.job.template_name, r.job.recipient_id, r.format) for r in outputs}
    # "render" stands for the template stage: tried by every letter this build selected.
    tried |= {(r.job.template_name, r.job.recipient_id, "render") for r in outputs}
    tried |= {(job.template_name, job.recipient_id, "render") for job, _ in not_rendered}
    entries = []
    if partial:
        with contextlib.suppress(LettersError, ValueError, KeyError, TypeError):
            old = json.loads(out.read_text(path))["failures"] if out.is_file(path) else []
            entries = [
                entry
                for entry in old
                if (entry["template"], entry["recipient"], entry["format"]) not in tried
            ]
    entries += [
        {
            "case": result.job.case_id,
            "template": result.job.template_name,
            "recipient": result.job.recipient_id,
            "format": result.format,
            "letter": f"{result.job.case_id}/{result.job.key}",
            "error": result.error.message if result.error else "",
            "file": str(result.error.file) if result.error and result.error.file else "",
            "line": result.error.line if result.error else 0,
        }
        for result in outputs
        if result.status == "failed"
    ]
    entries += [
        {
            "case": job.case_id,
            "template": job.template_name,
            "recipient": job.recipient_id,
            "format": "render",
            "letter": f"{job.case_id}/{job.key}",
            "error": error.message,
            "file": str(error.file or ""),
            "line": error.line,
        }
        for job, error in not_rendered
    ]
    if not entries:
        if out.root.is_dir():
            out.unlink(path)
        return
    text = json.dumps({"failures": entries}, indent=2, ensure_ascii=False) + "\n"
    out.write_atomic(path, text.encode("utf-8"))


def in_shard(job: Job, shard: tuple[int, int]) -> bool:
    """A stable 1/N slice: the same letter always lands in the same shard."""
    index, count = shard
    digest = hashlib.sha256(f"{job.case_id}/{job.key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count == index - 1


def shard_manifest_name(shard: tuple[int, int]) -> str:
    return f"manifest.{shard[0]}-of-{shard[1]}.json"


def _case_ids(jobs: Iterable[Job]) -> list[str]:
    return list(dict.fromkeys(job.case_id for job in jobs))


def _produce(
    workspace: Workspace, out: Confined, pending: list[Pending], options: BuildOptions
) -> Iterator[OutputResult]:
    """Write every pending output; PDFs go through the PDF stage (possibly in parallel)."""
    for item in pending:
        if item.format == "pdf":
            continue
        if item.format == "md":
            data = letter_markdown(item.letter).encode("utf-8")
        else:
            from letters.layout.html import letter_page

            try:
                data = letter_page(item.letter, workspace.root).encode("utf-8")
            except LettersError as error:
                # The campaign's own page layout failed for this letter (a limit, say).
                error.letter = error.letter or f"{item.job.case_id}/{item.job.key}"
                yield OutputResult(item.job, item.format, item.path, "failed", error=error)
                continue
        out.write_atomic(item.path, data)
        yield OutputResult(item.job, item.format, item.path, "built", inputs=item.inputs)
    pdfs = {item.path: item for item in pending if item.format == "pdf"}
    if not pdfs:
        return
    from letters.output.workers import render_pdfs

    work = [(item.job, item.letter, item.path) for item in pdfs.values()]
    for job, path, rendered in render_pdfs(
        workspace.root, work, options.pdf_variant, options.jobs, out.root
    ):
        yield OutputResult(
            job,
            "pdf",
            path,
            "failed" if rendered.error else "built",
            error=rendered.error,
            warnings=rendered.warnings,
            inputs=pdfs[path].inputs,
            resources=rendered.resources,
        )


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class InputHasher:
    """Hashes of everything a letter's output depends on, grouped so a rebuild can say why.

    Campaign files are read through the workspace's Confined root: never through a link,
    never outside templates/ (a template name from an include is resolved the way the
    template loader resolves it)."""

    def __init__(self, workspace: Workspace, options: BuildOptions) -> None:
        self.workspace = workspace
        self.options = options
        self.confined = Confined(workspace.root)
        self.tool = _digest(__version__)

    def resource(self, relative: str) -> str:
        """The digest of a workspace file a letter used (an image, a stylesheet)."""
        try:
            return file_digest(self.confined, relative)
        except LettersError:
            return ""

    def inputs(self, job: Job, letter: Letter, fmt: str) -> dict[str, str]:
        case_file = self.workspace.cases[job.case_id]
        recipient = self.workspace.recipient(job.recipient_id)
        assert recipient is not None and letter.template_file is not None
        sender = letter.sender
        inputs = {
            "data": _digest(
                recipient.model_dump(mode="json"),
                case_file.case.model_dump(mode="json", exclude={"letters"}),
                letter.date.isoformat(),
                self.resource(sender.logo) if sender.logo else "",
                self.resource(sender.signature) if sender.signature else "",
            ),
            "template": self._template(letter.template_file.name),
            "options": _digest(fmt, job.paper, self.options.pdf_variant if fmt == "pdf" else None),
            "tool": self.tool,
            "language": self._language(letter.language),
        }
        if fmt != "md":
            inputs["layout"] = self._layout()
        return inputs

    @cache  # noqa: B019 - one hasher per build; the cache lives as long as the build
    def _template(self, name: str) -> str:
        """The template file and every template it includes, imports or extends."""
        digests: dict[str, str] = {}
        queue = [name]
        # Only the syntax is needed to find references: no sandbox or finalize to set up.
        env = jinja2.Environment()
        while queue:
            current = queue.pop()
            try:
                relative = Path(TEMPLATES_DIR, *split_template_path(current))
            except jinja2.TemplateNotFound:
                continue  # `..` in the name: the loader refuses it too
            if current in digests or self.confined.kind(relative) != "file":
                continue
            try:
                source = template_text(self.confined, relative)
            except LettersError:
                continue  # refused where the template is rendered, with its reason
            digests[current] = sha256_bytes(source.encode())
            try:
                referenced = list(meta.find_referenced_templates(env.parse(source)))
            except Exception:  # rendering has already reported any syntax error
                referenced = []
            if None in referenced:
                # A computed name (`include "part-" ~ lang`): it may be any template.
                referenced = [p.name for p in self.confined.files(TEMPLATES_DIR)]
            queue.extend(ref for ref in referenced if ref)
        return _digest(digests)

    @cache  # noqa: B019
    def _layout(self) -> str:
        """Layout files: the workspace's overrides, its other template assets, the package's."""
        files: dict[str, str] = {}
        templates_dir = self.workspace.templates_dir
        for path in self.confined.files(TEMPLATES_DIR):
            if not path.name.endswith(TEMPLATE_SUFFIX):
                relative = path.relative_to(self.workspace.root)
                files[f"workspace/{path.relative_to(templates_dir)}"] = self.resource(str(relative))
        for path in sorted(ASSETS_DIR.rglob("*")):
            if path.is_file():
                files[f"package/{path.relative_to(ASSETS_DIR)}"] = sha256_file(path)
        return _digest(files)

    @cache  # noqa: B019
    def _language(self, tag: str) -> str:
        from letters.workspace.language import language_pack

        # The hash of the bytes the pack was read from, not a second read of the file.
        return language_pack(tag, self.workspace.root).sha256
