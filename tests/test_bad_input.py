"""Every bad input a campaigner can make: file and line, a fix, exit 2, nothing written."""

from __future__ import annotations

import pytest

from tests.conftest import CASE, RECIPIENTS, TEMPLATE

CASES = [
    pytest.param(
        {"recipients.yaml": RECIPIENTS.replace("    name: Ada Lovelace", "    name: [Ada")},
        "recipients.yaml:4:",
        "YAML syntax error",
        id="yaml-syntax",
    ),
    pytest.param(
        {
            "recipients.yaml": RECIPIENTS.replace(
                "organisation: Analytical", "orgnisation: Analytical"
            )
        },
        "recipients.yaml:6:5",
        "unknown key 'orgnisation'",
        id="unknown-key",
    ),
    pytest.param(
        {"recipients.yaml": RECIPIENTS.replace("    name: Ada Lovelace\n", "")},
        "recipients.yaml:2:5",
        "missing required key 'name'",
        id="missing-key",
    ),
    pytest.param(
        {"recipients.yaml": RECIPIENTS.replace("id: ada", "id: Ada Lovelace")},
        "recipients.yaml:2:",
        "an id may contain only lowercase letters",
        id="bad-id",
    ),
    pytest.param(
        {"recipients.yaml": RECIPIENTS.replace("id: hoa", "id: ada")},
        "recipients.yaml:11:",
        "duplicate recipient id 'ada' (first used on line 2)",
        id="duplicate-id",
    ),
    pytest.param(
        {"cases/free-expression.yaml": CASE.replace("template: appeal", "template: apeal")},
        "cases/free-expression.yaml:15:",
        "template 'apeal' does not exist",
        id="unknown-template",
    ),
    pytest.param(
        {"cases/free-expression.yaml": CASE.replace("to: [all]", "to: [ada, hao]")},
        "cases/free-expression.yaml:16:",
        "no recipient has the id 'hao' (did you mean 'hoa'?)",
        id="unknown-recipient",
    ),
    pytest.param(
        {"cases/free-expression.yaml": CASE.replace("to: [all]", "to: ['tag:teck']")},
        "cases/free-expression.yaml:16:",
        "no recipient has the tag 'teck' (did you mean 'tech'?)",
        id="unknown-tag",
    ),
    pytest.param(
        {"cases/free-expression.yaml": CASE.replace("  name: Sam Sender\n", "")},
        "cases/free-expression.yaml:5:3:",
        "missing required key 'name'",
        id="sender-without-name",
    ),
    pytest.param(
        {"templates/appeal.md.j2": TEMPLATE.replace("recipient.salutation", "recipient.salutaton")},
        "templates/appeal.md.j2:4",
        "recipient has no field 'salutaton' (did you mean 'salutation'?)",
        id="undefined-variable",
    ),
    pytest.param(
        {"templates/appeal.md.j2": TEMPLATE.replace("We write", "{% if x %}We write")},
        "templates/appeal.md.j2:6:",
        "syntax error in the template: ",
        id="jinja-syntax",
    ),
    pytest.param(
        {
            "templates/appeal.md.j2": TEMPLATE.replace(
                '"About the {{ case.facts.law }}"', "{{ case.title }}"
            )
        },
        "templates/appeal.md.j2:2",
        "values containing {{ must be quoted",
        id="unquoted-subject",
    ),
    pytest.param(
        {"cases/free-expression.yaml": CASE.replace("date: 2026-03-14", "date: 14/03/2026")},
        "cases/free-expression.yaml:2:",
        "YYYY-MM-DD",
        id="bad-date",
    ),
    pytest.param(
        {"recipients.yaml": RECIPIENTS.replace("language: vi", "paper: a5")},
        "recipients.yaml:17:12:",
        "must be one of 'a4' or 'letter'",
        id="bad-paper",
    ),
]


@pytest.mark.parametrize(("files", "where", "message"), CASES)
@pytest.mark.parametrize("command", ["check", "build"])
def test_bad_input_names_file_and_line_and_writes_nothing(
    workspace, run, files, where, message, command
):
    root = workspace(**{name.replace("/", "__"): text for name, text in files.items()})
    result = run(command, "-C", root)
    assert result.exit_code == 2, result.output
    assert where in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert not (root / "out").exists()


