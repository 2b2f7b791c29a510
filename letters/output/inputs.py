"""What each output depends on: hashes of its data, template, layout, language and options,
grouped so that a rebuild can say why it is needed."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.loaders import split_template_path

from letters import __version__
from letters.compose.letter import Letter
from letters.errors import LettersError
from letters.fileio import Confined, sha256_bytes, sha256_file
from letters.layout.html import ASSETS_DIR
from letters.output.manifest import file_digest
from letters.output.options import BuildOptions
from letters.output.plan import Job
from letters.output.prepare import LetterFacts
from letters.workspace import TEMPLATE_SUFFIX, TEMPLATES_DIR, Workspace
from letters.workspace.templates import template_text


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

    def inputs(self, job: Job, letter: Letter | LetterFacts, fmt: str) -> dict[str, str]:
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
