"""Render one letter: a sandboxed Jinja2 template plus data → a `Letter` (Markdown body)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import StrictUndefined, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import SecurityError

from letters.compose.address import recipient_lines
from letters.compose.escape import MarkdownText, escape_markdown, hard_break_lines, trusted_markdown
from letters.compose.letter import Letter, SenderBlock
from letters.compose.sandbox import Record, Sandbox, record
from letters.compose.template_lines import innermost_template, template_line
from letters.errors import LettersError, OverLimitError
from letters.fileio import Confined
from letters.limits import LimitExceeded, Limits, guarded
from letters.workspace import (
    TEMPLATES_DIR,
    CaseFile,
    TemplateFile,
    Workspace,
    split_front_matter,
    suggest,
)
from letters.workspace.language import LanguagePack, language_pack
from letters.workspace.schema import Case, Recipient, Sender
from letters.workspace.templates import ConfinedLoader

LANGUAGE_KEY = "_letters_language"  # the letter's language tag (plain text)


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


class _LetterSandbox(Sandbox):
    """The sandbox plus the language packs its filters write in (never seen by templates:
    a template's context holds only the language's tag)."""

    language_packs: dict[str, LanguagePack]


def _language(context: Context) -> LanguagePack:
    packs = getattr(context.environment, "language_packs", {})
    pack = packs.get(context.get(LANGUAGE_KEY))
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


def _environment(finalize: Callable[[Any], Any], confined: Confined) -> _LetterSandbox:
    env = _LetterSandbox(
        loader=_BodyLoader(confined, TEMPLATES_DIR),
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
    env.language_packs = {}
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
        confined = Confined(workspace.root)
        self.markdown_env = _environment(escape_markdown, confined)
        self.text_env = _environment(_plain_text, confined)
        # A template that went over a limit once would do so for every recipient: it is
        # reported once and not run again (so `check` of a hostile campaign stays bounded).
        self.over_limit: dict[Path, LettersError] = {}
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
        label = f"{case_file.id}/{template_name}/{recipient.id}"
        spent = self.over_limit.get(template.path)
        if spent is not None:
            raise dataclasses.replace(spent, letter=label)
        pack = language_pack(template.language, self.workspace.root)
        for env in (self.markdown_env, self.text_env):
            env.language_packs[pack.tag] = pack
        date = case.date or today
        context = self.context(case_file, recipient, pack.tag, date, paper)
        try:
            try:
                with guarded(self.limits, "rendering the template"):
                    context["subject"] = self._subject(template, context, case)
                    body = self._body(template, context)
            except LimitExceeded as exc:
                raise OverLimitError(str(exc), template.path, hint=exc.hint) from None
        except LettersError as error:
            error.letter = error.letter or label
            if isinstance(error, OverLimitError):
                self.over_limit[template.path] = error
            raise
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
            sender=sender_block(sender),
            recipient_lines=recipient_lines(recipient),
            body_markdown=body_markdown,
            closing_markdown=closing_markdown,
            signature_lines=tuple(v for v in (sender.name, sender.title, sender.organisation) if v),
            labels=pack.labels,
            template_file=template.path,
        )

    def context(
        self,
        case_file: CaseFile,
        recipient: Recipient,
        language: str,
        date: dt.date,
        paper: str,
    ) -> dict[str, Any]:
        """What a letter template sees: plain data only (see letters.compose.sandbox)."""
        case = case_file.case
        pack = language_pack(language, self.workspace.root)
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
            LANGUAGE_KEY: pack.tag,
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


def sender_block(sender: Sender) -> SenderBlock:
    return SenderBlock(
        name=sender.name,
        title=sender.title,
        organisation=sender.organisation,
        address=tuple(sender.address),
        email=sender.email,
        phone=sender.phone,
        website=sender.website,
        logo=sender.logo,
        signature=sender.signature,
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
        return OverLimitError(f"{part}: {exc}", file, line, hint=exc.hint)
    if isinstance(exc, MemoryError):
        exceeded = (limits or Limits.from_env()).too_big(f"the {part}")
        return OverLimitError(str(exceeded), file, line, hint=exceeded.hint)
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
