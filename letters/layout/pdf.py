"""HTML → PDF bytes with WeasyPrint, fetching nothing but files inside the workspace."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin
from xml.etree.ElementTree import Element

from letters.compose.letter import Letter
from letters.errors import LettersError
from letters.layout.fetch import (
    ImageRefusedError,
    RefusedURLError,
    SafeURLFetcher,
    shown_path,
)
from letters.layout.formats import PDF_VARIANTS
from letters.layout.html import FONTS_CSS
from letters.layout.weasy import CounterStyle, FontConfiguration, weasyprint


@dataclass
class PdfOutput:
    data: bytes
    warnings: list[str] = field(default_factory=list)
    pages: int = 0
    resources: list[Path] = field(default_factory=list)  # workspace files the PDF used


@dataclass
class ContentLostError(LettersError):
    """The letter would print without something its template asks for (a refused image,
    a font that would not load); `lost` says each thing."""

    lost: tuple[str, ...] = ()


class _LogCapture(logging.Filter):
    """Diverts WeasyPrint's log records into a list while this thread renders a letter.

    The library never prints: what WeasyPrint would log about a letter becomes one of its
    warnings instead. Other threads, and this one outside `capture()`, log as usual.
    """

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()

    @contextmanager
    def capture(self) -> Iterator[list[str]]:
        previous = getattr(self._local, "sink", None)
        sink: list[str] = []
        self._local.sink = sink
        try:
            yield sink
        finally:
            self._local.sink = previous

    def filter(self, record: logging.LogRecord) -> bool:
        sink: list[str] | None = getattr(self._local, "sink", None)
        if sink is None:
            return True
        if record.levelno >= logging.WARNING:
            sink.append(record.getMessage())
        return False


_LOGS = _LogCapture()
weasyprint.LOGGER.addFilter(_LOGS)


@dataclass(frozen=True)
class _Stylesheet:
    css: weasyprint.CSS
    warnings: tuple[str, ...]
    resources: tuple[Path, ...] = ()  # the file itself and what it imports, if in the workspace


class PdfRenderer:
    """Renders many letters in one process, sharing fonts and parsed stylesheets.

    Stylesheets linked from the page with `<link rel="stylesheet">` that are local files
    are parsed once and cached by (path, modification time), so editing letter.css between
    two builds is picked up. Not thread-safe: use one renderer per thread or process.
    """

    def __init__(self, workspace: Path, pdf_variant: str | None = None, max_pages: int = 0) -> None:
        if pdf_variant is not None and pdf_variant not in PDF_VARIANTS:
            raise LettersError(
                f"unknown PDF variant {pdf_variant!r}",
                hint=f"use one of: {', '.join(PDF_VARIANTS)}, or leave it out for plain PDF",
            )
        self.workspace = workspace.resolve()
        self.pdf_variant = pdf_variant
        self.max_pages = max_pages  # 0: no limit
        self._base_url = self.workspace.as_uri() + "/"
        self._font_config = FontConfiguration()
        self._counter_style = CounterStyle()
        self._stylesheets: dict[tuple[Path, int], _Stylesheet] = {}

    def render(self, html: str, letter: Letter) -> PdfOutput:
        fetcher = SafeURLFetcher(self.workspace, _template_label(letter, self.workspace))
        with _LOGS.capture() as logged:
            document = weasyprint.HTML(string=html, base_url=self._base_url, url_fetcher=fetcher)
            try:
                sheets = [self._stylesheet(FONTS_CSS)]
                sheets += [
                    self._stylesheet(path) for path in self._take_stylesheets(document, fetcher)
                ]
                rendered = document.render(
                    font_config=self._font_config,
                    counter_style=self._counter_style,
                    stylesheets=[sheet.css for sheet in sheets],
                    **self._options(),
                )
            except ImageRefusedError as refused:
                raise refused.error from None
            if fetcher.errors:  # in case WeasyPrint carried on after the refusal
                raise fetcher.errors[0]
            if self.max_pages and len(rendered.pages) > self.max_pages:
                raise LettersError(
                    f"the letter has {len(rendered.pages)} pages, more than the limit of "
                    f"{self.max_pages}",
                    letter.template_file,
                    hint="shorten the letter, or raise LETTERS_PAGE_LIMIT if it must be that long",
                )
            data = rendered.write_pdf(**self._options())
        warnings = [warning for sheet in sheets for warning in sheet.warnings]
        warnings += _fetch_warnings(fetcher, logged)
        serious = [warning for warning in dict.fromkeys(warnings) if not _harmless(warning)]
        if serious:
            # Nothing is silently dropped: a refused image or an unloadable font would
            # print a letter that says less than its template.
            raise ContentLostError(
                "the PDF would leave something out: " + "; ".join(serious),
                letter.template_file,
                hint="use only images, stylesheets and fonts inside the campaign folder, "
                "as regular files (not links)",
                lost=tuple(serious),
            )
        resources = [path for sheet in sheets for path in sheet.resources] + fetcher.fetched
        return PdfOutput(
            data=data,
            warnings=list(dict.fromkeys(warnings)),
            pages=len(rendered.pages),
            resources=sorted(set(resources)),
        )

    def _options(self) -> dict[str, object]:
        # No /ID unless the variant needs one; WeasyPrint then derives it from the content
        # (an MD5 of the objects), so the same letter always gives the same bytes.
        # Presentational hints make `<ol start="4">` from Markdown count from 4.
        options: dict[str, object] = {"pdf_variant": self.pdf_variant, "presentational_hints": True}
        if self.pdf_variant == "pdf/ua-1":
            options["pdf_tags"] = True  # WeasyPrint 70 implies it; say so in case that changes
        return options

    def _take_stylesheets(self, document: weasyprint.HTML, fetcher: SafeURLFetcher) -> list[Path]:
        """Local stylesheets the page links, removed from it so they come from the cache.

        Links that are not safe local files stay in the page, where WeasyPrint asks the
        fetcher for them and the fetcher refuses them with a warning.
        """
        paths: list[Path] = []
        for parent in document.etree_element.iter():
            for child in list(parent):
                if not _is_stylesheet_link(child):
                    continue
                url = urljoin(document.base_url or self._base_url, child.get("href", "").strip())
                if not url.lower().startswith("file:"):
                    continue
                try:
                    path = fetcher.local_path(url)
                except RefusedURLError:
                    parent.remove(child)  # already reported by the fetcher
                    continue
                parent.remove(child)
                if path != FONTS_CSS and path not in paths:
                    paths.append(path)
        return paths

    def _stylesheet(self, path: Path) -> _Stylesheet:
        key = (path, path.lstat().st_mtime_ns)  # path is no link (see local_path)
        sheet = self._stylesheets.get(key)
        if sheet is None:
            fetcher = SafeURLFetcher(self.workspace, shown_path(path, self.workspace))
            with _LOGS.capture() as logged:
                # Read through the fetcher, so a workspace stylesheet is reached without links.
                css = weasyprint.CSS(
                    url=path.as_uri(),
                    url_fetcher=fetcher,
                    font_config=self._font_config,
                    counter_style=self._counter_style,
                )
            # The fetcher served the file itself too, if it is in the workspace.
            sheet = _Stylesheet(
                css, tuple(_fetch_warnings(fetcher, logged)), tuple(dict.fromkeys(fetcher.fetched))
            )
            self._stylesheets = {k: v for k, v in self._stylesheets.items() if k[0] != path}
            self._stylesheets[key] = sheet
        return sheet


# What WeasyPrint says that changes nothing a reader sees (a stylesheet rule it cannot use):
# shown as warnings. Anything else fails the letter.
_HARMLESS = re.compile(
    r"Ignored `|Invalid or unsupported selector|Parse error at|Unknown pseudo-element"
    r"|Expected a media type|Invalid media type|Unsupported stylesheet type"
)


def _harmless(warning: str) -> bool:
    return "refused to fetch" not in warning and _HARMLESS.search(warning) is not None


def _fetch_warnings(fetcher: SafeURLFetcher, logged: list[str]) -> list[str]:
    """The fetcher's refusals, then what WeasyPrint logged that does not just repeat one."""
    return fetcher.warnings + [
        f"{fetcher.template_name}: {message}"
        for message in logged
        if not any(refusal in message for refusal in fetcher.warnings)
    ]


