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
    assert "templates/appeal.md.j2:3: error: free-expression/appeal/ada: undefined variable" in (
        result.stderr
    )
    assert "recipient.fields has no field 'nmae'" in result.stderr
    assert "templates/appeal.md.j2:5: error: free-expression/appeal/ada: undefined variable" in (
        result.stderr
    )
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
        "cases/free-expression.yaml:14:13: error: free-expression/appeal/ada: long_date needs"
        in (result.stderr)
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