@pytest.mark.parametrize(
    ("line", "where", "message", "hint"),
    [
        (
            "{% if recipient.honorific %}Dear {{ recipient.name }},",
            "templates/appeal.md.j2:4:1: ",
            "syntax error in the template: this {% if %} is never closed",
            "add {% endif %} where the block should end",
        ),
        (
            "Dear {% for x in case.demands %}{% if x %}{{ x }}{% endif %},",
            "templates/appeal.md.j2:4:6: ",
            "syntax error in the template: this {% for %} is never closed",
            "add {% endfor %} where the block should end",
        ),
        (
            "Dear {{ recipient.name,",
            "templates/appeal.md.j2:4:6: ",
            "syntax error in the template: this {{ is not closed before line 6 "
            "(expected token 'end of print statement', got 'write')",
            "end the value with }} on this line",
        ),
        (  # a mistake inside a value that goes on over two lines is where Jinja finds it
            "Dear {{ recipient.name ~ (",
            "templates/appeal.md.j2:6: ",
            "syntax error in the template: expected token ')', got 'write'",
            "check the {{ }} and {% %} tags around this line",
        ),
    ],
    ids=["if", "for", "value", "value-over-two-lines"],
)
def test_a_tag_never_closed_is_reported_where_it_opens(workspace, run, line, where, message, hint):
    """Jinja notices an unclosed block at the end of the file and an unclosed {{ on the
    next line: the error names the line and column where the tag opens."""
    template = TEMPLATE.replace("{{ recipient.salutation }}", line)
    root = workspace(**{"templates__appeal.md.j2": template})
    result = run("check", "-C", root)
    assert result.exit_code == 2
    errors = [text for text in result.stderr.splitlines() if " error: " in text]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(where), errors[0]
    assert errors[0].endswith(message), errors[0]
    assert f"hint: {hint}" in result.stderr


def test_check_reports_every_problem_in_one_run(workspace, run):
    root = workspace(
        **{
            "recipients.yaml": RECIPIENTS.replace("organisation: Analytical", "orgnisation: A"),
            "templates__appeal.md.j2": TEMPLATE.replace("recipient.salutation", "recipient.x"),
            "cases__second.yaml": CASE.replace("template: appeal", "template: apeal"),
        }
    )
    result = run("check", "-C", root)
    assert result.exit_code == 2
    assert "unknown key 'orgnisation'" in result.stderr
    assert "cases/second.yaml:15:" in result.stderr
    assert "recipient has no field 'x'" in result.stderr
    assert "3 problems" in result.stderr


def test_a_template_error_fails_every_letter_but_check_reports_it_once(workspace, run):
    root = workspace(templates__appeal_md_j2="x")
    (root / "templates" / "appeal.md.j2").write_text("{{ recipient.nope }}\n\nBye,\n", "utf-8")
    result = run("check", "-C", root)
    assert result.exit_code == 2
    assert result.stderr.count("recipient has no field 'nope'") == 1


def test_not_a_workspace(tmp_path, run):
    result = run("build", "-C", tmp_path)
    assert result.exit_code == 2
    assert "not a letters workspace" in result.stderr
    assert "letters init" in result.stderr


def test_unknown_case_on_the_command_line(workspace, run):
    result = run("build", "free-expresion", "-C", workspace())
    assert result.exit_code == 2
    assert "no case 'free-expresion'" in result.stderr
    assert "did you mean 'free-expression'?" in result.stderr


def test_unknown_format_is_a_usage_error(workspace, run):
    result = run("build", "--format", "docx", "-C", workspace())
    assert result.exit_code == 2
    assert "--format 'docx' is not one of: md, html, pdf" in result.stderr


