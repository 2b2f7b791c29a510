"""Load and validate a workspace: recipients.yaml, cases/*.yaml and templates/*.md.j2."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from letters.confined_loader import template_text
from letters.errors import LettersError, LettersErrors
from letters.fileio import COPY_IN_HINT, Confined
from letters.images import check_image
from letters.language import WORKSPACE_DIR as LANGUAGES_DIR
from letters.language import find_language_file
from letters.limits import number
from letters.sandbox import Sandbox, unsafe_template_names
from letters.schema import LANGUAGE_TAG, SLUG, Case, FrontMatter, Recipient
from letters.yamlio import MAX_YAML_BYTES, Located, YamlBudget, parse_yaml

RECIPIENTS_FILE = "recipients.yaml"
CASES_DIR = "cases"
TEMPLATES_DIR = "templates"
TEMPLATE_SUFFIX = ".md.j2"
MAX_IMAGE_BYTES = 50 * 1024 * 1024  # a logo or signature; the pixel budget is checked too
_OUT_HINT = " (or give an output folder of your own with --out)"
_SYNTAX = Sandbox()  # parses templates to find what they include; never renders


@dataclass(frozen=True)
class TemplateFile:
    name: str  # company-letter
    variant: str  # "" for the default file, "vi" for company-letter.vi.md.j2
    language: str  # the letter's language: front matter, else the variant, else en
    path: Path
    subject: str  # the subject line, itself a template
    subject_line: int

    @property
    def label(self) -> str:
        return f"{self.name}.{self.variant}" if self.variant else self.name


@dataclass(frozen=True)
class CaseFile:
    id: str
    case: Case
    located: Located

    @property
    def path(self) -> Path:
        return self.located.file


@dataclass
class Workspace:
    root: Path
    recipients: list[Recipient] = field(default_factory=list)
    recipients_located: Located | None = None
    cases: dict[str, CaseFile] = field(default_factory=dict)
    templates: dict[str, dict[str, TemplateFile]] = field(default_factory=dict)
    # Templates that exist but failed to load: already reported, not "missing".
    broken_templates: set[str] = field(default_factory=set)
    # What all YAML files of this load may hold together (bytes and values).
    yaml_budget: YamlBudget | None = None

    @property
    def templates_dir(self) -> Path:
        return self.root / TEMPLATES_DIR

    def recipient(self, recipient_id: str) -> Recipient | None:
        return next((r for r in self.recipients if r.id == recipient_id), None)

    def recipient_line(
        self, recipient_id: str, *path: str | int, key: bool = False
    ) -> tuple[Path, int, int]:
        """Where a recipient (or one of its keys, or values) is written in recipients.yaml."""
        located = self.recipients_located
        assert located is not None
        entries = located.data["recipients"]
        index = next(i for i, r in enumerate(entries) if r.get("id") == recipient_id)
        line, column = located.line_of(("recipients", index, *path), key=key)
        return located.file, line, column

    def tags(self) -> set[str]:
        return {tag for recipient in self.recipients for tag in recipient.tags}

    def template_for(self, name: str, language: str) -> TemplateFile:
        """The variant of template `name` for `language` (pt-BR → pt → default)."""
        from letters.language import fallback_chain

        variants = self.templates[name]
        for candidate in fallback_chain(language):
            if candidate in variants:
                return variants[candidate]
        return variants[""] if "" in variants else next(iter(variants.values()))


def max_yaml_bytes() -> int:
    return number("LETTERS_MAX_YAML_MB", MAX_YAML_BYTES // 2**20, maximum=10_000) * 2**20


def suggest(word: str, options: list[str] | set[str]) -> str:
    close = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def load_workspace(root: Path) -> tuple[Workspace, list[LettersError]]:
    """Read everything that can be read; return the workspace and every problem found."""
    root = root.resolve()
    workspace = Workspace(root=root)
    errors: list[LettersError] = []
    if not root.is_dir():
        raise LettersError(
            "this is a file, not a campaign folder" if root.exists() else "folder does not exist",
            root,
            hint="pass the campaign folder with -C DIR, or create one with `letters init DIR`",
        )
    if not (root / RECIPIENTS_FILE).is_file() and not (root / CASES_DIR).is_dir():
        raise LettersError(
            "this folder is not a letters workspace (no recipients.yaml, no cases/)",
            root,
            hint="run this in a campaign folder, pass -C DIR, "
            "or create one with `letters init DIR`",
        )
    confined = Confined(root)
    for part in (RECIPIENTS_FILE, CASES_DIR, TEMPLATES_DIR, LANGUAGES_DIR, "out"):
        if confined.kind(part) == "link":
            raise LettersError(
                f"{part} is a link; letters does not follow links in a campaign folder",
                root / part,
                hint=f"copy it into the campaign folder instead of linking to it{_OUT_HINT}"
                if part == "out"
                else "copy it into the campaign folder instead of linking to it",
            )
    _load_recipients(workspace, errors)
    _load_templates(workspace, errors)
    _load_cases(workspace, errors)
    return workspace, errors


def _collect(action: Any, errors: list[LettersError]) -> Any:
    try:
        return action()
    except LettersErrors as problems:
        errors.extend(problems.errors)
    except LettersError as error:
        errors.append(error)
    return None


def validate(model: type[BaseModel], located: Located, prefix: tuple[Any, ...] = ()) -> Any:
    """Validate located data against a model; raise every problem, each at its line."""
    data = located.data
    for part in prefix:
        data = data[part]
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise LettersErrors(
            [_explain(err, model, located, prefix) for err in exc.errors()]
        ) from None


def _field_names(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The allowed keys at `loc` inside `model`, for suggestions."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        info = current.model_fields.get(part) if hasattr(current, "model_fields") else None
        if info is None:
            return []
        annotation = info.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        current = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if current is None:
            return []
    return list(current.model_fields) if hasattr(current, "model_fields") else []


def _explain(
    error: Any, model: type[BaseModel], located: Located, prefix: tuple[Any, ...]
) -> LettersError:
    loc = tuple(part for part in error["loc"] if not isinstance(part, str) or part[0] != "[")
    kind = error["type"]
    path = (*prefix, *loc)
    where = ".".join(str(p) for p in loc if isinstance(p, str)) or "file"
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _field_names(model, loc[:-1])
        hint = suggest(key, allowed) or ("allowed keys: " + ", ".join(allowed) if allowed else "")
        return located.error(path, f"unknown key {key!r}", hint, key=True)
    if kind == "missing":
        key = str(loc[-1])
        return located.error(
            path[:-1], f"missing required key {key!r}", f"add `{key}:` with a value"
        )
    if error.get("input", "") is None:
        return located.error(
            path, f"{where}: is empty", "write a value after the colon, or remove the line"
        )
    if kind in ("string_type", "str_type"):
        return located.error(path, f"{where}: expected text", "write a single value, not a list")
    if kind in ("tuple_type", "list_type"):
        return located.error(path, f"{where}: expected a list", "write `- item` lines or [a, b]")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return located.error(path, f"{where}: expected a mapping of `key: value` lines")
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return located.error(path, f"{where}: must be one of {expected}")
    if kind == "too_short":
        return located.error(path, f"{where}: must not be empty", "add at least one entry")
    message = str(error["msg"]).removeprefix("Value error, ")
    return located.error(path, f"{where}: {message}")


def _validated(model: type[BaseModel], located: Located, errors: list[LettersError]) -> Any:
    try:
        return validate(model, located)
    except LettersErrors as problems:
        errors.extend(problems.errors)
        return None


def read_yaml(workspace: Workspace, relative: str) -> Located:
    """A YAML file of the workspace, read without following links, charged to the
    workspace's budget so that many files cannot add up to more than one may hold."""
    limit = max_yaml_bytes()
    if workspace.yaml_budget is None:
        workspace.yaml_budget = YamlBudget.for_file_limit(limit)
    text = Confined(workspace.root).read_text(relative, limit)
    return parse_yaml(text, workspace.root / relative, limit, workspace.yaml_budget)


