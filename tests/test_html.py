"""Markdown → HTML and the HTML page of a letter (one PDF, to see that long values wrap)."""

from __future__ import annotations

import html
import io
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from letters.compose.escape import escape_markdown
from letters.compose.letter import Labels
from letters.errors import LettersError
from letters.layout.html import (
    ASSETS_DIR,
    RETURN_ADDRESS_CHARS,
    css_string,
    layout_files,
    letter_page,
    markdown_to_html,
    page_counter_content,
    return_address,
)
from tests.pdf_helpers import SENDER, make_letter, page_texts, position_of, render, text_lines


def visible_text(fragment: str) -> str:
    """What a reader sees: tags dropped, entities decoded, whitespace collapsed."""
    text = html.unescape(re.sub(r"<[^>]+>", "", fragment))
    return re.sub(r"\s+", " ", text).strip()


# ---- Markdown ---------------------------------------------------------------------------


def test_numbered_list_keeps_its_starting_number():
    assert '<ol class="keep" start="3">' in markdown_to_html("3. three\n4. four")


def test_sane_lists_do_not_merge_numbered_and_bulleted_items():
    out = markdown_to_html("1. one\n2. two\n\n* a\n* b")
    assert '<ol class="keep">' in out and '<ul class="keep">' in out


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


@pytest.mark.slow
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


def copied_layout(workspace: Path, extra: str = "") -> Path:
    """The default layout copied into workspace/templates/, with `extra` at the top of the body."""
    templates = workspace / "templates"
    templates.mkdir(exist_ok=True)
    layout = templates / "letter.html.j2"
    text = (ASSETS_DIR / "letter.html.j2").read_text("utf-8")
    layout.write_text(text.replace('<main class="body">', '<main class="body">' + extra), "utf-8")
    return layout


@pytest.mark.parametrize("tag", ['{% include "secret.txt" %}', '{% import "secret.txt" as s %}'])
def test_layout_cannot_include_a_link_to_a_file_outside_its_folder(tmp_path: Path, tag):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-HOSTNAME", "utf-8")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    layout = copied_layout(workspace, tag)
    (layout.parent / "secret.txt").symlink_to(secret)
    with pytest.raises(LettersError) as caught:
        letter_page(make_letter(), workspace)
    error = caught.value
    assert error.file == layout.parent / "secret.txt"
    assert error.message == "this is a link; it was not followed"
    assert "TOP-SECRET" not in error.describe()


def test_layout_includes_files_in_its_folder_but_never_through_a_link(tmp_path: Path):
    layout = copied_layout(tmp_path, '{% include "_notice.html" %}')
    (layout.parent / "_notice.html").write_text("<p>Printed on recycled paper</p>", "utf-8")
    page = letter_page(make_letter(), tmp_path)
    assert page.count("<p>Printed on recycled paper</p>") == 1
    # A link that leads back inside the folder is refused all the same: a link can be
    # swapped for one to a secret between the check and the read.
    copied_layout(tmp_path, '{% include "_alias.html" %}')
    (layout.parent / "_alias.html").symlink_to(layout.parent / "_notice.html")
    with pytest.raises(LettersError) as caught:
        letter_page(make_letter(), tmp_path)
    assert caught.value.file == layout.parent / "_alias.html"


@pytest.mark.parametrize("name", ["letter.html.j2", "letter.css"])
def test_a_layout_override_linked_outside_the_workspace_is_refused(tmp_path: Path, name):
    outside = tmp_path / "elsewhere" / name
    outside.parent.mkdir()
    outside.write_text((ASSETS_DIR / name).read_text("utf-8"), "utf-8")
    workspace = tmp_path / "ws"
    (workspace / "templates").mkdir(parents=True)
    (workspace / "templates" / name).symlink_to(outside)
    with pytest.raises(LettersError) as caught:
        letter_page(make_letter(), workspace)
    assert caught.value.file == workspace / "templates" / name
    assert caught.value.message == f"{name} is a link; it was not followed"
    assert caught.value.hint == "copy the file into templates/ instead of linking to it"


def test_a_layout_linked_from_elsewhere_in_the_workspace_is_refused(tmp_path: Path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "letter.html.j2").write_text("<html>{{ body_html }}</html>", "utf-8")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "letter.html.j2").symlink_to(shared / "letter.html.j2")
    with pytest.raises(LettersError) as caught:
        letter_page(make_letter(), tmp_path)
    assert caught.value.file == tmp_path / "templates" / "letter.html.j2"
    assert "is a link" in caught.value.message


