"""Render one letter: a sandboxed Jinja2 template plus data → a `Letter` (Markdown body)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import StrictUndefined, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from letters.confined_loader import ConfinedLoader
from letters.errors import LettersError
from letters.escape import MarkdownText, escape_markdown, hard_break_lines, trusted_markdown
from letters.language import LanguagePack, language_pack
from letters.letter import Letter, SenderBlock
from letters.limits import LimitExceeded, Limits, guarded
from letters.schema import Case, Recipient, Sender
from letters.template_lines import innermost_template, template_line
from letters.workspace import CaseFile, TemplateFile, Workspace, split_front_matter, suggest

LANGUAGE_KEY = "_letters_language"


class Record(dict[str, Any]):
    """A mapping the template reads with dots; knows its own name for error messages.

    In templates a dot reaches only the data (see _GuardedSandbox.getattr): a field named
    `items` or `label` is the field, never a method or attribute of this class.
    """

    record_name: str = "value"


def record(data: dict[str, Any], name: str) -> Record:
    result = Record({key: _plain(value, f"{name}.{key}") for key, value in data.items()})
    result.record_name = name
    return result


def _plain(value: Any, label: str) -> Any:
    if isinstance(value, dict):
        return record(value, label)
    if isinstance(value, list | tuple):
        return [_plain(item, label) for item in value]
    return "" if value is None else value


class LettersUndefined(StrictUndefined):
    """Strict undefined whose message names the field and suggests a close one."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:  # type: ignore[override]
        owner = self._undefined_obj
        name = self._undefined_name
        if isinstance(owner, Record):
            hint = suggest(str(name), list(owner))
            message = f"{owner.record_name} has no field {name!r}"
            return f"{message} ({hint})" if hint else message
        if owner is jinja2.utils.missing:
            return (
                f"{name!r} is undefined (the letter knows recipient, case, sender, date, subject)"
            )
        return super()._undefined_message


class _BodyLoader(ConfinedLoader):
    """Loads templates with their front matter blanked out, keeping line numbers."""

    def transform(self, source: str) -> str:
        return split_front_matter(source)[1]


def _repeats_too_much(left: Any, right: Any, limit: int) -> bool:
    for sequence, count in ((left, right), (right, left)):
        if isinstance(sequence, str | list | tuple) and isinstance(count, int):
            return len(sequence) * count > limit
    return False


def _power_too_large(base: Any, exponent: Any, limit_bits: int) -> bool:
    if not (isinstance(base, int) and isinstance(exponent, int)):
        return False
    return abs(base) > 1 and exponent > 0 and abs(base).bit_length() * exponent > limit_bits