def _is_stylesheet_link(element: Element) -> bool:
    if element.tag != "link" or not element.get("href"):
        return False
    rel = element.get("rel", "").lower().split()
    media = element.get("media", "all").strip().lower()
    mime = element.get("type", "text/css").split(";")[0].strip().lower()
    return (
        "stylesheet" in rel
        and "alternate" not in rel
        and media in ("", "all", "print")
        and mime == "text/css"
    )


def _template_label(letter: Letter, workspace: Path) -> str:
    if letter.template_file is not None:
        return shown_path(letter.template_file, workspace)
    return letter.template_name


def standalone_pdf(html: str, workspace: Path, label: str) -> PdfOutput:
    """A page letters lays out itself (envelopes, label sheets) as PDF bytes, with the
    packaged fonts and the same safe fetcher as a letter.

    Deterministic: WeasyPrint writes no /ID for plain PDF, and the creation date comes from
    the page's own `<meta name="dcterms.created">`, so the same page gives the same bytes."""
    fetcher = SafeURLFetcher(workspace, label)
    font_config = FontConfiguration()
    with _LOGS.capture() as logged:
        fonts = weasyprint.CSS(url=FONTS_CSS.as_uri(), url_fetcher=fetcher, font_config=font_config)
        base_url = workspace.resolve().as_uri() + "/"
        document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher).render(
            font_config=font_config, stylesheets=[fonts]
        )
        data = document.write_pdf()
    warnings = list(dict.fromkeys(_fetch_warnings(fetcher, logged)))
    return PdfOutput(data=data, warnings=warnings, pages=len(document.pages))
