"""Rendering letters: the parts of a letter, the filters, data shown as data, the sandbox."""

from __future__ import annotations

import datetime as dt
from html import unescape

import markdown
import pytest
from markdown_it import MarkdownIt

from letters.commands.preview import preview
from letters.errors import LettersError
from tests.conftest import CASE, RECIPIENTS, TEMPLATE

TODAY = dt.date(2030, 1, 2)


def letter(root, recipient="ada"):
    return preview(root, "free-expression", recipient, None, TODAY)


def test_a_letter_has_every_part_in_order(workspace):
    text = letter(workspace())
    expected = [
        "**Open Net Watch**  \n1 Example Street  \nLondon",
        "14 March 2026",
        "Ms Ada Lovelace  \nChief Executive  \nAnalytical Engines Ltd  \n12 St James's Square  \n"
        "London SW1Y 4JH",
        "Our reference: REF/1",
        "**Subject: About the Cybersecurity Law**",
        "Dear Ms Ada Lovelace,",
        "We ask you to release everyone held for peaceful expression and repeal the law.",
        "Yours sincerely,",
        "Sam Sender  \nDirector  \nOpen Net Watch",
    ]
    positions = [text.index(part) for part in expected]
    assert positions == sorted(positions)
    assert text.endswith("Open Net Watch\n")


def test_undated_case_uses_today_and_salutation_without_honorific(workspace):
    root = workspace(**{"cases/free-expression.yaml": CASE.replace("date: 2026-03-14\n", "")})
    text = letter(root, "hoa")
    assert "2 January 2030" in text
    assert "Dear Nguyễn Thị Hoa," in text
    assert "Số 60 Trần Phú, Ba Đình  \nHà Nội" in text


def test_recipient_salutation_wins(workspace):
    root = workspace(
        **{
            "recipients.yaml": RECIPIENTS.replace(
                "tags: [tech]\n", "tags: [tech]\n    salutation: Dear Ada,\n", 1
            )
        }
    )
    assert "\n\nDear Ada,\n\n" in letter(root)


def test_filters(workspace):
    template = (
        "{{ ['a', 'b', 'c'] | prose_list }} / {{ ['a'] | prose_list }} / "
        "{{ '2026-03-14' | long_date }} / {{ date | long_date }}\n\n"
        "{{ recipient | address_block }}\n\nYours,\n"
    )
    text = letter(workspace(**{"templates/appeal.md.j2": template}))
    assert "a, b and c / a / 14 March 2026 / 14 March 2026" in text
    assert "Ms Ada Lovelace  \nChief Executive  \nAnalytical Engines Ltd" in text


HOSTILE = {
    "template syntax": "{{ 7*7 }} {% if 1 %}x{% endif %}",
    "markdown": "**bold** _em_ [link](http://example.org) `code` ![img](x.png)",
    "html": "<script>alert(1)</script> <img src=x> & &amp;",
    "heading": "# Heading",
    "list": "- item",
    "numbered": "1. first",
    "quote": "> quoted",
    "fence": "~~~",
    "setext": "===",
    "newline": "line one\nline two",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_data_is_shown_literally_in_every_markdown_renderer(workspace, name):
    value = HOSTILE[name]
    quoted = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    recipients = RECIPIENTS.replace(
        "tags: [tech]\n", f'tags: [tech]\n    fields: {{v: "{quoted}"}}\n', 1
    )
    template = (
        "{{ recipient.fields.v }}\n\nIn a sentence: {{ recipient.fields.v }}.\n\n"
        "A line above\n{{ recipient.fields.v }}\n\nYours,\n"
    )
    root = workspace(**{"recipients.yaml": recipients, "templates/appeal.md.j2": template})
    text = letter(root)
    body = text[text.index("Subject:") :]
    body = body[body.index("\n\n") : body.index("Yours,")]
    shown = value.replace("\n", " ")
    for html in (markdown.markdown(body), MarkdownIt("commonmark").render(body)):
        for tag in (
            "<strong>",
            "<em>",
            "<a ",
            "<code>",
            "<img",
            "<script",
            "<h1>",
            "<ul>",
            "<ol>",
            "<blockquote>",
            "<pre",
            "<h2>",
        ):
            assert tag not in html
        plain = unescape(html)
        assert plain.count(shown) == 3
    assert "49" not in text


def test_trusted_markdown_filter_keeps_markdown_but_not_html(workspace):
    template = "{{ case.facts.law | markdown }}\n\nYours,\n"
    case = CASE.replace("law: Cybersecurity Law", 'law: "**the** <b>law</b>"')
    text = letter(
        workspace(**{"templates/appeal.md.j2": template, "cases/free-expression.yaml": case})
    )
    html = markdown.markdown(text)
    assert "<strong>the</strong>" in html
    assert "<b>" not in html


def test_absent_optional_fields_are_empty_not_none(workspace):
    template = "[{{ recipient.email }}][{{ case.reference }}][{{ sender.phone }}]\n\nYours,\n"
    text = letter(workspace(**{"templates/appeal.md.j2": template}), "hoa")
    assert "\\[\\]" not in text  # brackets come from the template, not data
    assert "[][REF/1][]" in text
    assert "None" not in text


def test_nested_free_fields_and_facts(workspace):
    recipients = RECIPIENTS.replace(
        "tags: [tech]\n",
        "tags: [tech]\n    fields:\n      company: {short: AE, products: [x, y]}\n",
        1,
    )
    template = (
        "{{ recipient.fields.company.short }} "
        "{{ recipient.fields.company.products | prose_list }}\n\nYours,\n"
    )
    text = letter(workspace(**{"recipients.yaml": recipients, "templates/appeal.md.j2": template}))
    assert "AE x and y" in text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{{ ''.__class__.__mro__ }}", "cannot reach Python internals"),
        ("{{ recipient.__class__ }}", "has no field"),
        ("{{ cycler.__init__.__globals__ }}", "cannot reach Python internals"),
        ("{% set x = case.demands.append('x') %}", "cannot reach Python internals"),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
    ],
)
def test_sandbox_refuses_and_names_the_template_line(workspace, body, message):
    root = workspace(**{"templates/appeal.md.j2": f"Hello\n\n{body}\n\nYours,\n"})
    with pytest.raises(LettersError) as caught:
        letter(root)
    assert message in caught.value.message + caught.value.hint
    assert caught.value.file is not None and str(caught.value.file).endswith("appeal.md.j2")
    assert caught.value.line == 3


