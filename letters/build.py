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

from letters import __version__
from letters.errors import LettersError, LettersErrors
from letters.fileio import is_abandoned, sha256_bytes, sha256_file, write_atomic
from letters.letter import Letter
from letters.markdown_letter import letter_markdown
from letters.plan import Job, plan
from letters.render import Renderer
from letters.workspace import TEMPLATE_SUFFIX, Workspace, load_workspace

FORMATS = ("md", "html", "pdf")
MANIFEST = "manifest.json"
FAILURES = "failures.json"
ASSETS_DIR = Path(__file__).parent / "assets"


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
    try:
        return renderer.render(
            workspace.cases[job.case_id], job.template_name, recipient, job.paper, today
        )
    except LettersError as error:
        error.message = f"{job.case_id}/{job.key}: {error.message}"
        raise


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
    hasher = InputHasher(workspace, options)
    manifest_name = shard_manifest_name(options.shard) if options.shard else MANIFEST
    manifests = {
        case_id: Manifest.read(out_dir / case_id, manifest_name, workspace.root)
        for case_id in _case_ids(jobs)
    }
    if not options.dry_run:
        for case_id in manifests:
            remove_stale_temporaries(out_dir / case_id)
    pending: list[Pending] = []
    for job, letter in letters:
        for fmt in options.formats:
            path = output_path(out_dir, job, fmt)
            inputs = hasher.inputs(job, letter, fmt)
            reason = manifests[job.case_id].change(job, fmt, inputs, path)
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
        for result in _produce(workspace, pending, options):
            if result.status == "built":
                manifests[result.job.case_id].record(result)
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
            out_dir / case_id,
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
            report.print_files.extend(write_case_print_files(out_dir, jobs, options.duplex))
    return report


def remove_stale_temporaries(case_dir: Path) -> None:
    """Delete temporary files a killed build left behind (finished files are never torn).

    Builds may share the folder (shards), so only files of writers that have stopped go.
    """
    if not case_dir.is_dir():
        return
    for path in case_dir.rglob(".*.tmp"):
        if is_abandoned(path):
            path.unlink(missing_ok=True)


def write_case_print_files(out_dir: Path, jobs: list[Job], duplex: bool) -> list[Path]:
    """print.pdf for each case, in plan order (template order in the case, then recipients)."""
    from letters.printing import write_print_files

    written: list[Path] = []
    for case_id in _case_ids(jobs):
        files = [
            (job.paper, output_path(out_dir, job, "pdf")) for job in jobs if job.case_id == case_id
        ]
        missing = [path for _, path in files if not path.is_file()]
        if missing:
            raise LettersError(
                f"{len(missing)} letter(s) of case {case_id!r} have no PDF yet, e.g. "
                f"{missing[0].relative_to(out_dir)}",
                out_dir / case_id,
                hint="build every shard (or run `letters build --format pdf`) first",
            )
        written.extend(write_print_files(out_dir / case_id, files, duplex))
    return written


def merge_print(root: Path, options: BuildOptions) -> list[Path]:
    """Join the PDFs of a sharded build into print files, in unsharded order."""
    workspace, jobs, letters, render_failures = prepare(root, options)
    if render_failures:
        raise LettersErrors([error for _, error in render_failures])
    out_dir = (options.out_dir or workspace.root / "out").resolve()
    hasher = InputHasher(workspace, options)
    problems: list[str] = []
    for case_id in _case_ids(jobs):
        case_dir = out_dir / case_id
        for failures in sorted(case_dir.glob("failures*.json")):
            problems.append(f"{failures.relative_to(out_dir)} lists letters that failed")
        recorded = _recorded_outputs(case_dir, workspace.root)
        for job, letter in letters:
            if job.case_id != case_id:
                continue
            path = output_path(out_dir, job, "pdf")
            entry = recorded.get(job.key)
            current = hasher.inputs(job, letter, "pdf")
            if entry is None or not path.is_file():
                problems.append(f"{path.relative_to(out_dir)} has not been built")
            elif sha256_file(path) != entry.get("sha256") or any(
                entry.get("inputs", {}).get(name) != value
                for name, value in current.items()
                if name != "options"  # the shards' --pdf-variant is theirs to choose
            ):
                problems.append(f"{path.relative_to(out_dir)} is out of date")
    if problems:
        raise LettersError(
            f"{len(problems)} letter(s) are not ready to print, e.g. {problems[0]}",
            out_dir,
            hint="build every shard again (unchanged letters are skipped), then merge-print",
        )
    return write_case_print_files(out_dir, jobs, options.duplex)


