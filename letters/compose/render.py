"""Render one letter: a sandboxed Jinja2 template plus data → a `Letter` (Markdown body)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

from letters.compose.address import (
    campaign_windows,
    case_origin,
    fit_address,
    recipient_lines,
    sender_address_lines,
)
from letters.compose.escape import MarkdownText, trusted_markdown
from letters.compose.filters import (
    LANGUAGE_KEY,
    DataValueError,
    address_block,
    date_in_text,
    escape_in_letter,
    long_date,
    prose_list,
)
from letters.compose.glyphs import Sources, check_letter
from letters.compose.letter import Letter, SenderBlock
from letters.compose.postal import origin_country, postal_lines
from letters.compose.sandbox import Sandbox, record
from letters.compose.template_cache import from_string, use_template_cache
from letters.compose.template_errors import UNDEFINED_HINT, template_error
from letters.compose.translate import TranslatedCases
from letters.compose.undefined import LettersUndefined, Miss, noting_misses
from letters.errors import LettersError, LettersErrors, OverLimitError
from letters.fileio import Confined
from letters.limits import LimitExceeded, Limits, guarded
from letters.workspace import (
    TEMPLATES_DIR,
    CaseFile,
    TemplateFile,
    Workspace,
    split_front_matter,
)
from letters.workspace.language import LanguagePack, language_pack
from letters.workspace.located import Located
from letters.workspace.schema import Case, Recipient, Sender
from letters.workspace.templates import ConfinedLoader


class _BodyLoader(ConfinedLoader):
    """Loads templates with their front matter blanked out, keeping line numbers."""

    def transform(self, source: str) -> str:
        return split_front_matter(source)[1]


class _LetterSandbox(Sandbox):
    """The sandbox plus the language packs its filters write in (never seen by templates:
    a template's context holds only the language's tag)."""

    language_packs: dict[str, LanguagePack]


def _environment(finalize: Callable[..., Any], confined: Confined) -> _LetterSandbox:
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
        date_in_text=date_in_text,
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
        self.markdown_env = _environment(escape_in_letter, confined)
        self.text_env = _environment(_plain_text, confined)
        # A template that went over a limit once would do so for every recipient: it is
        # reported once and not run again (so `check` of a hostile campaign stays bounded).
        self.over_limit: dict[Path, LettersError] = {}
        self.windows = campaign_windows(workspace.root)
        self.translated = TranslatedCases()  # each case in each letter's language
        self.text_env.filters["markdown"] = lambda value: value
        self.text_env.filters["address_block"] = lambda r: "\n".join(recipient_lines(r))
        # Their filters are final now: they shape the code that is kept.
        use_template_cache(self.markdown_env, self.limits)
        use_template_cache(self.text_env, self.limits)
        self.subjects: dict[str, jinja2.Template] = {}  # compiled once, used for every letter

    def render(
        self,
        case_file: CaseFile,
        template_name: str,
        recipient: Recipient,
        paper: str,
        today: dt.date,
    ) -> Letter:
        template = self.workspace.template_for(template_name, recipient.language)
        label = f"{case_file.id}/{template_name}/{recipient.id}"
        spent = self.over_limit.get(template.path)
        if spent is not None:
            raise dataclasses.replace(spent, letter=label)
        pack = language_pack(template.language, self.workspace.root)
        for env in (self.markdown_env, self.text_env):
            env.language_packs[pack.tag] = pack
        case = self.translated.get(case_file.case, pack.tag, case_file.located)
        date = case.date or today
        context = self.context(case_file, recipient, pack.tag, date, paper)
        self._letter_data = (case_file, recipient)
        try:
            try:
                with guarded(self.limits, "rendering the template"):
                    context["subject"] = self._subject(template, context, case)
                    body = self._body(template, context)
            except LimitExceeded as exc:
                raise OverLimitError(str(exc), template.path, hint=exc.hint) from None
        except LettersError as error:
            for one in error.errors if isinstance(error, LettersErrors) else [error]:
                one.letter = one.letter or label
            error.letter = error.letter or label
            if isinstance(error, OverLimitError):
                self.over_limit[template.path] = error
            raise
        body_markdown, closing_markdown = split_closing(body)
        sender = case.sender
        window = fit_address(recipient_lines(recipient, case), self.windows[paper])
        letter = Letter(
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
            sender=sender_block(
                sender, sender_address_lines(case, origin_country(recipient.address))
            ),
            recipient_lines=recipient_lines(recipient, case),
            body_markdown=body_markdown,
            closing_markdown=closing_markdown,
            signature_lines=tuple(v for v in (sender.name, sender.title, sender.organisation) if v),
            labels=pack.labels,
            template_file=template.path,
            window_lines=window.lines,
            window_size_pt=window.size_pt,
            recipient_language=recipient.language,
        )
        # A character no installed font draws is an error before anything is written.
        try:
            with guarded(self.limits, "checking the letter's characters"):
                check_letter(letter, Sources(self._data_places(), (template.path, pack.path)))
        except LimitExceeded as exc:
            raise OverLimitError(str(exc), template.path, hint=exc.hint, letter=label) from None
        return letter

    def context(
        self,
        case_file: CaseFile,
        recipient: Recipient,
        language: str,
        date: dt.date,
        paper: str,
    ) -> dict[str, Any]:
        """What a letter template sees: plain data only (see letters.compose.sandbox)."""
        case = self.translated.get(case_file.case, language, case_file.located)
        pack = language_pack(language, self.workspace.root)
        recipient_data = recipient.model_dump()
        recipient_data["address"] = list(_postal_only(recipient.address, case))
        recipient_data["tags"] = list(recipient.tags)
        recipient_data["paper"] = paper
        recipient_data["salutation"] = recipient.salutation or pack.default_salutation(
            recipient.honorific, recipient.name, recipient.family_name
        )
        sender_data = case.sender.model_dump()
        sender_data["address"] = list(sender_address_lines(case, origin_country(recipient.address)))
        sender = record(sender_data, "sender")
        case_data = case.model_dump(exclude={"letters", "sender", "translations"})
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
            compiled = self.subjects.get(template.subject)
            if compiled is None:
                name = f"subject of {template.path}"
                compiled = from_string(self.text_env, template.subject, name)
                self.subjects[template.subject] = compiled
            with noting_misses(template.path, template.subject_line) as misses:
                text = compiled.render(context)
        except Exception as exc:
            error = template_error(
                exc, template.path, template.subject_line, "subject", self.limits
            )
            raise self._located(exc, error) from None
        if misses:
            raise _undefined(misses, "subject")
        return " ".join(text.split())

    def _body(self, template: TemplateFile, context: dict[str, Any]) -> str:
        cap = self.limits.letter_kb * 1024
        try:
            compiled = self.markdown_env.get_template(template.path.name)
            parts: list[str] = []
            size = 0
            with noting_misses(template.path) as misses:
                # Stream the output so a runaway loop stops at the cap, not filling memory.
                for part in compiled.generate(context):
                    size += len(part)
                    if size > cap:
                        raise self.limits.too_long()
                    parts.append(part)
        except Exception as exc:
            error = template_error(exc, template.path, 0, "template", self.limits)
            raise self._located(exc, error) from None
        if misses:
            raise _undefined(misses, "template")
        return "".join(parts)

    def render_extra(
        self, name: str, case_file: CaseFile, recipient: Recipient, letter: Letter
    ) -> str:
        """Another template of the campaign (`name` inside templates/, e.g. the e-mail cover
        note `email/<template>.md.j2`) as Markdown, with `letter`'s context and subject, in
        the same sandbox, with the same escaping and limits as the letter itself."""
        path = self.workspace.templates_dir / name
        pack = language_pack(letter.language, self.workspace.root)
        for env in (self.markdown_env, self.text_env):
            env.language_packs[pack.tag] = pack
        context = self.context(case_file, recipient, pack.tag, letter.date, letter.paper)
        context["subject"] = letter.subject
        self._letter_data = (case_file, recipient)
        cap, parts = self.limits.letter_kb * 1024, list[str]()
        try:
            with guarded(self.limits, "rendering the template"), noting_misses(path) as misses:
                for part in self.markdown_env.get_template(name).generate(context):
                    parts.append(part)
                    if sum(map(len, parts)) > cap:
                        raise self.limits.too_long()
        except Exception as exc:
            error = self._located(exc, template_error(exc, path, 0, "template", self.limits))
            error.letter = error.letter or "/".join(letter.key)
            raise error from None
        if misses:
            raise _undefined(misses, "template")
        return "".join(parts)

    def _data_places(self) -> tuple[tuple[Located, tuple[str | int, ...]], ...]:
        """The YAML a letter's data comes from: its case file, its recipient's entry."""
        case_file, recipient = self._letter_data
        places: list[tuple[Located, tuple[str | int, ...]]] = [(case_file.located, ())]
        recipients = self.workspace.recipients_located
        if recipients is not None:
            index = self.workspace.recipient_index(recipient.id)
            places.append((recipients, ("recipients", index)))
        return tuple(places)

    def _located(self, exc: BaseException, error: LettersError) -> LettersError:
        """A value a filter refused, named at its line in the YAML it came from (the
        template line that used it goes in the message)."""
        if not isinstance(exc, DataValueError) or not isinstance(exc.value, str):
            return error
        for located, prefix in self._data_places():
            path = located.find_value(exc.value, prefix)
            if path is not None:
                line, column = located.line_of(path)
                used = f"{error.location(self.workspace.root)}" if error.file else "the template"
                return LettersError(f"{exc} (used in {used})", located.file, line, column, exc.hint)
        return error


def _undefined(misses: list[Miss], part: str) -> LettersError:
    """Every undefined name a template printed, each at its line, in one error."""
    errors = [
        LettersError(
            f"undefined variable in {part}: {message}", Path(file), line, hint=UNDEFINED_HINT
        )
        for file, line, message in dict.fromkeys(misses)
    ]
    return errors[0] if len(errors) == 1 else LettersErrors(errors)


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


def _postal_only(address: Any, case: Case) -> tuple[str, ...]:
    """A recipient's postal lines, without name or organisation (`recipient.address`)."""
    if not origin_country(address):
        return tuple(address)
    origin, language = case_origin(case)
    return postal_lines(address, origin=origin, language=language)


def sender_block(sender: Sender, address: tuple[str, ...]) -> SenderBlock:
    """The sender's details, with `address`, its postal lines as laid out."""
    return SenderBlock(
        name=sender.name,
        title=sender.title,
        organisation=sender.organisation,
        address=address,
        email=sender.email,
        phone=sender.phone,
        website=sender.website,
        logo=sender.logo,
        signature=sender.signature,
    )
