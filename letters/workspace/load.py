"""Load and validate a workspace: recipients.yaml, cases/*.yaml and templates/*.md.j2."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from letters.errors import LettersError, LettersErrors
from letters.fileio import COPY_IN_HINT, Confined
from letters.limits import number
from letters.workspace.images import check_image
from letters.workspace.language import WORKSPACE_DIR as LANGUAGES_DIR
from letters.workspace.language import find_language_file
from letters.workspace.schema import LANGUAGE_TAG, SLUG, Case, Recipient
from letters.workspace.templates import TemplateFile, read_template, unsafe_includes
from letters.workspace.validation import suggest, validate
from letters.workspace.yamlio import MAX_YAML_BYTES, Located, YamlBudget, parse_yaml

RECIPIENTS_FILE = "recipients.yaml"
CASES_DIR = "cases"
TEMPLATES_DIR = "templates"
TEMPLATE_SUFFIX = ".md.j2"
MAX_IMAGE_BYTES = 50 * 1024 * 1024  # a logo or signature; the pixel budget is checked too
_OUT_HINT = " (or give an output folder of your own with --out)"


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
    # recipients.yaml had problems (reported): a selector finding nobody may be one of them.
    recipients_incomplete: bool = False
    # What all YAML files of this load may hold together (bytes and values).
    yaml_budget: YamlBudget | None = None
    # Lookups over `recipients`, rebuilt whenever the list has grown (loading appends to it).
    _by_id: dict[str, Recipient] = field(default_factory=dict, repr=False)
    _tags: set[str] = field(default_factory=set, repr=False)

    @property
    def templates_dir(self) -> Path:
        return self.root / TEMPLATES_DIR

    def _refresh_lookups(self) -> None:
        if len(self._by_id) != len(self.recipients):
            self._by_id = {r.id: r for r in self.recipients}
            self._tags = {tag for recipient in self.recipients for tag in recipient.tags}

    def recipient(self, recipient_id: str) -> Recipient | None:
        self._refresh_lookups()
        return self._by_id.get(recipient_id)

    def recipient_index(self, recipient_id: str) -> int:
        """The position of a recipient's entry in recipients.yaml."""
        located = self.recipients_located
        assert located is not None
        entries = located.data["recipients"]
        return next(i for i, r in enumerate(entries) if r.get("id") == recipient_id)

    def recipient_line(
        self, recipient_id: str, *path: str | int, key: bool = False
    ) -> tuple[Path, int, int]:
        """Where a recipient (or one of its keys, or values) is written in recipients.yaml."""
        located = self.recipients_located
        assert located is not None
        index = self.recipient_index(recipient_id)
        line, column = located.line_of(("recipients", index, *path), key=key)
        return located.file, line, column

    def tags(self) -> set[str]:
        self._refresh_lookups()
        return self._tags

    def template_for(self, name: str, language: str) -> TemplateFile:
        """The variant of template `name` for `language` (pt-BR → pt → default)."""
        from letters.workspace.language import fallback_chain

        variants = self.templates[name]
        for candidate in fallback_chain(language):
            if candidate in variants:
                return variants[candidate]
        return variants[""] if "" in variants else next(iter(variants.values()))


def max_yaml_bytes() -> int:
    return number("LETTERS_MAX_YAML_MB", MAX_YAML_BYTES // 2**20, maximum=10_000) * 2**20


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
    reported = len(errors)
    try:
        _read_recipients(workspace, errors)
    finally:
        workspace.recipients_incomplete = len(errors) > reported


def _read_recipients(workspace: Workspace, errors: list[LettersError]) -> None:
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
        errors.extend(_check_send(located))
        if case is not None:
            errors.extend(_check_images(workspace.root, case, located))
            workspace.cases[path.stem] = CaseFile(path.stem, case, located)
    if not workspace.cases and not errors:
        errors.append(LettersError("no cases found", folder, hint="add cases/<case-id>.yaml"))


# A campaign folder may come from a stranger: it must not choose the server that gets your
# password and your letters, so these keys in `send:` are errors that say where they go.
SERVER_KEYS = ("host", "port", "user", "username", "password", "security", "bcc", "cafile")
SERVER_HINT = (
    "the mail server is your own setting, not the campaign's: put it in "
    "~/.config/letters/smtp.toml (or LETTERS_SMTP_HOST, LETTERS_SMTP_PORT, "
    "LETTERS_SMTP_SECURITY, LETTERS_SMTP_USER, or --smtp-host, --smtp-port, --security, --user)"
)
PASSWORD_HINT = "the password goes only in LETTERS_SMTP_PASSWORD or your system keyring"


def _check_send(located: Located) -> list[LettersError]:
    """Keys in the case's `send:` block other than `from` and `reply_to`."""
    problems = []
    block = located.data.get("send")
    for key in block if isinstance(block, dict) else {}:
        if key in ("from", "reply_to"):
            continue
        server = key in SERVER_KEYS or key.startswith(("smtp", "server", "tls", "ssl"))
        if server:
            message = f"send.{key}: mail server settings do not belong in a campaign folder"
            hint = PASSWORD_HINT if key == "password" else SERVER_HINT
        else:
            message = f"unknown key {key!r}"
            hint = suggest(key, ["from", "reply_to"]) or "allowed keys: from, reply_to"
        problems.append(located.error(("send", key), message, hint, key=True))
    return problems


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
            errors.extend(unsafe_includes(confined, f"{TEMPLATES_DIR}/{name}"))
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