def _recorded_outputs(case_dir: Path, root: Path) -> dict[str, dict[str, Any]]:
    """The PDF entries of every manifest in a case folder (the full build's and shards')."""
    recorded: dict[str, dict[str, Any]] = {}
    for path in sorted(case_dir.glob("manifest*.json")):
        manifest = Manifest.read(case_dir, path.name, root)
        for key, entry in manifest.entries.items():
            pdf = entry.get("outputs", {}).get("pdf")
            if pdf:
                recorded[key] = pdf
    return recorded


def failures_name(shard: tuple[int, int] | None) -> str:
    return f"failures.{shard[0]}-of-{shard[1]}.json" if shard else FAILURES


def write_failures(
    case_dir: Path,
    outputs: list[OutputResult],
    name: str,
    partial: bool,
    not_rendered: list[tuple[Job, LettersError]] | None = None,
) -> None:
    """Record the letters that failed, at the template stage ("render") or an output format.

    A partial build (--to) keeps the failures of letters it did not try again; a full build
    (or a shard, in its own file) replaces the list."""
    path = case_dir / name
    not_rendered = not_rendered or []
    tried = {(r.job.template_name, r.job.recipient_id, r.format) for r in outputs}
    # "render" stands for the template stage: tried by every letter this build selected.
    tried |= {(r.job.template_name, r.job.recipient_id, "render") for r in outputs}
    tried |= {(job.template_name, job.recipient_id, "render") for job, _ in not_rendered}
    entries = []
    if partial:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            old = json.loads(path.read_text(encoding="utf-8"))["failures"]
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
            "error": error.message,
            "file": str(error.file or ""),
            "line": error.line,
        }
        for job, error in not_rendered
    ]
    if not entries:
        path.unlink(missing_ok=True)
        return
    text = json.dumps({"failures": entries}, indent=2, ensure_ascii=False) + "\n"
    write_atomic(path, text.encode("utf-8"))


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
    workspace: Workspace, pending: list[Pending], options: BuildOptions
) -> Iterator[OutputResult]:
    """Write every pending output; PDFs go through the PDF stage (possibly in parallel)."""
    for item in pending:
        if item.format == "pdf":
            continue
        if item.format == "md":
            data = letter_markdown(item.letter).encode("utf-8")
        else:
            from letters.html import letter_page

            data = letter_page(item.letter, workspace.root).encode("utf-8")
        write_atomic(item.path, data)
        yield OutputResult(item.job, item.format, item.path, "built", inputs=item.inputs)
    pdfs = {item.path: item for item in pending if item.format == "pdf"}
    if not pdfs:
        return
    from letters.pdf_batch import render_pdfs

    work = [(item.job, item.letter, item.path) for item in pdfs.values()]
    for job, path, rendered in render_pdfs(workspace.root, work, options.pdf_variant, options.jobs):
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


@cache
def _cached_digest(path: str, modified: int, size: int) -> str:
    return sha256_file(Path(path))