def _load_recipients(workspace: Workspace, errors: list[LettersError]) -> None:
    path = workspace.root / RECIPIENTS_FILE
    if Confined(workspace.root).kind(RECIPIENTS_FILE) == "missing":
        errors.append(
            LettersError("recipients.yaml is missing", path, hint="create it with `recipients:`")
        )
        return
    # A link or a FIFO is refused by the read itself, with its reason.
    located = _collect(lambda: read_yaml(workspace, RECIPIENTS_FILE), errors)
    if located is None:
        return
    workspace.recipients_located = located
    if not isinstance(located.data, dict):
        errors.append(located.error((), "expected `recipients:` followed by a list of people"))
        return
    # Validate recipients one by one so that one bad entry doesn't hide the others.
    top_level = {k: v for k, v in located.data.items() if k != "recipients"}
    for key in top_level:
        hint = suggest(key, ["recipients"])
        errors.append(located.error((key,), f"unknown key {key!r}", hint, key=True))
    entries = located.data.get("recipients")
    if not isinstance(entries, list):
        errors.append(
            located.error(
                ("recipients",), "`recipients:` must be a list", "start each with `- id:`"
            )
        )
        return
    seen: dict[str, int] = {}
    for index in range(len(entries)):
        try:
            recipient = validate(Recipient, located, ("recipients", index))
        except LettersErrors as problems:
            errors.extend(problems.errors)
            continue
        if recipient.id in seen:
            first = seen[recipient.id]
            errors.append(
                located.error(
                    ("recipients", index, "id"),
                    f"duplicate recipient id {recipient.id!r} (first used on line {first})",
                    "give each recipient its own id",
                )
            )
            continue
        seen[recipient.id] = located.line_of(("recipients", index, "id"))[0]
        workspace.recipients.append(recipient)


