"""Real campaign data goes through: optional fields, errors that point at the data, nothing
to build is not success, and a command line that says what to do."""

from __future__ import annotations

import pytest

from tests.conftest import CASE, RECIPIENTS

OPTIONAL = """\
---
subject: Test
---
{% if recipient.fields.preferred_name %}Dear {{ recipient.fields.preferred_name }},
{%- else %}Dear {{ recipient.name }},{% endif %}

Nick: {{ recipient.fields.nick | default("friend") }}.
{% for item in case.facts.missing %}never {{ item }}{% endfor %}
Done.

Yours,
"""


def test_a_missing_optional_field_is_false_empty_and_defaultable(workspace, run):
    root = workspace(**{"templates/appeal.md.j2": OPTIONAL})
    result = run("preview", "free-expression", "--to", "ada", "--plain", "-C", root)
    assert result.exit_code == 0, result.stderr
    assert "Dear Ada Lovelace," in result.stdout
    assert "Nick: friend." in result.stdout
    assert "never" not in result.stdout


def test_every_undefined_name_printed_is_reported_at_its_line_in_one_run(workspace, run):
    template = "Hello\n\n{{ recipient.fields.nmae }}\n\nand {{ case.facts.lw }}\n\nYours,\n"
    root = workspace(**{"templates/appeal.md.j2": template})
    result = run("check", "-C", root)
    assert result.exit_code == 2
    # Both recipients' letters fail the same way: said once, with how many more.
    one = "free-expression/appeal/ada and 1 more letter"
    assert f"templates/appeal.md.j2:3: error: {one}: undefined variable" in result.stderr
    assert "recipient.fields has no field 'nmae'" in result.stderr
    assert f"templates/appeal.md.j2:5: error: {one}: undefined variable" in result.stderr
    assert "case.facts has no field 'lw' (did you mean 'law'?)" in result.stderr


def test_a_value_a_filter_refuses_is_named_at_its_yaml_line(workspace, run):
    case = CASE.replace(
        "  law: Cybersecurity Law\n", "  law: Cybersecurity Law\n  arrested: 09/01/2026\n"
    )
    template = "Hello\n\nArrested on {{ case.facts.arrested | long_date }}.\n\nYours,\n"
    root = workspace(**{"cases/free-expression.yaml": case, "templates/appeal.md.j2": template})
    result = run("check", "-C", root)
    assert result.exit_code == 2
    assert (
        "cases/free-expression.yaml:14:13: error: free-expression/appeal/ada and 1 more letter: "
        "long_date needs" in (result.stderr)
    )
    assert "(used in templates/appeal.md.j2:3)" in result.stderr
    assert "write the date as YYYY-MM-DD" in result.stderr


@pytest.mark.parametrize("command", [["build"], ["build", "--print"], ["check"]])
def test_a_campaign_with_nobody_to_write_to_is_not_a_success(workspace, run, command):
    root = workspace(**{"recipients.yaml": "recipients: []\n"})
    result = run(*command, "-C", root)
    assert result.exit_code == 2
    assert "there is nothing to build: recipients.yaml lists nobody" in result.stderr
    assert not (root / "out").exists()


def test_a_selection_of_nobody_says_why(workspace, run):
    result = run("build", "--to", "tag:gov", "--to", "tag:tech", "-C", workspace())
    assert result.exit_code == 0  # both tags select someone
    rules = CASE.replace("to: [all]", "to: ['tag:gov']")
    root = workspace(**{"cases/free-expression.yaml": rules})
    result = run("build", "--to", "ada", "-C", root)
    assert result.exit_code == 2
    assert "--to ada selects nobody who gets a letter in any case" in result.stderr


def test_an_empty_shard_is_fine(workspace, run):
    root = workspace(**{"recipients.yaml": RECIPIENTS.split("  - id: hoa")[0]})
    results = [run("build", "--shard", f"{k}/8", "-C", root).exit_code for k in range(1, 9)]
    assert results == [0] * 8


def test_preview_without_to_lists_who_gets_the_letter(workspace, run):
    result = run("preview", "free-expression", "-C", workspace())
    assert result.exit_code == 2
    assert "choose whose letter to preview with --to" in result.stderr
    assert "ada (appeal), hoa (appeal)" in result.stderr


def test_duplex_without_print_is_a_usage_error(workspace, run):
    result = run("build", "--duplex", "-C", workspace())
    assert result.exit_code == 2
    assert "--duplex pads letters in the print file, so it needs --print" in result.stderr


def test_list_never_cuts_an_id_short(workspace, run):
    long_id = "permanent-mission-of-viet-nam-to-the-united-nations-office-at-geneva"
    recipients = RECIPIENTS.replace("id: ada", f"id: {long_id}")
    result = run("list", "-C", workspace(**{"recipients.yaml": recipients}), env={"COLUMNS": "60"})
    assert result.exit_code == 0
    assert long_id in result.stdout


GENEVA = """\
recipients:
  - id: vn-mission-geneva
    name: Lê Thị Tuyết Mai
    honorific: H.E.
    title: Ambassador and Permanent Representative
    organisation: Permanent Mission of the Socialist Republic of Viet Nam to the United Nations Office at Geneva
    address:
      - Chemin François-Lehmann 18A
      - 1218 Grand-Saconnex
      - Switzerland
"""  # noqa: E501 (the organisation is one YAML line, as written)


@pytest.mark.slow
def test_a_long_real_addressee_wraps_inside_the_window_in_print_and_not_in_markdown(workspace, run):
    from pypdf import PdfReader

    from tests.pdf_helpers import PT_PER_MM

    root = workspace(**{"recipients.yaml": GENEVA})
    assert run("check", "-C", root).exit_code == 0
    assert run("build", "-f", "md", "-f", "pdf", "-C", root).exit_code == 0
    markdown = (root / "out/free-expression/appeal/vn-mission-geneva.md").read_text("utf-8")
    organisation = (
        "Permanent Mission of the Socialist Republic of Viet Nam to the United Nations Office "
        "at Geneva"
    )
    assert organisation in markdown  # one line, untouched
    page = PdfReader(root / "out/free-expression/appeal/vn-mission-geneva.pdf").pages[0]
    height = float(page.mediabox.height)
    pieces: list[tuple[float, float, float, str]] = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            x = (tm[4] * cm[0] + cm[4]) / PT_PER_MM
            y = (height - (tm[5] * cm[3] + cm[5])) / PT_PER_MM
            pieces.append((x, y, size * cm[0], text.strip()))

    page.extract_text(visitor_text=visit)
    in_window = [p for p in pieces if 62.7 < p[1] < 90]
    text = " ".join(p[3] for p in in_window)
    assert organisation in " ".join(text.split())
    # The organisation takes two lines, each starting at the window's left edge and none
    # reaching past its right edge (25 + 80 mm); the block was set smaller to fit.
    organisation_lines = [p for p in in_window if p[3] in organisation]
    assert len(organisation_lines) == 2
    assert all(abs(p[0] - 25) < 0.5 for p in organisation_lines)
    from letters.compose.address import text_width_mm

    for x, _, size, line in organisation_lines:
        assert x + text_width_mm(line, size) <= 105.5
    assert all(p[2] < 10 for p in in_window)  # smaller than the 10 pt of a short address
    assert sorted(p[1] for p in in_window)[-1] < 90  # the last line inside the window