def file_digest(path: Path) -> str:
    """sha256 of a file, computed once per version of it in this process; "" if missing."""
    try:
        stat = path.stat()
    except OSError:
        return ""
    return _cached_digest(str(path), stat.st_mtime_ns, stat.st_size)


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class InputHasher:
    """Hashes of everything a letter's output depends on, grouped so a rebuild can say why."""

    def __init__(self, workspace: Workspace, options: BuildOptions) -> None:
        self.workspace = workspace
        self.options = options
        self.tool = _digest(__version__)

    def inputs(self, job: Job, letter: Letter, fmt: str) -> dict[str, str]:
        case_file = self.workspace.cases[job.case_id]
        recipient = self.workspace.recipient(job.recipient_id)
        assert recipient is not None and letter.template_file is not None
        inputs = {
            "data": _digest(
                recipient.model_dump(mode="json"),
                case_file.case.model_dump(mode="json", exclude={"letters"}),
                letter.date.isoformat(),
                file_digest(letter.sender.logo) if letter.sender.logo else "",
                file_digest(letter.sender.signature) if letter.sender.signature else "",
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
        templates_dir = self.workspace.templates_dir
        digests: dict[str, str] = {}
        queue = [name]
        # Only the syntax is needed to find references: no sandbox or finalize to set up.
        env = jinja2.Environment()
        while queue:
            current = queue.pop()
            path = templates_dir / current
            if current in digests or not path.is_file():
                continue
            source = path.read_text(encoding="utf-8")
            digests[current] = sha256_bytes(source.encode())
            try:
                referenced = list(meta.find_referenced_templates(env.parse(source)))
            except Exception:  # rendering has already reported any syntax error
                referenced = []
            if None in referenced:
                # A computed name (`include "part-" ~ lang`): it may be any template.
                referenced = [p.name for p in templates_dir.glob("*.j2")]
            queue.extend(ref for ref in referenced if ref)
        return _digest(digests)

    @cache  # noqa: B019
    def _layout(self) -> str:
        """Layout files: the workspace's overrides, its other template assets, the package's."""
        files: dict[str, str] = {}
        templates_dir = self.workspace.templates_dir
        for path in sorted(templates_dir.rglob("*")):
            if path.is_file() and not path.name.endswith(TEMPLATE_SUFFIX):
                files[f"workspace/{path.relative_to(templates_dir)}"] = sha256_file(path)
        for path in sorted(ASSETS_DIR.rglob("*")):
            if path.is_file():
                files[f"package/{path.relative_to(ASSETS_DIR)}"] = sha256_file(path)
        return _digest(files)

    @cache  # noqa: B019
    def _language(self, tag: str) -> str:
        from letters.language import language_pack

        return file_digest(language_pack(tag, self.workspace.root).path)


class Manifest:
    """out/<case>/manifest.json: per output, the hashes of its inputs and of its bytes.

    Each finished output is also appended at once to manifest.json.journal, so that a build
    killed halfway (even with kill -9) loses nothing it finished; the next read replays the
    journal, and a save folds it into the manifest.
    """

    def __init__(
        self, folder: Path, entries: dict[str, Any], name: str = MANIFEST, root: Path | None = None
    ) -> None:
        self.folder = folder
        self.root = root or folder  # the workspace: resources are recorded relative to it
        self.entries = entries
        self.name = name
        self.dirty = False

    @property
    def journal(self) -> Path:
        return self.folder / f"{self.name}.journal"

    @classmethod
    def read(cls, folder: Path, name: str = MANIFEST, root: Path | None = None) -> Manifest:
        path = folder / name
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries = data.get("letters", {}) if isinstance(data, dict) else {}
        except (OSError, ValueError):
            entries = {}
        manifest = cls(folder, entries if isinstance(entries, dict) else {}, name, root)
        manifest.replay_journal()
        return manifest

    def replay_journal(self) -> None:
        try:
            lines = self.journal.read_text(encoding="utf-8").splitlines()
        except OSError:
            return
        for line in lines:
            try:
                record = json.loads(line)
                entry = self.entries.setdefault(
                    record["key"],
                    {"template": record["template"], "recipient": record["recipient"]},
                )
                entry["paper"] = record["paper"]
                entry.setdefault("outputs", {})[record["format"]] = record["output"]
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # the line a kill cut short
            self.dirty = True

    def change(self, job: Job, fmt: str, inputs: dict[str, str], path: Path) -> str:
        """Why this output must be (re)built: new, data/template/... changed, or unchanged."""
        entry = self.entries.get(job.key, {}).get("outputs", {}).get(fmt)
        if not entry or not path.is_file():
            return "new"
        old = entry.get("inputs", {})
        changed = [name for name in inputs if old.get(name) != inputs[name]]
        if changed:
            return ", ".join(f"{name} changed" for name in changed)
        if sha256_file(path) != entry.get("sha256"):
            return "output file edited"
        for name, digest in entry.get("resources", {}).items():
            if file_digest(self.root / name) != digest:
                return f"{name} changed"
        return "unchanged"

    def record(self, result: OutputResult) -> None:
        job, fmt, inputs, path = result.job, result.format, result.inputs, result.path
        entry = self.entries.setdefault(
            job.key,
            {"template": job.template_name, "recipient": job.recipient_id, "outputs": {}},
        )
        entry["paper"] = job.paper
        output = {
            "file": path.relative_to(self.folder).as_posix(),
            "sha256": sha256_file(path),
            "inputs": inputs,
        }
        if result.resources:
            output["resources"] = {
                resource.relative_to(self.root).as_posix(): file_digest(resource)
                for resource in result.resources
                if self.root in resource.parents
            }
        entry.setdefault("outputs", {})[fmt] = output
        self.dirty = True
        line = {
            "key": job.key,
            "template": job.template_name,
            "recipient": job.recipient_id,
            "paper": job.paper,
            "format": fmt,
            "output": output,
        }
        with self.journal.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps(line, ensure_ascii=False) + "\n")

    def prune(self, keep: set[str]) -> list[Path]:
        """Forget letters no longer planned (recipient removed) and delete their files."""
        removed: list[Path] = []
        for key in [key for key in self.entries if key not in keep]:
            for output in self.entries[key].get("outputs", {}).values():
                path = self.folder / output.get("file", "")
                if path.is_file() and self.folder in path.resolve().parents:
                    path.unlink()
                    removed.append(path)
            del self.entries[key]
            self.dirty = True
        return removed

    def save(self) -> None:
        if not self.dirty:
            return
        data = {"format_version": 1, "tool_version": __version__, "letters": self.entries}
        text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        write_atomic(self.folder / self.name, text.encode("utf-8"))
        self.journal.unlink(missing_ok=True)
        self.dirty = False