class _GuardedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus a refusal to build huge values with * and **."""

    intercepted_binops = frozenset({"*", "**"})
    MAX_ITEMS = 1_000_000
    MAX_POWER_BITS = 10_000

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Record):
            # Data fields only: `fields.items` must not be dict.items.
            return obj[attribute] if attribute in obj else self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*" and _repeats_too_much(left, right, self.MAX_ITEMS):
            raise SecurityError("the result of * would be too large")
        if operator == "**" and _power_too_large(left, right, self.MAX_POWER_BITS):
            raise SecurityError("the result of ** would be too large")
        return super().call_binop(context, operator, left, right)


def _language(context: Context) -> LanguagePack:
    pack = context.get(LANGUAGE_KEY)
    return pack if isinstance(pack, LanguagePack) else language_pack("en")


@pass_context
def prose_list(context: Context, items: Any) -> str:
    if isinstance(items, str):
        return items
    return _language(context).join([str(item) for item in items])


@pass_context
def long_date(context: Context, value: Any) -> str:
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"long_date needs a YYYY-MM-DD date, not {value!r}") from None
    if not isinstance(value, dt.date):
        raise ValueError(f"long_date needs a date, not {value!r}")
    return _language(context).long_date(value)


def address_block(recipient: Any) -> MarkdownText:
    return hard_break_lines(recipient_lines(recipient))


def recipient_lines(recipient: Any) -> tuple[str, ...]:
    """Name line, title, organisation, then postal lines: what goes in the envelope window."""
    get = recipient.get if isinstance(recipient, dict) else lambda k, d="": getattr(recipient, k, d)
    name = " ".join(part for part in (get("honorific", ""), get("name", "")) if part)
    lines = [name, get("title", ""), get("organisation", ""), *get("address", ())]
    return tuple(str(line) for line in lines if line)


def _environment(finalize: Callable[[Any], Any], templates_dir: Path) -> jinja2.Environment:
    env = _GuardedSandbox(
        loader=_BodyLoader(templates_dir),
        undefined=LettersUndefined,
        finalize=finalize,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # Macros, {% set %} blocks and caller() join already-finalised output: mark it as Markdown
    # so that it is not escaped a second time where it is used.
    env.concat = _concat_markdown  # type: ignore[method-assign]
    env.filters.update(
        prose_list=prose_list,
        long_date=long_date,
        address_block=address_block,
        markdown=trusted_markdown,
    )
    return env


def _concat_markdown(parts: Any) -> MarkdownText:
    return MarkdownText("".join(parts))


def _plain_text(value: Any) -> Any:
    return "" if value is None else value


class Renderer:
    """Renders letters of one workspace; reuse it for many letters (templates are cached)."""

    def __init__(self, workspace: Workspace, limits: Limits | None = None) -> None:
        self.workspace = workspace
        self.limits = limits or Limits.from_env()
        self.markdown_env = _environment(escape_markdown, workspace.templates_dir)
        self.text_env = _environment(_plain_text, workspace.templates_dir)
        self.text_env.filters["markdown"] = lambda value: value
        self.text_env.filters["address_block"] = lambda r: "\n".join(recipient_lines(r))

    def render(
        self,
        case_file: CaseFile,
        template_name: str,
        recipient: Recipient,
        paper: str,
        today: dt.date,
    ) -> Letter:
        case = case_file.case
        template = self.workspace.template_for(template_name, recipient.language)
        pack = language_pack(template.language, self.workspace.root)
        date = case.date or today
        context = self._context(case_file, recipient, pack, date, paper)
        try:
            with guarded(self.limits, "rendering the template"):
                context["subject"] = self._subject(template, context, case)
                body = self._body(template, context)
        except LimitExceeded as exc:
            raise LettersError(str(exc), template.path, hint=exc.hint) from None
        body_markdown, closing_markdown = split_closing(body)
        sender = case.sender
        return Letter(
            case_id=case_file.id,
            template_name=template_name,
            recipient_id=recipient.id,
            recipient_name=recipient.name,
            language=template.language,
            paper=paper,
            date=date,
            date_text=pack.long_date(date),
            subject=context["subject"],
            reference=case.reference,
            sender=sender_block(sender, self.workspace.root),
            recipient_lines=recipient_lines(recipient),
            body_markdown=body_markdown,
            closing_markdown=closing_markdown,
            signature_lines=tuple(v for v in (sender.name, sender.title, sender.organisation) if v),
            labels=pack.labels,
            template_file=template.path,
        )

    def _context(
        self,
        case_file: CaseFile,
        recipient: Recipient,
        pack: LanguagePack,
        date: dt.date,
        paper: str,
    ) -> dict[str, Any]:
        case = case_file.case
        recipient_data = recipient.model_dump()
        recipient_data["address"] = list(recipient.address)
        recipient_data["tags"] = list(recipient.tags)
        recipient_data["paper"] = paper
        recipient_data["salutation"] = recipient.salutation or pack.default_salutation(
            recipient.honorific, recipient.name
        )
        sender = record(case.sender.model_dump(), "sender")
        case_data = case.model_dump(exclude={"letters", "sender"})
        case_data.update(id=case_file.id, date=date, demands=list(case.demands))
        case_record = record(case_data, "case")
        case_record["sender"] = sender
        return {
            "recipient": record(recipient_data, "recipient"),
            "case": case_record,
            "sender": sender,
            "date": date,
            LANGUAGE_KEY: pack,
        }

    def _subject(self, template: TemplateFile, context: dict[str, Any], case: Case) -> str:
        if not template.subject:
            return case.title
        try:
            compiled = self.text_env.from_string(template.subject)
            text = compiled.render(context)
        except Exception as exc:
            raise template_error(
                exc, template.path, template.subject_line, "subject", self.limits
            ) from None
        return " ".join(text.split())

    def _body(self, template: TemplateFile, context: dict[str, Any]) -> str:
        cap = self.limits.letter_kb * 1024
        try:
            compiled = self.markdown_env.get_template(template.path.name)
            parts: list[str] = []
            size = 0
            # Stream the output so a runaway loop stops at the cap instead of filling memory.
            for part in compiled.generate(context):
                size += len(part)
                if size > cap:
                    raise self.limits.too_long()
                parts.append(part)
            return "".join(parts)
        except Exception as exc:
            raise template_error(exc, template.path, 0, "template", self.limits) from None


def split_closing(body: str) -> tuple[str, str]:
    """Separate the template's last paragraph (the closing, e.g. "Yours sincerely,")."""
    body = body.strip("\n")
    lines = [line.rstrip() if line.strip() == "" else line for line in body.split("\n")]
    body = "\n".join(lines)
    breaks = list(re.finditer(r"\n\n+", body))
    if not breaks:
        return "", body.strip()
    last = breaks[-1]
    return body[: last.start()].rstrip("\n"), body[last.end() :].strip()