def _load_cases(workspace: Workspace, errors: list[LettersError]) -> None:
    folder = workspace.root / CASES_DIR
    confined = Confined(workspace.root)
    if confined.kind(CASES_DIR) != "folder":
        errors.append(
            LettersError("cases/ folder is missing", folder, hint="add cases/<case-id>.yaml")
        )
        return
    names = confined.listdir(CASES_DIR)
    for name in names:
        path = folder / name
        if path.suffix not in (".yaml", ".yml") or path.name.startswith("."):
            continue
        twin = path.with_suffix(".yml" if path.suffix == ".yaml" else ".yaml")
        if path.suffix == ".yml" and twin.name in names:
            errors.append(
                LettersError(
                    f"two files for case {path.stem!r}: {twin.name} and {path.name}",
                    path,
                    hint="keep one of them",
                )
            )
            continue
        if not SLUG.match(path.stem):
            errors.append(
                LettersError(
                    f"case file name {path.name!r} is not a valid case id",
                    path,
                    hint="use lowercase letters, digits and hyphens, e.g. cases/my-case.yaml",
                )
            )
            continue
        located = _collect(lambda name=name: read_yaml(workspace, f"cases/{name}"), errors)
        if located is None:
            continue
        if not isinstance(located.data, dict):
            errors.append(located.error((), "a case file must be a mapping of `key: value` lines"))
            continue
        case = _validated(Case, located, errors)
        if case is not None:
            errors.extend(_check_images(workspace.root, case, located))
            workspace.cases[path.stem] = CaseFile(path.stem, case, located)
    if not workspace.cases and not errors:
        errors.append(LettersError("no cases found", folder, hint="add cases/<case-id>.yaml"))


def _check_images(root: Path, case: Case, located: Located) -> list[LettersError]:
    problems = []
    confined = Confined(root)
    for key in ("logo", "signature"):
        value = getattr(case.sender, key)
        if not value:
            continue
        try:
            kind = confined.kind(value)
        except LettersError:
            kind = "outside"
        if kind == "outside" or Path(value).is_absolute():
            problems.append(
                located.error(
                    ("sender", key),
                    f"sender {key} {value!r} is outside the workspace",
                    "put the image inside the campaign folder and give its path relative to it",
                )
            )
        elif kind in ("link", "other"):
            problems.append(
                located.error(
                    ("sender", key),
                    f"sender {key} {value!r} is {'a link' if kind == 'link' else 'not a file'}",
                    COPY_IN_HINT,
                )
            )
        elif kind != "file":
            problems.append(
                located.error(
                    ("sender", key),
                    f"sender {key} {value!r} does not exist",
                    "give the image's path relative to the campaign folder, e.g. images/logo.png",
                )
            )
        else:
            try:
                check_image(confined.read_bytes(value, MAX_IMAGE_BYTES), root / value)
            except LettersError as error:
                line, column = located.line_of(("sender", key))
                problems.append(
                    LettersError(
                        f"sender {key}: {error.message}", located.file, line, column, error.hint
                    )
                )
    return problems


