"""Build letters: render in memory, skip what is unchanged, write outputs atomically.

The order of work: plan the jobs, render every letter (cheap, and it validates every
template against every recipient before anything is written), then produce each output
format, skipping outputs whose inputs have not changed since the last build.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import meta

from letters import __version__
from letters.errors import LettersError, LettersErrors
from letters.fileio import sha256_bytes, sha256_file, write_atomic
from letters.letter import Letter
from letters.markdown_letter import letter_markdown
from letters.plan import Job, plan
from letters.render import Renderer
from letters.workspace import TEMPLATE_SUFFIX, Workspace, load_workspace

FORMATS = ("md", "html", "pdf")
MANIFEST = "manifest.json"
ASSETS_DIR = Path(__file__).parent / "assets"
LANGUAGES_DIR = Path(__file__).parent / "languages"


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


@dataclass
class OutputResult:
    job: Job
    format: str
    path: Path
    status: str  # built | unchanged | failed | new | changed (the last two in a dry run)
    reason: str = ""
    error: LettersError | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class BuildReport:
    out_dir: Path
    planned: list[Job] = field(default_factory=list)
    outputs: list[OutputResult] = field(default_factory=list)
    render_errors: list[LettersError] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    print_files: list[Path] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for output in self.outputs if output.status == status)

    @property
    def failed(self) -> list[OutputResult]:
        return [output for output in self.outputs if output.status == "failed"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.render_errors else 0


Progress = Callable[[OutputResult], None]


def output_path(out_dir: Path, job: Job, fmt: str) -> Path:
    return out_dir / job.case_id / job.template_name / f"{job.recipient_id}.{fmt}"


def prepare(
    root: Path, options: BuildOptions
) -> tuple[Workspace, list[Job], list[tuple[Job, Letter]], list[LettersError]]:
    """Load, plan and render every selected letter in memory; collect every problem."""
    workspace, errors = load_workspace(root)
    if errors:
        # Planning on a half-loaded workspace would only add echoes of the same problems.
        raise LettersErrors(errors)
    jobs, errors = plan(workspace, list(options.cases), list(options.to), options.paper)
    if errors:
        raise LettersErrors(errors)
    renderer = Renderer(workspace)
    letters: list[tuple[Job, Letter]] = []
    render_errors: list[LettersError] = []
    for job in jobs:
        try:
            letters.append((job, render_job(renderer, workspace, job, options.today)))
        except LettersError as error:
            render_errors.append(error)
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
    workspace, jobs, letters, render_errors = prepare(root, options)
    out_dir = (options.out_dir or workspace.root / "out").resolve()
    report = BuildReport(out_dir=out_dir, planned=jobs, render_errors=render_errors)
    if render_errors and not options.keep_going:
        raise LettersErrors(render_errors)
    hasher = InputHasher(workspace, options)
    manifests = {case_id: Manifest.read(out_dir / case_id) for case_id in _case_ids(jobs)}
    pending: list[tuple[Job, Letter, str, Path, dict[str, str]]] = []
    for job, letter in letters:
        for fmt in options.formats:
            path = output_path(out_dir, job, fmt)
            inputs = hasher.inputs(job, letter, fmt)
            reason = manifests[job.case_id].change(job, fmt, inputs, path)
            if reason == "unchanged" and not options.force:
                _report(report, OutputResult(job, fmt, path, "unchanged"), progress)
            elif options.dry_run:
                status = "new" if reason == "new" else "changed"
                why = "forced" if reason == "unchanged" else reason
                _report(report, OutputResult(job, fmt, path, status, why), progress)
            else:
                pending.append((job, letter, fmt, path, inputs))
    if options.dry_run:
        return report
    try:
        for result, inputs in _produce(workspace, pending, options):
            if result.status == "built":
                manifests[result.job.case_id].record(result.job, result.format, inputs, result.path)
            _report(report, result, progress)
    finally:
        for manifest in manifests.values():
            manifest.save()
    full_build = not options.to
    if full_build:
        for case_id, manifest in manifests.items():
            report.removed.extend(manifest.prune({job.key for job in jobs if job.case_id == case_id}))
            manifest.save()
    if options.print_file and "pdf" in options.formats:
        from letters.printing import write_print_files

        for case_id in _case_ids(jobs):
            case_jobs = [job for job in jobs if job.case_id == case_id]
            files = [(job.paper, output_path(out_dir, job, "pdf")) for job in case_jobs]
            report.print_files.extend(
                write_print_files(out_dir / case_id, [f for f in files if f[1].is_file()], options.duplex)
            )
    return report


def _report(report: BuildReport, result: OutputResult, progress: Progress | None) -> None:
    report.outputs.append(result)
    if progress is not None:
        progress(result)


def _case_ids(jobs: Iterable[Job]) -> list[str]:
    return list(dict.fromkeys(job.case_id for job in jobs))


def _produce(
    workspace: Workspace,
    pending: list[tuple[Job, Letter, str, Path, dict[str, str]]],
    options: BuildOptions,
) -> Iterable[tuple[OutputResult, dict[str, str]]]:
    """Write every pending output; PDFs go through the PDF stage (possibly in parallel)."""
    pdfs = [item for item in pending if item[2] == "pdf"]
    for job, letter, fmt, path, inputs in pending:
        if fmt == "pdf":
            continue
        if fmt == "md":
            data = letter_markdown(letter).encode("utf-8")
        else:
            from letters.html import letter_page

            data = letter_page(letter, workspace.root).encode("utf-8")
        write_atomic(path, data)
        yield OutputResult(job, fmt, path, "built"), inputs
    if pdfs:
        from letters.pdf_batch import render_pdfs

        inputs_by_path = {path: inputs for _, _, _, path, inputs in pdfs}
        for job, path, error, warnings in render_pdfs(
            workspace.root,
            [(job, letter, path) for job, letter, _, path, _ in pdfs],
            options.pdf_variant,
            options.jobs,
        ):
            status = "failed" if error else "built"
            yield OutputResult(job, "pdf", path, status, error=error, warnings=warnings), (
                inputs_by_path[path]
            )


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
                self._file(letter.sender.logo),
                self._file(letter.sender.signature),
            ),
            "template": self._template(letter.template_file.name),
            "options": _digest(fmt, job.paper, self.options.pdf_variant if fmt == "pdf" else None),
            "tool": self.tool,
            "language": self._language(letter.language),
        }
        if fmt != "md":
            inputs["layout"] = self._layout()
        return inputs

    @staticmethod
    def _file(path: Path | None) -> str:
        return sha256_file(path) if path is not None and path.is_file() else ""

    @cache  # noqa: B019 - one hasher per build; the cache lives as long as the build
    def _template(self, name: str) -> str:
        """The template file and every template it includes, imports or extends."""
        templates_dir = self.workspace.templates_dir
        digests: dict[str, str] = {}
        queue = [name]
        env = Renderer(self.workspace).markdown_env
        while queue:
            current = queue.pop()
            path = templates_dir / current
            if current in digests or not path.is_file():
                continue
            source = path.read_text(encoding="utf-8")
            digests[current] = sha256_bytes(source.encode())
            try:
                referenced = meta.find_referenced_templates(env.parse(source))
                queue.extend(ref for ref in referenced if ref)
            except Exception:  # noqa: BLE001 - rendering already reported any syntax error
                pass
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

        pack = language_pack(tag)
        return sha256_file(LANGUAGES_DIR / f"{pack.tag}.toml")


class Manifest:
    """out/<case>/manifest.json: per output, the hashes of its inputs and of its bytes."""

    def __init__(self, folder: Path, entries: dict[str, Any]) -> None:
        self.folder = folder
        self.entries = entries
        self.dirty = False

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        path = folder / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries = data.get("letters", {}) if isinstance(data, dict) else {}
        except (OSError, ValueError):
            entries = {}
        return cls(folder, entries if isinstance(entries, dict) else {})

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
        return "unchanged"

    def record(self, job: Job, fmt: str, inputs: dict[str, str], path: Path) -> None:
        entry = self.entries.setdefault(
            job.key,
            {"template": job.template_name, "recipient": job.recipient_id, "outputs": {}},
        )
        entry["paper"] = job.paper
        entry["outputs"][fmt] = {
            "file": path.relative_to(self.folder).as_posix(),
            "sha256": sha256_file(path),
            "inputs": inputs,
        }
        self.dirty = True

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
        write_atomic(self.folder / MANIFEST, text.encode("utf-8"))
        self.dirty = False