def test_address_too_long_for_the_window_names_the_recipient_line(workspace, run):
    long_address = RECIPIENTS.replace(
        "      - London SW1Y 4JH\n",
        "      - London SW1Y 4JH\n      - Floor 3\n      - Wing B\n      - United Kingdom\n",
    )
    root = workspace(**{"recipients.yaml": long_address})
    result = run("check", "-C", root)
    assert result.exit_code == 2
    assert "recipients.yaml:7:" in result.stderr
    assert "the address needs 8 lines in the envelope window even at 8 pt" in result.stderr
    assert "the A4 window holds 7" in result.stderr
    # Markdown and HTML letters have no window: they build all the same.
    assert run("build", "-f", "md", "-f", "html", "-C", root).exit_code == 0
    assert run("build", "-f", "pdf", "-C", root).exit_code == 2


def test_a_wide_address_line_wraps_in_the_window_and_a_block_too_tall_names_its_line(
    workspace, run
):
    wide = RECIPIENTS.replace("London SW1Y 4JH", "London SW1Y 4JH, " + "very " * 10 + "far")
    assert run("check", "-C", workspace(**{"recipients.yaml": wide})).exit_code == 0
    wider = RECIPIENTS.replace("London SW1Y 4JH", "London SW1Y 4JH, " + "very " * 40 + "far")
    result = run("check", "-C", workspace(**{"recipients.yaml": wider}))
    assert result.exit_code == 2
    assert "recipients.yaml:7:" in result.stderr
    assert "even at 8 pt" in result.stderr


def test_template_symlinked_outside_the_workspace_is_refused(workspace, run, tmp_path):
    outside = tmp_path / "outside.md.j2"
    outside.write_text("Secret\n\nBye,\n", "utf-8")
    root = workspace()
    (root / "templates/appeal.md.j2").unlink()
    (root / "templates/appeal.md.j2").symlink_to(outside)
    result = run("check", "-C", root)
    assert result.exit_code == 2
    assert "templates/appeal.md.j2: error: this is a link; it was not followed" in result.stderr
    assert "copy the file in instead" in result.stderr


def test_include_through_a_symlink_outside_is_refused(workspace, run, tmp_path):
    (tmp_path / "secret.txt").write_text("top secret", "utf-8")
    root = workspace(**{"templates/appeal.md.j2": "{% include '_part.md.j2' %}\n\nBye,\n"})
    (root / "templates/_part.md.j2").symlink_to(tmp_path / "secret.txt")
    result = run("build", "-C", root)
    assert result.exit_code == 2
    assert (
        "templates/_part.md.j2: error: free-expression/appeal/ada and 1 more letter: this is a link"
        in result.stderr
    )
    assert "top secret" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("logo", "message"),
    [("../outside.png", "is outside the workspace"), ("images/missing.png", "does not exist")],
)
def test_sender_images_must_be_files_in_the_workspace(workspace, run, logo, message):
    case = CASE.replace("  name: Sam Sender\n", f"  name: Sam Sender\n  logo: {logo}\n")
    root = workspace(**{"cases/free-expression.yaml": case})
    (root.parent / "outside.png").write_bytes(b"\x89PNG")
    result = run("check", "-C", root)
    assert result.exit_code == 2
    assert "cases/free-expression.yaml:6:" in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize("name", ["recipients.yaml", "templates/appeal.md.j2"])
def test_a_file_not_in_utf8_is_named(workspace, run, name):
    root = workspace()
    path = root / name
    path.write_bytes(path.read_text("utf-8").encode("utf-16"))
    result = run("check", "-C", root)
    assert result.exit_code == 2
    assert f"{name}:1: error: file is not valid UTF-8" in result.stderr
    assert "save it as UTF-8" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["build", "-j", "0"], "--jobs 0: give at least 1"),
        (["build", "--shard", "²/2"], "is not K/N"),
        (["build", "--shard", "3/2"], "K must be from 1 to N"),
        (["build", "--print", "--to", "ada"], "cannot go with --to"),
    ],
)
def test_option_misuse_is_a_usage_error(workspace, run, args, message):
    root = workspace()
    result = run(*args, "-C", root)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "internal error" not in result.stderr
    assert not (root / "out").exists()


def test_out_naming_a_file_is_a_usage_error(workspace, run, tmp_path):
    (tmp_path / "afile").write_text("x", "utf-8")
    result = run("build", "--out", tmp_path / "afile", "-C", workspace())
    assert result.exit_code == 2
    assert "--out names a file, not a folder" in result.stderr


