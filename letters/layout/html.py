"""Markdown → HTML, and the complete HTML page that WeasyPrint lays out for one letter.

This module stays free of WeasyPrint so that previews can import it cheaply; `letters.layout.pdf`
turns the page into PDF bytes.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import jinja2
import markdown
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup

from letters.compose.address import campaign_windows, fit_address
from letters.compose.letter import Letter
from letters.compose.sandbox import Record, Sandbox, record
from letters.compose.template_lines import template_line
from letters.errors import LettersError, OverLimitError
from letters.fileio import Confined
from letters.layout.lists import NumbersFitTheirMarkers, ShortListsStayTogether
from letters.layout.scripts import mark_tree, marked
from letters.limits import LimitExceeded, Limits, guarded
from letters.workspace.locales import direction as page_direction
from letters.workspace.locales import with_script
from letters.workspace.schema import PAPERS
from letters.workspace.templates import ConfinedLoader

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
FONTS_CSS = ASSETS_DIR / "fonts" / "fonts.css"
LAYOUT_TEMPLATE = "letter.html.j2"
LAYOUT_CSS = "letter.css"
OVERRIDES_DIR = "templates"  # a campaign's own layout files live beside its templates

_PAGE_FIELD = re.compile(r"\{(page|pages)\}")


@dataclass(frozen=True)
class Layout:
    """The layout files one workspace uses: its own overrides, else the package defaults."""

    template: Path
    stylesheet: Path


def layout_files(workspace: Path) -> Layout:
    """The layout files to use; an override that is a link (or not a regular file) is an
    error: the default layout is not quietly used instead, and the link is not followed."""
    return Layout(
        template=_override_or_default(workspace, LAYOUT_TEMPLATE),
        stylesheet=_override_or_default(workspace, LAYOUT_CSS),
    )


def _override_or_default(workspace: Path, name: str) -> Path:
    confined = Confined(workspace)
    relative = Path(OVERRIDES_DIR, name)
    kind = confined.kind(relative)
    if kind == "missing":
        return ASSETS_DIR / name
    if kind != "file":
        raise LettersError(
            f"{name} is {'a link' if kind == 'link' else 'not a regular file'}; "
            "it was not followed",
            file=workspace / relative,
            hint="copy the file into templates/ instead of linking to it",
        )
    return workspace / relative


def markdown_to_html(text: str, language: str = "", recipient_language: str = "") -> str:
    """Render the letter's Markdown; raw HTML in it is shown as text, never interpreted.

    Values from the data are already escaped into the Markdown, so entities such as `&amp;`
    arrive here and must come out as entities (which display as `&`), not double-escaped.
    With the letter's `language`, text in another script is marked with its language
    (letters.layout.scripts), so that the right face draws it.
    """
    # A fresh instance per call: Markdown objects keep per-document state and are not
    # safe to share between threads.
    md = markdown.Markdown(extensions=["sane_lists"], output_format="html")
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    md.treeprocessors.register(ShortListsStayTogether(md), "short_lists", 0)
    md.treeprocessors.register(NumbersFitTheirMarkers(md), "marker_widths", 0)
    if language:
        md.treeprocessors.register(_ForeignScripts(md, language, recipient_language), "scripts", 5)
    converted: str = md.convert(text)
    return converted


class _ForeignScripts(Treeprocessor):
    """Runs of another script than the letter's, marked with their language."""

    def __init__(self, md: markdown.Markdown, language: str, recipient_language: str) -> None:
        super().__init__(md)
        self.languages = (language, recipient_language)

    def run(self, root: Element) -> None:
        mark_tree(root, *self.languages)


