"""Property tests: whatever the data holds, a build shows it literally or refuses it cleanly.

Bounded for every CI run; set LETTERS_FUZZ_EXAMPLES=2000 for a longer search.
"""

from __future__ import annotations

import html
import json
import os
import re
import tempfile
from pathlib import Path

import markdown
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from letters.workspace.yamlio import parse_yaml
from tests.conftest import CASE, Run, files_under, write_tree

EXAMPLES = int(os.environ.get("LETTERS_FUZZ_EXAMPLES", "40"))
MARKUP = st.sampled_from(
    [
        "{{ 7*7 }}",
        "{% if %}",
        "<script>",
        "&amp;",
        "**",
        "_",
        "`",
        "[x](y)",
        "# ",
        "> ",
        "- ",
        "1. ",
        "\\",
        "\n",
        "\t",
        "\x00",
        "\x1b[31m",
        "|",
        "---",
        "<!--",
        "]]>",
        "\u202e",
        "Nguyễn",
        "~~~",
        "===",
        "\n===\n",
    ]
)
VALUES = st.lists(st.one_of(st.text(max_size=30), MARKUP), max_size=8).map("".join) | st.text(
    min_size=200, max_size=3000
)
TEMPLATE = """\
---
subject: "S {{ case.facts.f }}"
---
{{ recipient.salutation }}

Field: {{ recipient.fields.v }}

Fact: {{ case.facts.f }}

Yours,
"""


def shown(value: str) -> str:
    """What the reader should see: the value with control characters as single spaces."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+", " ", value).strip()


def visible_text(rendered_html: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", rendered_html))


@pytest.mark.slow
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(name=VALUES, field=VALUES, fact=VALUES)
def test_any_data_builds_literally_or_fails_cleanly(name: str, field: str, fact: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "ws"
        recipients = {"recipients": [{"id": "r", "name": name, "fields": {"v": field}}]}
        case = CASE.replace("  law: Cybersecurity Law\n", f"  f: {json.dumps(fact)}\n")
        write_tree(
            root,
            {
                "recipients.yaml": json.dumps(recipients, ensure_ascii=False),
                "cases/c.yaml": case,
                "templates/appeal.md.j2": TEMPLATE,
            },
        )
        before = files_under(Path(scratch))
        result = Run()("build", "-C", root)
        assert result.exit_code in (0, 2), result.output
        assert "Traceback" not in result.output
        created = files_under(Path(scratch)) - before
        assert all(path.startswith("ws/out/") for path in created)
        if result.exit_code == 2:
            assert result.stderr.strip()
            assert not created
            return
        # Compare with the values as YAML reads them (it folds line breaks such as U+0085).
        field = (
            parse_yaml((root / "recipients.yaml").read_text("utf-8"), root).data["recipients"][0][
                "fields"
            ]["v"]
            or ""
        )
        fact = parse_yaml((root / "cases/c.yaml").read_text("utf-8"), root).data["facts"]["f"] or ""
        text = (root / "out/c/appeal/r.md").read_text("utf-8")
        body = text[text.index("\n\nField: ") : text.index("\n\nYours,")]
        for rendered in (markdown.markdown(body), MarkdownIt("commonmark").render(body)):
            visible = visible_text(rendered)
            assert f"Field: {shown(field)}".strip() in visible
            assert f"Fact: {shown(fact)}".strip() in visible
        assert "49" not in body or "49" in field + fact


# Hostile templates: expressions built from the names an attacker who read the code would try.
SECRET = "TOP-SECRET-1234"
ROOTS = st.sampled_from(
    [
        *["recipient", "case", "sender", "date", "subject", "_letters_language", "cycler"],
        *["joiner", "namespace", "range", "dict", "self", "''", "[]", "{}", "recipient.fields"],
        "loop",
    ]
)
ATTRIBUTES = st.sampled_from(
    [
        *["__class__", "__mro__", "__subclasses__()", "__globals__", "__init__", "__dict__"],
        *["mro()", "path", "read_text()", "joinpath('SECRET')", "format", "format_map"],
        *["items()", "get", "template_file", "sender", "logo", "year", "upper()", "__self__"],
        *["__func__", "gi_frame", "_TemplateReference__context", "environment", "globals"],
        *["f_globals", "parent"],
    ]
)
FILTERS = st.sampled_from(
    [
        *["", "|attr('__class__')", "|format(1)", "|list", "|map(attribute='__class__')|list"],
        *["|first", "|string", "|center(10**8)", "|indent(10**8)", "|tojson", "|pprint"],
    ]
)
EXPRESSIONS = st.builds(
    lambda root, attributes, filter_: root + "".join("." + a for a in attributes) + filter_,
    ROOTS,
    st.lists(ATTRIBUTES, max_size=3),
    FILTERS,
)


@pytest.mark.slow
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(expressions=st.lists(EXPRESSIONS, min_size=1, max_size=3))
def test_no_template_expression_reads_a_file_or_shows_internals(expressions: list[str]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        secret = Path(scratch) / "secret.txt"
        secret.write_text(SECRET, "utf-8")
        root = Path(scratch) / "ws"
        lines = "\n\n".join("{{ " + e.replace("SECRET", str(secret)) + " }}" for e in expressions)
        write_tree(
            root,
            {
                "recipients.yaml": "recipients:\n  - id: r\n    name: R\n",
                "cases/c.yaml": CASE.replace("to: [all]", "to: [r]"),
                "templates/appeal.md.j2": f"Hello\n\n{lines}\n\nYours,\n",
                "templates/letter.html.j2": f"<html><body>\n{lines}\n</body></html>",
            },
        )
        before = files_under(Path(scratch))
        result = Run()("build", "-f", "md", "-f", "html", "-C", root)
        assert result.exit_code in (0, 1, 2), result.output
        assert "Traceback" not in result.output and "internal error" not in result.output
        created = files_under(Path(scratch)) - before
        assert all(path.startswith("ws/out/") for path in created)
        written = "".join((Path(scratch) / path).read_text("utf-8") for path in created)
        for shown_text in (written, result.output):
            assert SECRET not in shown_text
            assert "<class" not in shown_text and "<function" not in shown_text
            assert "<module" not in shown_text and "PosixPath" not in shown_text