def test_missing_campaign_folder_is_named(run, tmp_path):
    result = run("check", "-C", tmp_path / "nowhere")
    assert result.exit_code == 2
    assert f"{tmp_path / 'nowhere'}: error: folder does not exist" in result.stderr


@pytest.mark.parametrize("target", ["", "afile"])
def test_init_needs_a_new_folder(run, tmp_path, monkeypatch, target):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x", "utf-8")
    result = run("init", target)
    assert result.exit_code == 2
    assert "no folder given" in result.stderr or "not a folder" in result.stderr
    assert not (tmp_path / "recipients.yaml").exists()


def test_two_files_for_one_case(workspace, run):
    root = workspace(**{"cases/free-expression.yml": CASE})
    result = run("check", "-C", root)
    assert result.exit_code == 2
    assert "two files for case 'free-expression'" in result.stderr


def test_yaml_files_linked_from_outside_are_refused(workspace, run, tmp_path):
    root = workspace()
    (tmp_path / "elsewhere.yaml").write_text(CASE, "utf-8")
    (root / "cases/linked.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    result = run("check", "-C", root)
    assert result.exit_code == 2
    assert "cases/linked.yaml: error: this is a link; it was not followed" in result.stderr


def test_a_broken_template_is_reported_once(workspace, run):
    root = workspace(**{"templates/appeal.md.j2": "---\nsubject: {{ x }}\n---\nHi\n\nBye,\n"})
    result = run("check", "-C", root)
    assert result.exit_code == 2
    assert "values containing {{ must be quoted" in result.stderr
    assert "does not exist in templates/" not in result.stderr


def test_an_empty_required_value_says_it_is_empty(workspace, run):
    root = workspace(
        **{"cases/free-expression.yaml": CASE.replace("title: Free expression online", "title:")}
    )
    result = run("check", "-C", root)
    assert result.exit_code == 2
    assert "cases/free-expression.yaml:1:" in result.stderr
    assert "title: is empty" in result.stderr


def test_the_window_measures_printed_width_not_characters():
    from letters.compose.address import default_windows, fit_address, text_width_mm

    capitals = "WWW MMM SENATE COMMITTEE ON FOREIGN RELATIONS"  # 45 characters, 102 mm
    narrow = "illustrious little institute of liberty, Ltd."  # 45 characters, 65 mm
    assert round(text_width_mm(capitals, 10)) == 102 and round(text_width_mm(narrow, 10)) == 65
    window = default_windows()["a4"]
    assert fit_address((capitals,), window).lines == (
        "WWW MMM SENATE COMMITTEE ON",
        "FOREIGN RELATIONS",
    )
    assert fit_address((narrow,), window).lines == (narrow,)


@pytest.mark.parametrize("command", [["build", "--format", "md"], ["check"]])
def test_a_broken_template_is_reported_once_with_how_many_letters_it_breaks(
    workspace, run, command
):
    root = workspace(**{"templates__appeal.md.j2": "Dear {{ recipient.name }\n"})
    result = run(*command, "-C", root)
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if " error: " in line]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("templates/appeal.md.j2:1: error: free-expression/appeal/ada ")
    assert "and 1 more letter: syntax error in the template" in errors[0]


def test_a_broken_recipients_file_is_one_problem_not_a_cascade(workspace, run):
    """A case that sends to a tag reports nobody having it only when recipients.yaml was
    read whole: otherwise the broken file, already reported, is why."""
    case = CASE.replace("    to: [all]", "    to: [tag:tech, ada]")
    root = workspace(
        **{
            "recipients.yaml": RECIPIENTS.replace("    tags: [tech]", "\ttags: [tech]"),
            "cases/free-expression.yaml": case,
        }
    )
    result = run("check", "-C", root)
    assert result.exit_code == 2
    assert "recipients.yaml:10:1: error:" in result.stderr
    assert "no recipient has" not in result.stderr
    assert "problems" not in result.stderr  # one problem, not three
    mistyped = workspace(**{"cases/free-expression.yaml": case.replace("tag:tech", "tag:teck")})
    assert "no recipient has the tag 'teck'" in run("check", "-C", mistyped).stderr