def _load_templates(workspace: Workspace, errors: list[LettersError]) -> None:
    folder = workspace.templates_dir
    confined = Confined(workspace.root)
    if confined.kind(TEMPLATES_DIR) != "folder":
        errors.append(
            LettersError("templates/ folder is missing", folder, hint="add templates/<name>.md.j2")
        )
        return
    for name in confined.listdir(TEMPLATES_DIR):
        if name.endswith(".j2"):
            errors.extend(_unsafe_includes(confined, f"{TEMPLATES_DIR}/{name}"))
    names = [name for name in confined.listdir(TEMPLATES_DIR) if name.endswith(TEMPLATE_SUFFIX)]
    for path in [folder / name for name in names]:
        stem = path.name[: -len(TEMPLATE_SUFFIX)]
        if stem.startswith("_"):
            continue  # a partial for {% include %}, not a letter of its own
        name, _, variant = stem.partition(".")
        if not SLUG.match(name) or (variant and not _is_language(variant)):
            errors.append(
                LettersError(
                    f"template file name {path.name!r} is not valid",
                    path,
                    hint="name templates NAME.md.j2 or NAME.LANG.md.j2 (lowercase, digits, "
                    "hyphens), e.g. company-letter.vi.md.j2; partials start with _",
                )
            )
            continue
        template = _collect(
            lambda p=path, n=name, v=variant: read_template(confined, p, n, v), errors
        )
        if template is not None and not find_language_file(template.language, workspace.root):
            errors.append(
                LettersError(
                    f"no language file for {template.language!r}: the date, labels and "
                    "default salutation of these letters would be in English",
                    path,
                    hint=f"add languages/{template.language}.toml to the campaign folder "
                    "(copy en.toml from the letters package and translate it); see the README",
                )
            )
            template = None
        if template is not None:
            workspace.templates.setdefault(name, {})[variant] = template
        else:
            workspace.broken_templates.add(name)


def _is_language(text: str) -> bool:
    return bool(LANGUAGE_TAG.match(text))


def split_front_matter(text: str) -> tuple[str, str]:
    """Split `---` front matter from the body; the body keeps its line numbers.

    The front matter lines are replaced by empty lines in the body so that Jinja's line
    numbers are the file's line numbers.
    """
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip("\r\n") != "---":
        return "", text
    for index in range(1, len(lines)):
        if lines[index].rstrip("\r\n") == "---":
            front = "".join(["\n", *lines[1:index]])
            body = "\n" * (index + 1) + "".join(lines[index + 1 :])
            return front, body
    return "", text


def _unsafe_includes(confined: Confined, relative: str) -> list[LettersError]:
    """Includes that name a file outside templates/, found statically wherever they stand."""
    try:
        source = template_text(confined, Path(relative))
    except LettersError:
        return []  # reported when the template itself is read
    return [
        LettersError(
            f"this template includes {name!r}, which is outside templates/",
            confined.path(relative),
            line,
            hint="includes, imports and extends must name a file inside templates/, "
            'e.g. {% include "_footer.md.j2" %}',
        )
        for line, name in unsafe_template_names(source, _SYNTAX)
    ]


def read_template(confined: Confined, path: Path, name: str, variant: str) -> TemplateFile:
    text = template_text(confined, path.relative_to(confined.root))
    front, _ = split_front_matter(text)
    if text.startswith("---") and not front:
        raise LettersError(
            "front matter is not closed", path, 1, hint="end the front matter with a `---` line"
        )
    subject, subject_line, language = "", 0, ""
    if front:
        try:
            located = parse_yaml(front, path)
        except LettersError as error:
            raw = (
                text.splitlines()[error.line - 1]
                if 0 < error.line <= len(text.splitlines())
                else ""
            )
            if "{{" in raw or "{%" in raw:
                error.message = "a value containing {{ or {% must be quoted"
                error.message = "a value containing {{ or {% must be quoted"
                error.hint = 'values containing {{ must be quoted: subject: "{{ case.title }}"'
            raise
        if not isinstance(located.data, dict):
            raise located.error((), "front matter must be `key: value` lines")
        for key, value in located.data.items():
            if isinstance(value, dict) and ("{{" in front or "{%" in front):
                raise located.error(
                    (key,),
                    f"{key}: expected text but the YAML reads a mapping",
                    'values containing {{ must be quoted: subject: "{{ case.title }}"',
                )
        matter = validate(FrontMatter, located)
        subject, language = matter.subject, matter.language
        subject_line = located.line_of(("subject",))[0] if subject else 0
    return TemplateFile(
        name=name,
        variant=variant,
        language=language or variant or "en",
        path=path,
        subject=subject,
        subject_line=subject_line,
    )