def test_includes_resolve_inside_templates(workspace):
    root = workspace(
        **{
            "templates/_footer.md.j2": "Footer for {{ recipient.name }}.\n",
            "templates/appeal.md.j2": "Hello\n\n{% include '_footer.md.j2' %}\n\nYours,\n",
        }
    )
    assert "Footer for Ada Lovelace." in letter(root)


def test_error_in_subject_points_at_the_front_matter(workspace):
    root = workspace(
        **{"templates/appeal.md.j2": TEMPLATE.replace("case.facts.law }}", "case.facts.lw }}", 1)}
    )
    with pytest.raises(LettersError) as caught:
        letter(root)
    assert caught.value.line == 2
    assert "case.facts has no field 'lw' (did you mean 'law'?)" in caught.value.message


def test_template_language_from_front_matter_sets_tool_words(workspace):
    template = (
        "---\nsubject: Objet test\nlanguage: fr\n---\n{{ recipient.salutation }}\n\n"
        "{{ ['a', 'b'] | prose_list }}\n\nCordialement,\n"
    )
    text = letter(workspace(**{"templates/appeal.md.j2": template}))
    assert "14 mars 2026" in text
    assert "Notre référence: REF/1" in text
    assert "**Objet: Objet test**" in text
    assert "a et b" in text
    assert "\n\nMadame,\n\n" in text  # French convention: the honorific alone (fr.toml)


def test_macros_and_set_blocks_escape_data_once(workspace):
    template = (
        "{% macro who(r) %}{{ r.organisation }}{% endmacro %}"
        "{% set org %}{{ recipient.organisation }}{% endset %}"
        "Direct: {{ recipient.organisation }} / Macro: {{ who(recipient) }} / Set: {{ org }}"
        "\n\nYours,\n"
    )
    recipients = RECIPIENTS.replace(
        "organisation: Analytical Engines Ltd", 'organisation: "AT&T <b>_x_</b>"'
    )
    text = letter(workspace(**{"templates/appeal.md.j2": template, "recipients.yaml": recipients}))
    escaped = "AT&amp;T &lt;b&gt;\\_x\\_&lt;/b&gt;"
    assert f"Direct: {escaped} / Macro: {escaped} / Set: {escaped}" in text


def test_fields_named_like_dict_methods_are_the_fields(workspace):
    recipients = RECIPIENTS.replace(
        "tags: [tech]\n",
        "tags: [tech]\n    fields: {label: VIP, items: three laptops, values: openness}\n",
        1,
    )
    template = (
        "{{ recipient.fields.label }} / {{ recipient.fields.items }} / "
        "{{ recipient.fields.values }}\n\nYours,\n"
    )
    text = letter(workspace(**{"templates/appeal.md.j2": template, "recipients.yaml": recipients}))
    assert "VIP / three laptops / openness" in text
    with pytest.raises(LettersError) as caught:
        letter(workspace(**{"templates/appeal.md.j2": "{{ recipient.keys }}\n\nYours,\n"}))
    assert "recipient has no field 'keys'" in caught.value.message


def test_error_in_an_included_partial_names_the_partial(workspace):
    root = workspace(
        **{
            "templates/_part.md.j2": "one\ntwo {{ recipient.nope }}\n",
            "templates/appeal.md.j2": "Hello\n\n{% include '_part.md.j2' %}\n\nYours,\n",
        }
    )
    with pytest.raises(LettersError) as caught:
        letter(root)
    assert str(caught.value.file).endswith("_part.md.j2")
    assert caught.value.line == 2


def test_empty_subject_leaves_out_the_subject_line(workspace):
    template = "---\nsubject: \"{{ '' }}\"\n---\nHello\n\nYours,\n"
    text = letter(workspace(**{"templates/appeal.md.j2": template}))
    assert "Subject" not in text
