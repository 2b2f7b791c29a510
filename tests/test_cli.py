"""Every command as a user runs it: output files, messages and exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import CASE, RECIPIENTS, files_under


def test_init_copies_the_sample_and_refuses_to_overwrite(tmp_path, run):
    result = run("init", tmp_path / "camp")
    assert result.exit_code == 0, result.output
    assert {
        "recipients.yaml",
        "cases/cybersecurity-law-2018.yaml",
        "cases/cyber-dissidents-2003.yaml",
        "templates/company-letter.md.j2",
        "templates/government-demands.md.j2",
    } <= files_under(tmp_path / "camp")
    assert (tmp_path / "camp/.gitignore").read_text() == "out/\n"
    again = run("init", tmp_path / "camp")
    assert again.exit_code == 2
    assert "already exists" in again.stderr and "--force" in again.stderr


def test_check_ok_counts_what_it_rendered(sample, run):
    result = run("check", "-C", sample)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "OK: 10 recipients, 2 cases, 4 templates, 10 letters render.\n"


@pytest.mark.parametrize(
    ("env", "green"),
    [
        ({"FORCE_COLOR": "1"}, True),
        ({"TTY_COMPATIBLE": "1"}, True),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
        ({"FORCE_COLOR": "1", "TERM": "dumb"}, False),
        ({"FORCE_COLOR": "1", "TTY_COMPATIBLE": "0"}, False),
        ({"FORCE_COLOR": ""}, False),
    ],
)
def test_check_colours_ok_where_rich_would(sample, run, env, green):
    """The OK line is written without Rich (a fifth of the command's start-up), by the
    same rules for colour as every other line."""
    defaults = {"FORCE_COLOR": None, "NO_COLOR": None, "TTY_COMPATIBLE": None, "TERM": "xterm"}
    result = run("check", "-C", sample, env={**defaults, **env})
    assert result.exit_code == 0, result.stderr
    label = "\x1b[32mOK\x1b[0m" if green else "OK"
    assert result.stdout == f"{label}: 10 recipients, 2 cases, 4 templates, 10 letters render.\n"


def test_check_with_stdout_closed_still_exits_0(sample):
    """Rich said nothing when there was no stdout; the OK line written without it neither."""
    import subprocess
    import sys

    closed = subprocess.run(
        [
            "sh",
            "-c",
            f'"{sys.executable}" -c "from cli import main; main()" check -C "$1" >&-',
            "sh",
            str(sample),
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert (closed.returncode, closed.stderr) == (0, "")


@pytest.mark.slow
def test_a_clean_check_imports_no_rich(sample):
    import subprocess
    import sys

    code = (
        f"import sys\nsys.argv = ['letters', 'check', '-C', {str(sample)!r}]\n"
        "try:\n    from letters.cli import main; main()\nexcept SystemExit: pass\n"
        "print('rich' in sys.modules)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.splitlines() == [
        "OK: 10 recipients, 2 cases, 4 templates, 10 letters render.",
        "False",
    ]


def test_project_option_before_the_command(sample, run):
    assert run("-C", sample, "check").exit_code == 0


def test_list_shows_cases_templates_and_who_gets_what(workspace, run):
    result = run("list", "-C", workspace())
    assert result.exit_code == 0, result.stderr
    for text in (
        "free-expression",
        "Free expression online",
        "appeal.md.j2",
        "ada",
        "Nguyễn Thị Hoa",
        "a4",
    ):
        assert text in result.stdout


def test_build_writes_one_markdown_letter_per_recipient_and_a_manifest(workspace, run):
    root = workspace()
    result = run("build", "-C", root)
    assert result.exit_code == 0, result.stderr
    assert files_under(root / "out") == {
        "free-expression/appeal/ada.md",
        "free-expression/appeal/hoa.md",
        "free-expression/manifest.json",
    }
    manifest = json.loads((root / "out/free-expression/manifest.json").read_text())
    entry = manifest["letters"]["appeal/ada"]["outputs"]["md"]
    assert entry["file"] == "appeal/ada.md"
    assert set(entry["inputs"]) >= {"data", "template", "options", "tool"}
    assert len(entry["sha256"]) == 64
    assert "Built 2, unchanged 0, failed 0" in result.stdout


def test_rebuild_skips_unchanged_and_rewrites_only_what_changed(workspace, run):
    root = workspace(**{"templates/other.md.j2": "Other {{ recipient.name }}\n\nBye,\n"})
    case = CASE + "  - template: other\n    to: [ada]\n"
    (root / "cases/free-expression.yaml").write_text(case, "utf-8")
    assert run("build", "-C", root).exit_code == 0
    again = run("build", "-C", root)
    assert "Built 0, unchanged 3" in again.stdout

    (root / "recipients.yaml").write_text(RECIPIENTS.replace("Bộ Tư pháp", "Bộ Công an"), "utf-8")
    dry = run("build", "--dry-run", "-C", root)
    assert "out/free-expression/appeal/hoa.md: rebuild (data changed)" in dry.stdout
    assert "1 would be written, 2 unchanged" in dry.stdout
    result = run("build", "-C", root)
    assert "Built 1, unchanged 2" in result.stdout
    assert "Bộ Công an" in (root / "out/free-expression/appeal/hoa.md").read_text()

    (root / "templates/other.md.j2").write_text("Changed {{ recipient.name }}\n\nBye,\n", "utf-8")
    dry = run("build", "--dry-run", "-C", root)
    assert "out/free-expression/other/ada.md: rebuild (template changed)" in dry.stdout
    assert "Built 1, unchanged 2" in run("build", "-C", root).stdout
    assert "Built 3, unchanged 0" in run("build", "--force", "-C", root).stdout


def test_dry_run_writes_nothing(workspace, run):
    root = workspace()
    result = run("build", "--dry-run", "-C", root)
    assert result.exit_code == 0
    assert "out/free-expression/appeal/ada.md: new" in result.stdout
    assert not (root / "out").exists()


def test_removed_recipient_is_pruned_only_by_a_full_build(workspace, run):
    root = workspace()
    run("build", "-C", root)
    only_ada = RECIPIENTS[: RECIPIENTS.index("  - id: hoa")]
    (root / "recipients.yaml").write_text(only_ada, "utf-8")
    assert run("build", "--to", "ada", "-C", root).exit_code == 0
    assert (root / "out/free-expression/appeal/hoa.md").exists()
    result = run("build", "-C", root)
    assert "removed 1" in result.stdout
    assert not (root / "out/free-expression/appeal/hoa.md").exists()
    manifest = json.loads((root / "out/free-expression/manifest.json").read_text())
    assert list(manifest["letters"]) == ["appeal/ada"]


def test_to_selects_by_id_and_tag(workspace, run):
    root = workspace()
    run("build", "--to", "tag:gov", "-C", root)
    assert files_under(root / "out") == {
        "free-expression/appeal/hoa.md",
        "free-expression/manifest.json",
    }
    bad = run("build", "--to", "adaa", "-C", root)
    assert bad.exit_code == 2
    assert "--to adaa: no recipient has the id 'adaa' (did you mean 'ada'?)" in bad.stderr


def test_out_option_is_honoured(workspace, run, tmp_path):
    root = workspace()
    assert run("build", "--out", tmp_path / "elsewhere", "-C", root).exit_code == 0
    assert (tmp_path / "elsewhere/free-expression/appeal/ada.md").is_file()
    assert not (root / "out").exists()


def test_a_letter_that_fails_stops_the_build_unless_keep_going(workspace, run):
    template = "{{ recipient.fields.company }}\n\nYours,\n"
    recipients = RECIPIENTS.replace(
        "tags: [tech]\n", "tags: [tech]\n    fields: {company: AE}\n", 1
    )
    root = workspace(**{"templates/appeal.md.j2": template, "recipients.yaml": recipients})
    result = run("build", "-C", root)
    assert result.exit_code == 2
    assert "free-expression/appeal/hoa" in result.stderr
    assert "recipient.fields has no field 'company'" in result.stderr
    assert not (root / "out").exists()

    kept = run("build", "--keep-going", "-C", root)
    assert kept.exit_code == 1
    assert files_under(root / "out") == {
        "free-expression/appeal/ada.md",
        "free-expression/manifest.json",
        "free-expression/failures.json",
    }
    assert "skipped:" in kept.stderr and "appeal.md.j2:1" in kept.stderr
    failures = json.loads((root / "out/free-expression/failures.json").read_text())["failures"]
    assert [(f["recipient"], f["format"], f["line"]) for f in failures] == [("hoa", "render", 1)]
    failures = json.loads((root / "out/free-expression/failures.json").read_text())["failures"]
    assert [(f["recipient"], f["format"], f["line"]) for f in failures] == [("hoa", "render", 1)]


def test_preview_plain_prints_the_markdown_letter(workspace, run):
    root = workspace()
    result = run("preview", "free-expression", "--to", "hoa", "--plain", "-C", root)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("**Open Net Watch**")
    assert "Dear Nguyễn Thị Hoa," in result.stdout
    assert not (root / "out").exists()


def test_preview_errors(workspace, run):
    root = workspace()
    unknown = run("preview", "free-expression", "--to", "adda", "-C", root)
    assert unknown.exit_code == 2 and "did you mean 'ada'?" in unknown.stderr
    wrong = run("preview", "free-expression", "--to", "ada", "--template", "apeal", "-C", root)
    assert wrong.exit_code == 2 and "did you mean 'appeal'?" in wrong.stderr


@pytest.mark.slow
def test_preview_imports_neither_weasyprint_nor_fonttools(workspace):
    """The command a campaigner runs most starts fast: no PDF stage, no font files read,
    no build machinery, and with --plain (raw Markdown) no Rich either."""
    import subprocess
    import sys

    root = str(workspace())
    code = (
        "import sys, runpy; sys.argv = ['letters', 'preview', 'free-expression', '--to', 'ada', "
        f"'--plain', '-C', {root!r}]\n"
        "try:\n    from letters.cli import main; main()\nexcept SystemExit: pass\n"
        "print(sorted(m for m in ('weasyprint', 'fontTools', 'rich', 'letters.output.build') "
        "if m in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip().splitlines()[-1] == "[]"


def test_the_letter_font_width_table_matches_the_font():
    import json

    from letters.compose.address import WIDTHS
    from scripts.make_width_table import FONT, width_table

    assert json.loads(WIDTHS.read_text("utf-8")) == json.loads(json.dumps(width_table(FONT)))


def test_exact_markdown_output(workspace, run):
    root = workspace()
    run("build", "-C", root)
    assert (root / "out/free-expression/appeal/hoa.md").read_text("utf-8") == (
        "**Open Net Watch**  \n1 Example Street  \nLondon\n\n"
        "14 March 2026\n\n"
        "Nguyễn Thị Hoa  \nBộ Tư pháp  \nSố 60 Trần Phú, Ba Đình  \nHà Nội\n\n"
        "Our reference: REF/1\n\n"
        "**Subject: About the Cybersecurity Law**\n\n"
        "Dear Nguyễn Thị Hoa,\n\n"
        "We write about the Cybersecurity Law. We ask you to release everyone held for peaceful "
        "expression and repeal the law.\n\n"
        "Yours sincerely,\n\n"
        "Sam Sender  \nDirector  \nOpen Net Watch\n"
    )


def test_version_and_help(run):
    from letters import __version__

    assert run("--version").stdout.strip() == f"letters {__version__}"
    bare = run()
    assert bare.exit_code == 2
    assert "build" in bare.stdout and "preview" in bare.stdout


def test_progress_lines_when_not_a_terminal_and_quiet_prints_nothing(workspace, run):
    root = workspace()
    result = run("build", "-C", root)
    assert "[1/2] built: out/free-expression/appeal/ada.md" in result.stdout
    quiet = run("build", "--force", "-q", "-C", root)
    assert quiet.exit_code == 0 and quiet.stdout == ""


def test_markup_in_data_is_shown_not_interpreted(workspace, run):
    root = workspace(
        **{
            "recipients.yaml": RECIPIENTS.replace(
                "name: Ada Lovelace", 'name: "Ada [/] [bold]Lovelace"'
            )
        }
    )
    result = run("list", "-C", root)
    assert result.exit_code == 0, result.stderr
    assert "Ada [/] [bold]Lovelace" in result.stdout


@pytest.mark.slow
def test_print_implies_pdf(workspace, run):
    root = workspace()
    result = run("build", "--print", "-C", root)
    assert result.exit_code == 0, result.stderr
    assert (root / "out/free-expression/print.pdf").is_file()
    assert (root / "out/free-expression/appeal/ada.pdf").is_file()


@pytest.mark.slow
def test_a_markdown_build_or_an_unchanged_rebuild_loads_no_pdf_stage(workspace):
    """Building without PDFs, or rebuilding PDFs that did not change, starts no WeasyPrint:
    an unchanged rebuild of a big campaign stays a small part of a full build."""
    import subprocess
    import sys

    root = str(workspace())
    code = (
        "import sys\nfrom letters.cli import main\n"
        f"sys.argv = ['letters', 'build', '-q', '-C', {root!r}]\n"
        "try:\n    main()\nexcept SystemExit: pass\n"
        "print('weasyprint' in sys.modules)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert output.stdout.strip().splitlines()[-1] == "False", output.stderr


def test_on_a_terminal_the_progress_bar_tables_and_panels_show(workspace):
    """What only a terminal gets (Rich's progress bar, tables, the letter in a panel) runs
    through the same console as piped output: run the commands on a pseudo-terminal."""
    import os
    import subprocess
    import sys

    root = str(workspace())
    for args, expected in [
        (["build", "--format", "md"], "Writing letters"),
        (["list"], "free-expression"),
        (["preview", "free-expression", "--to", "ada", "--no-pager"], "Dear"),
    ]:
        leader, follower = os.openpty()
        try:
            done = subprocess.run(
                [sys.executable, "-c", "from letters.cli import main; main()", *args, "-C", root],
                stdin=subprocess.DEVNULL,
                stdout=follower,
                stderr=follower,
                env={**os.environ, "COLUMNS": "100", "LINES": "50", "TERM": "xterm"},
                timeout=60,
            )
            os.close(follower)
            shown = b""
            while True:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the terminal closed
                    break
                if not chunk:
                    break
                shown += chunk
        finally:
            os.close(leader)
        text = shown.decode("utf-8", "replace")
        assert done.returncode == 0, (args, text)
        assert expected in text and "internal error" not in text, (args, text)


def test_only_the_command_asked_for_is_built_and_it_is_the_same_command():
    """`letters X` builds the Click command of X alone (start-up); help, a version or a
    mistyped name get the whole app."""
    from typer.main import get_command

    from letters.cli import app
    from letters.cli_app import app_for

    whole = get_command(app)
    names = sorted(whole.commands)  # type: ignore[attr-defined]
    assert {"build", "check", "preview", "list", "merge-print", "send", "import"} <= set(names)
    for name in names:
        for arguments in ([name], ["-C", "list", name, "x"], ["--project=x", name], ["-Cx", name]):
            only = get_command(app_for(arguments))
            assert sorted(only.commands) == [name]  # type: ignore[attr-defined]
            built = only.commands[name]  # type: ignore[attr-defined]
            expected = whole.commands[name]  # type: ignore[attr-defined]
            assert [p.name for p in built.params] == [p.name for p in expected.params]
            assert built.help == expected.help
    for arguments in ([], ["--help", "build"], ["--version"], ["chek"], ["-C", "build"]):
        assert app_for(arguments) is app


def test_the_installed_command_names_itself_in_help_and_suggests_near_names(tmp_path):
    import subprocess
    import sys

    def letters(*arguments: str) -> subprocess.CompletedProcess[str]:
        code = "import sys; from letters.cli import main; sys.argv[0] = 'letters'; main()"
        return subprocess.run(
            [sys.executable, "-c", code, *arguments],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "100"},
        )

    helped = letters("preview", "--help")
    assert helped.returncode == 0
    assert "Usage: letters preview [OPTIONS] {case}" in helped.stdout
    assert "--template" in helped.stdout
    mistyped = letters("-C", str(tmp_path), "chek")
    assert mistyped.returncode == 2
    assert "No such command 'chek'. Did you mean 'check'?" in mistyped.stderr
    listed = letters("--help")
    assert "merge-print" in listed.stdout and "preview" in listed.stdout