def css_string(text: str) -> str:
    """`text` as a double-quoted CSS string, safe inside a `<style>` element too."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F or char in "<>&":
            # A hex escape ends at the space; `<` is escaped so `</style>` cannot appear.
            out.append(f"\\{ord(char):x} ")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def page_counter_content(pattern: str) -> str:
    """The CSS `content` value for a pattern like "Page {page} of {pages}"."""
    parts: list[str] = []
    for index, piece in enumerate(_PAGE_FIELD.split(pattern)):
        if index % 2:
            parts.append(f"counter({piece})")
        elif piece:
            parts.append(css_string(piece))
    return " ".join(parts) or '""'


def page_number_css(pattern: str, side: str = "right") -> Markup:
    """Rules that number pages 2 onwards; the first page (and so a one-page letter) has none.
    The number is at the bottom right, or left (`side`) in a right-to-left letter.

    Both rules live in the same `<style>` so that they share one cascade origin and the
    `:first` rule wins by specificity alone.
    """
    content = page_counter_content(pattern)
    box = "bottom-left" if side == "left" else "bottom-right"
    return Markup(
        f"@page {{ @{box} {{ content: {content}; }} }}\n"
        f"@page :first {{ @{box} {{ content: none; }} }}"
    )


def text_direction(lines: tuple[str, ...] | list[str]) -> str:
    """ "rtl" or "ltr": the direction of the first strong character (Unicode bidi class
    L, R or AL) of `lines`, "" when none has one."""
    for line in lines:
        for char in line:
            kind = unicodedata.bidirectional(char)
            if kind == "L":
                return "ltr"
            if kind in ("R", "AL"):
                return "rtl"
    return ""


def letter_page(letter: Letter, workspace: Path, limits: Limits | None = None) -> str:
    """The complete HTML document for one letter, ready for `letters.layout.pdf.PdfRenderer`.

    The layout may be the campaign's own template: it runs in the sandbox under the same
    time and memory limits as a letter's template.
    """
    limits = limits or Limits.from_env()
    layout = layout_files(workspace)
    template = _load_template(layout.template, workspace)
    context = page_context(letter, layout, workspace)
    try:
        with guarded(limits, "rendering the page layout"):
            return with_content_policy(template.render(context))
    except LimitExceeded as exceeded:
        raise OverLimitError(str(exceeded), file=layout.template, hint=exceeded.hint) from None
    except MemoryError:
        too_big = limits.too_big("rendering the page layout")
        raise OverLimitError(str(too_big), file=layout.template, hint=too_big.hint) from None
    except LettersError:
        raise
    except jinja2.TemplateNotFound as error:
        raise _not_found(error, layout.template, template_line(error, layout.template)) from error
    except Exception as error:
        # Our context is fixed, so any failure here comes from the layout template itself.
        raise LettersError(
            f"the letter layout could not be rendered: {error}",
            file=layout.template,
            line=template_line(error, layout.template),
            hint="compare it with the default letters/layout/assets/letter.html.j2",
        ) from error


# Opened in a browser, an HTML letter may load nothing from the network: a template (or the
# data it shows) could otherwise send the recipient list to a stranger's server in an image
# URL. WeasyPrint ignores the tag; its own fetcher refuses such URLs anyway.
CONTENT_POLICY = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    "img-src file: data:; style-src file: data: 'unsafe-inline'; font-src file: data:\">"
)
_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)


def with_content_policy(page: str) -> str:
    """The page with CONTENT_POLICY first in its head (before anything that could load)."""
    head = _HEAD.search(page)
    if head is None:
        return CONTENT_POLICY + "\n" + page
    return page[: head.end()] + "\n" + CONTENT_POLICY + page[head.end() :]


RETURN_ADDRESS_CHARS = 66  # what fits one 6.5 pt line across the 80 mm field
NBSP = "\u00a0"


def return_address(head: str, address: tuple[str, ...]) -> str:
    """The text of the window's return-address zone (A4), on one line when it can be.

    The whole address when it fits RETURN_ADDRESS_CHARS; else without its last line
    (normally the country) when it has three or more and that fits; else all of it, which
    wraps upwards in the zone (17.7 mm hold two lines and more). The street and the town
    are never dropped: the post office returns a letter to them. Text that wraps breaks
    after a " · ", not inside an address line that fits on one line ("M1" / "1AA").
    """
    lines = [line for line in address if line]
    text = " · ".join(v for v in (head, *lines) if v)
    if len(text) <= RETURN_ADDRESS_CHARS:
        return text
    if len(lines) >= 3:
        shorter = " · ".join(v for v in (head, *lines[:-1]) if v)
        if len(shorter) <= RETURN_ADDRESS_CHARS:
            return shorter
    whole = [
        line.replace(" ", NBSP) if len(line) <= RETURN_ADDRESS_CHARS else line for line in lines
    ]
    return f"{NBSP}· ".join(v for v in (head, *whole) if v)


def letter_data(letter: Letter) -> Record:
    """The letter as plain data for the layout template: no paths, no objects."""
    data = {
        field.name: getattr(letter, field.name)
        for field in dataclasses.fields(letter)
        if field.name not in ("sender", "labels", "template_file")
    }
    sender = dataclasses.asdict(letter.sender)
    sender.update(head=letter.sender.head, contact=letter.sender.contact)
    data.update(
        sender=sender,
        labels=dataclasses.asdict(letter.labels),
        sender_lines=letter.sender_lines,
        key="/".join(letter.key),
    )
    return record(data, "letter")


_URL = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$", re.IGNORECASE)


def contact_html(items: tuple[str, ...]) -> Markup:
    """The letterhead's contact line: a web address breaks only after `//` or a `/`, never
    at a hyphen inside a name ("…/take-" / "action/" would read as part of the address)."""
    return Markup(" · ").join(_unbroken_url(item) if _URL.match(item) else item for item in items)


def _unbroken_url(url: str) -> Markup:
    scheme, _, rest = url.partition("://")
    pieces = [f"{scheme}://", *re.findall(r"[^/]+/?|/", rest)]
    return Markup("<wbr>").join(
        Markup('<span class="nobr">{}</span>').format(piece) for piece in pieces
    )


def page_context(letter: Letter, layout: Layout, workspace: Path) -> dict[str, Any]:
    """What a layout template can use (documented at the top of the default template):
    plain data only, images and stylesheets as URL strings."""
    sender = letter.sender
    data = letter_data(letter)
    lines, size = letter.window_lines, letter.window_size_pt
    direction = page_direction(letter.language)
    if not lines:  # a letter made without its window (by hand, say): fit it here
        paper = letter.paper if letter.paper in PAPERS else "a4"
        fit = fit_address(letter.recipient_lines, campaign_windows(workspace)[paper])
        lines, size = fit.lines, fit.size_pt
    languages = (letter.language, letter.recipient_language)
    return {
        "address_lines": [marked(line, *languages) for line in lines],
        "address_size": f"{size:g}pt",
        "letter": data,
        "labels": data["labels"],
        "paper": letter.paper if letter.paper in PAPERS else "a4",
        "body_html": Markup(markdown_to_html(letter.body_markdown, *languages)),
        "closing_html": Markup(markdown_to_html(letter.closing_markdown, *languages)),
        "created": letter.date.isoformat(),
        "sender_head": sender.head,
        "sender_contact": sender.contact,
        "sender_contact_html": contact_html(sender.contact),
        "return_address": return_address(sender.head, sender.address),
        "logo_url": (workspace / sender.logo).as_uri() if sender.logo else "",
        "signature_url": (workspace / sender.signature).as_uri() if sender.signature else "",
        "fonts_url": FONTS_CSS.as_uri(),
        "stylesheet_url": layout.stylesheet.resolve().as_uri(),
        "page_number_css": page_number_css(
            letter.labels.page, "left" if direction == "rtl" else "right"
        ),
        # Right-to-left letters (CLDR's character order for the language), the page's
        # language with its CLDR script (zh-TW → zh-Hant-TW, for the fonts), and the
        # "rtl" for an address in a right-to-left script: the window stays on the left
        # (letter.css), its lines start on the right ("" for any other address).
        "direction": direction,
        "page_lang": with_script(letter.language),
        "address_dir": _rtl_only(lines),
        "return_address_dir": _rtl_only(sender.address or (sender.head,)),
    }


def _rtl_only(lines: tuple[str, ...] | list[str]) -> str:
    return "rtl" if text_direction(lines) == "rtl" else ""


def _load_template(path: Path, workspace: Path) -> jinja2.Template:
    try:
        if path.parent == ASSETS_DIR:
            return _package_environment().get_template(path.name)
        return _workspace_environment(workspace).get_template(path.name)
    except jinja2.TemplateNotFound as error:
        # Only the layout itself loads here (includes load as it renders): it exists, so it
        # is a link the loader refused.
        raise LettersError(
            f"the letter layout is a link to a file outside {path.parent.name}/",
            file=path,
            hint=f"copy the file into {path.parent.name}/ instead of linking to it",
        ) from error
    except jinja2.TemplateSyntaxError as error:
        raise LettersError(
            f"the letter layout has a syntax error: {error.message}",
            file=path,
            line=error.lineno,
            hint="check the {{ }} and {% %} tags on that line",
        ) from error


def _not_found(error: jinja2.TemplateNotFound, layout: Path, line: int) -> LettersError:
    return LettersError(
        f"the letter layout includes {error.name!r}, which is not a file in {layout.parent.name}/",
        file=layout,
        line=line,
        hint=f"includes and imports must name a file inside {layout.parent.name}/; "
        "a link to a file elsewhere is refused (copy the file in instead)",
    )


# One environment per folder: its loader recompiles a template only when the file changes.
@functools.cache
def _workspace_environment(workspace: Path) -> Sandbox:
    return _layout_sandbox(ConfinedLoader(Confined(workspace), OVERRIDES_DIR))


@functools.cache
def _package_environment() -> Sandbox:
    return _layout_sandbox(jinja2.FileSystemLoader(ASSETS_DIR))


def _layout_sandbox(loader: jinja2.BaseLoader) -> Sandbox:
    return Sandbox(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