def sender_block(sender: Sender, root: Path) -> SenderBlock:
    return SenderBlock(
        name=sender.name,
        title=sender.title,
        organisation=sender.organisation,
        address=tuple(sender.address),
        email=sender.email,
        phone=sender.phone,
        website=sender.website,
        logo=(root / sender.logo).resolve() if sender.logo else None,
        signature=(root / sender.signature).resolve() if sender.signature else None,
    )


# What each kind of template failure means to a campaigner, and what to do about it.
_EXPLANATIONS: list[tuple[type[BaseException], str, str]] = [
    (
        jinja2.TemplateSyntaxError,
        "template syntax error in {part}: {detail}",
        "check the {{ }} and {% %} tags around this line",
    ),
    (
        jinja2.UndefinedError,
        "undefined variable in {part}: {detail}",
        "use a field that exists in the data, or add it to the YAML "
        "(free fields go under recipient `fields:` or case `facts:`)",
    ),
    (
        SecurityError,
        "the {part} tried something templates may not do: {detail}",
        "templates can read the letter's data but cannot reach Python internals",
    ),
    (
        jinja2.TemplateNotFound,
        "{part} includes {name!r}, which is not in templates/",
        "includes and imports must name a file inside the workspace's templates/",
    ),
    (
        RecursionError,
        "the {part} ran out of resources (RecursionError)",
        "look for a macro that calls itself",
    ),
]


def template_error(
    exc: BaseException, path: Path, line: int, part: str, limits: Limits | None = None
) -> LettersError:
    """Turn anything a template raised into a LettersError at the template's line."""
    if isinstance(exc, LettersError):
        return exc
    found = template_line(exc, path)
    if part == "template" and found:
        line = found
    file = path
    inner = innermost_template(exc, path.parent) if part == "template" else None
    if inner is not None and not isinstance(exc, jinja2.TemplateSyntaxError):
        file, line = inner
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename and part == "template":
        file = Path(exc.filename)
    if isinstance(exc, LimitExceeded):
        return LettersError(f"{part}: {exc}", file, line, hint=exc.hint)
    if isinstance(exc, MemoryError):
        exceeded = (limits or Limits.from_env()).too_big(f"the {part}")
        return LettersError(str(exceeded), file, line, hint=exceeded.hint)
    for kind, message, hint in _EXPLANATIONS:
        if isinstance(exc, kind):
            detail = getattr(exc, "message", None) or str(exc)
            name = getattr(exc, "name", "")
            return LettersError(
                message.format(part=part, detail=detail, name=name), file, line, hint=hint
            )
    return LettersError(
        f"error while rendering the {part}: {type(exc).__name__}: {exc}",
        file,
        line,
        hint="check the expression on this line",
    )
