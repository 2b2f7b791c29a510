"""Markdown → HTML and the HTML page of a letter (no PDF rendering here)."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letters.errors import LettersError
from letters.escape import escape_markdown
from letters.html import (
    ASSETS_DIR,
    css_string,
    layout_files,
    letter_page,
    markdown_to_html,
    page_counter_content,
)
from letters.letter import Labels
from tests.pdf_helpers import make_letter


def visible_text(fragment: str) -> str:
    """What a reader sees: tags dropped, entities decoded, whitespace collapsed."""
    text = html.unescape(re.sub(r"<[^>]+>", "", fragment))
    return re.sub(r"\s+", " ", text).strip()


# ---- Markdown ---------------------------------------------------------------------------


def test_numbered_list_keeps_its_starting_number():
    assert '<ol start="3">' in markdown_to_html("3. three\n4. four")


def test_sane_lists_do_not_merge_numbered_and_bulleted_items():
    out = markdown_to_html("1. one\n2. two\n\n* a\n* b")
    assert "<ol>" in out and "<ul>" in out


def test_raw_html_shows_as_text():
    out = markdown_to_html('Hello <b>bold</b> <img src="http://example.org/x.png">\n\n<div>x</div>')
    assert "<b>" not in out and "<img" not in out and "<div>" not in out
    assert (
        visible_text(out) == 'Hello <b>bold</b> <img src="http://example.org/x.png"> <div>x</div>'
    )


def test_entities_from_escaping_display_as_characters():
    out = markdown_to_html("Town &amp; Co &lt;b&gt; 3 &gt; 2")
    assert "&amp;amp;" not in out
    assert visible_text(out) == "Town & Co <b> 3 > 2"


def test_quotes_stay_as_typed():
    assert visible_text(markdown_to_html('"It\'s" -- done...')) == '"It\'s" -- done...'


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab1. -+*_#`[]()!<>&\\;:'\"=~|{}é")), max_size=30))
def test_escaped_data_shows_literally(value):
    shown = visible_text(markdown_to_html(escape_markdown(value)))
    assert shown == re.sub(r"\s+", " ", value).strip()


# ---- CSS strings for page numbers -------------------------------------------------------


def test_page_label_becomes_css_counters():
    assert page_counter_content("Page {page} of {pages}") == (
        '"Page " counter(page) " of " counter(pages)'
    )
    assert (
        page_counter_content("Trang {page}/{pages}") == '"Trang " counter(page) "/" counter(pages)'
    )
    assert page_counter_content("{page}") == "counter(page)"


def test_css_string_escapes_quotes_backslashes_and_markup():
    assert css_string('say "hi" \\ ok') == '"say \\"hi\\" \\\\ ok"'
    escaped = css_string("</style><script>")
    assert "<" not in escaped and ">" not in escaped


# ---- the page -----------------------------------------------------------------------------


def test_page_carries_metadata_language_and_stylesheets(tmp_path: Path):
    page = letter_page(make_letter(language="vi", subject="Về việc"), tmp_path)
    assert '<html lang="vi">' in page
    assert "<title>Về việc</title>" in page
    assert '<meta name="author" content="Amelia Hart">' in page
    assert '<meta name="dcterms.created" content="2026-03-14">' in page
    assert '<meta name="dcterms.modified" content="2026-03-14">' in page
    assert (ASSETS_DIR / "letter.css").as_uri() in page
    assert '"Page " counter(page) " of " counter(pages)' in page


def test_plain_fields_are_escaped(tmp_path: Path):
    letter = make_letter(
        subject="<script>alert(1)</script> & **bold**",
        recipient_name="Eve <img src=http://127.0.0.1:9/x.png>",
        recipient_lines=("Eve <img src=http://127.0.0.1:9/x.png>",),
        labels=Labels(page='Page {page}</style><script>"'),
    )
    page = letter_page(letter, tmp_path)
    assert "<script>" not in page and "<img src=http" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; **bold**" in page
    assert page.count("</style>") == 1


def test_workspace_layout_overrides_the_default(tmp_path: Path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "letter.css").write_text("body { color: red }", "utf-8")
    (templates / "letter.html.j2").write_text(
        '<html lang="{{ letter.language }}"><link rel="stylesheet" href="{{ stylesheet_url }}">'
        "<p>{{ letter.subject }}</p>{{ body_html }}</html>",
        "utf-8",
    )
    assert layout_files(tmp_path).template == templates / "letter.html.j2"
    page = letter_page(make_letter(subject="A & B"), tmp_path)
    assert (templates / "letter.css").resolve().as_uri() in page
    assert "<p>A &amp; B</p>" in page
    assert "<p>Dear Minister,</p>" in page


def test_unknown_name_in_layout_is_reported_with_its_line(tmp_path: Path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "letter.html.j2").write_text("<html>\n<p>{{ letter.nickname }}</p>\n", "utf-8")
    with pytest.raises(LettersError) as caught:
        letter_page(make_letter(), tmp_path)
    assert caught.value.file == templates / "letter.html.j2"
    assert caught.value.line == 2
    assert "nickname" in caught.value.message


def test_syntax_error_in_layout_is_reported_with_its_line(tmp_path: Path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "letter.html.j2").write_text("<html>\n\n{% if %}\n", "utf-8")
    with pytest.raises(LettersError) as caught:
        letter_page(make_letter(), tmp_path)
    assert caught.value.line == 3


def test_layout_cannot_reach_python_internals(tmp_path: Path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "letter.html.j2").write_text(
        "{{ letter.__class__.__init__.__globals__ }}", "utf-8"
    )
    with pytest.raises(LettersError):
        letter_page(make_letter(), tmp_path)


def test_html_module_does_not_import_weasyprint():
    code = "import sys, letters.html; assert 'weasyprint' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)