@pytest.mark.slow
def test_long_unbreakable_values_wrap_inside_the_text_column(tmp_path: Path):
    from letters.layout.pdf import PdfRenderer

    url = "https://example.org/" + "a1b2c3d4e5" * 28  # 300 characters, no break opportunity
    word = "W" + "o" * 199
    letter = make_letter(
        subject=word,
        reference="REF-" + "9" * 120,
        recipient_lines=("Jane Doe", word[:120], "London"),
        body_markdown=f"Dear Minister,\n\nSee {url} now.\n\n## {word}\n\n* {url}",
        signature_lines=(word, "Campaign Director"),
    )
    text = "\n".join(page_texts(render(PdfRenderer(tmp_path), letter)))
    lines = text.splitlines()
    # A4's text column holds about 90 characters at 10.5 pt; unwrapped, one line holds 300.
    assert max(len(line) for line in lines) < 120, max(lines, key=len)
    joined = re.sub(r"\s+", "", text)
    for value in (url, word, word[:120], "REF-" + "9" * 120):
        assert value in joined
    assert any(line.endswith("14 March 2026") for line in lines)  # the date stays whole


# ---- the return address (A4 window) --------------------------------------------------------

STREET, TOWN, COUNTRY = "12 Example Street", "Manchester M1 1AA", "United Kingdom"


def shown(text: str) -> str:
    return text.replace("\u00a0", " ")


@pytest.mark.parametrize(
    ("head", "address", "expected"),
    [
        # Fits: all of it on one line.
        ("Org", (STREET, TOWN, COUNTRY), f"Org · {STREET} · {TOWN} · {COUNTRY}"),
        # Too long, but fits without the country: the country goes, the town stays.
        (
            "Friends of the River",
            (STREET, TOWN, COUNTRY),
            f"Friends of the River · {STREET} · {TOWN}",
        ),
        # Too long even so: nothing is dropped, it wraps.
        (
            "Campaign for Freedom of Expression",
            (STREET, TOWN, COUNTRY),
            f"Campaign for Freedom of Expression · {STREET} · {TOWN} · {COUNTRY}",
        ),
        # Two lines: the last one is the town, never dropped.
        (
            "Campaign for Freedom of Expression",
            (STREET, TOWN),
            f"Campaign for Freedom of Expression · {STREET} · {TOWN}",
        ),
        ("", ("", STREET, TOWN), f"{STREET} · {TOWN}"),
    ],
)
def test_return_address_never_drops_the_town(head, address, expected):
    assert shown(return_address(head, address)) == expected


def test_a_wrapping_return_address_breaks_between_its_lines_not_inside_them():
    text = return_address("Campaign for Freedom of Expression", (STREET, TOWN))
    assert len(text) > RETURN_ADDRESS_CHARS
    # "M1" and "1AA" stay together; a line ends after a " ·", never starts with one.
    assert text.endswith("\u00a0· 12\u00a0Example\u00a0Street\u00a0· Manchester\u00a0M1\u00a01AA")


@pytest.mark.slow
def test_a_long_return_address_wraps_above_the_recipient(tmp_path: Path):
    from letters.layout.pdf import PdfRenderer

    head = "Campaign for Freedom of Expression"
    sender = replace(SENDER, organisation=head, address=(STREET, TOWN, COUNTRY))
    output = render(PdfRenderer(tmp_path), make_letter(sender=sender))
    lines = [(y, shown(text)) for _, y, text in text_lines(output) if 45 < y < 62.7]
    # Two lines of 6.5 pt at the foot of the zone between 45 mm and 62.7 mm, whole address.
    assert [text for _, text in lines] == [
        f"{head} · {STREET} ·",
        f"{TOWN} · {COUNTRY}",
    ]
    (first, _), (second, _) = lines
    _, recipient = position_of(output, "Rt Hon Jane Doe MP")
    assert 2 < second - first < 3.5
    assert second < recipient - 4  # above the first recipient line, not on it


# ---- headings ---------------------------------------------------------------------------------


def text_styles(output: Any) -> dict[str, tuple[float, str]]:
    """Each piece of text on page 1 → (its size in pt, its font's name)."""
    found: dict[str, tuple[float, str]] = {}

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if text.strip() and font:
            found.setdefault(text.strip(), (round(size * tm[3] * cm[3], 2), font["/BaseFont"]))

    PdfReader(io.BytesIO(output.data)).pages[0].extract_text(visitor_text=visit)
    return found


@pytest.mark.slow
def test_headings_have_a_hierarchy_and_the_subject_stays_as_it_was(tmp_path: Path):
    from letters.layout.pdf import PdfRenderer

    body = "Dear Minister,\n\n" + "\n\n".join(
        f"{'#' * level} Heading {level}\n\nText {level}." for level in range(1, 5)
    )
    styles = text_styles(render(PdfRenderer(tmp_path), make_letter(body_markdown=body)))
    size = {name: styles[name][0] for name in styles}
    assert size["Heading 1"] > size["Heading 2"] > size["Heading 3"] > size["Text 1."] == 10.5
    assert size["Heading 4"] > size["Text 1."]
    for level in (1, 2, 3):
        assert styles[f"Heading {level}"][1].endswith("Serif-Bold")
    assert styles["Heading 4"][1].endswith("Serif-Italic")
    assert styles["Protecting the Thames"] == (10.5, styles["Heading 1"][1])  # the subject


@pytest.mark.slow
def test_html_module_does_not_import_weasyprint():
    code = "import sys, letters.layout.html; assert 'weasyprint' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)
