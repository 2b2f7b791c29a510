"""Text in another script than the letter's, marked with the language it is in.

A Japanese name in an English letter must be drawn by the Japanese face, not by the first
CJK face of the stack (Chinese and Japanese draw the same ideographs in different forms):
fonts.css picks faces by `:lang()`, so each run of a foreign script gets a
`<span lang="…">`. The run's language is the recipient's when the recipient's language is
written in that script, else the script's most common language.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

from markupsafe import Markup, escape

# Script → (code point ranges, languages written in it, the language to assume).
_SCRIPTS = {
    "Hang": ("\uac00-\ud7af\u1100-\u11ff\u3130-\u318f", ("ko",), "ko"),
    "Kana": ("\u3040-\u30ff\u31f0-\u31ff", ("ja",), "ja"),
    "Hani": ("\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff", ("zh", "ja", "ko"), "zh"),
    "Arab": ("\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff", ("ar", "fa", "ur"), "ar"),
    "Hebr": ("\u0590-\u05ff", ("he", "yi"), "he"),
}
_JOIN = " \u3000\u00b7\u30fb\u2010-\u2015-"  # spaces and dots inside one name
_RUNS = re.compile(
    "|".join(
        f"(?P<{script}>[{chars}]+(?:[{_JOIN}]+[{chars}]+)*)"
        for script, (chars, _, _) in _SCRIPTS.items()
    )
)


def _prefix(tag: str) -> str:
    return tag.split("-")[0].lower()


def run_language(script: str, letter_language: str, recipient_language: str) -> str | None:
    """The language to mark a run of `script` with, or None when the letter's own."""
    _, languages, default = _SCRIPTS[script]
    if _prefix(letter_language) in languages:
        return None  # the letter is written in this script: its own faces apply
    if _prefix(recipient_language) in languages:
        return recipient_language
    return default


def marked(text: str, letter_language: str, recipient_language: str) -> Markup:
    """`text`, escaped, with each foreign-script run in a `<span lang>`."""
    parts: list[str] = []
    last = 0
    for match in _RUNS.finditer(text):
        language = run_language(match.lastgroup or "", letter_language, recipient_language)
        if language is None:
            continue
        parts.append(escape(text[last : match.start()]))
        parts.append(Markup('<span lang="{}">{}</span>').format(language, match.group()))
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def mark_tree(root: Element, letter_language: str, recipient_language: str) -> None:
    """Wrap the foreign-script runs of every text in an HTML tree (from Markdown)."""
    for element in list(root.iter()):
        if element.tag == "span" and element.get("lang"):
            continue
        _split(element, "text", letter_language, recipient_language)
        for child in list(element):
            _split(child, "tail", letter_language, recipient_language, parent=element)


def _split(
    node: Element, where: str, letter: str, recipient: str, parent: Element | None = None
) -> None:
    text = getattr(node, where) or ""
    candidates = [
        (match, run_language(match.lastgroup or "", letter, recipient))
        for match in _RUNS.finditer(text)
    ]
    runs: list[tuple[re.Match[str], str]] = [(m, lang) for m, lang in candidates if lang]
    if not runs:
        return
    holder = node if where == "text" else parent
    assert holder is not None
    position = 0 if where == "text" else list(holder).index(node) + 1
    setattr(node, where, text[: runs[0][0].start()])
    spans = []
    for index, (match, language) in enumerate(runs):
        span = Element("span", {"lang": language})
        span.text = match.group()
        following = runs[index + 1][0].start() if index + 1 < len(runs) else len(text)
        span.tail = text[match.end() : following]
        spans.append(span)
    for offset, span in enumerate(spans):
        holder.insert(position + offset, span)
