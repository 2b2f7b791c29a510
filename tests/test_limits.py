"""A hostile template fails its letter with a clear message instead of hanging or eating memory."""

from __future__ import annotations

import datetime as dt

import pytest

from letters.commands.preview import preview
from letters.errors import LettersError

TODAY = dt.date(2030, 1, 2)
# Doubles a text 40 times: only the memory limit can stop it (no single operation is huge).
DOUBLING = (
    "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s | length }}"
)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "took longer than the limit of 1 s",
        ),
        ("{{ 'x' * 10**10 }}", "the result of * would be too large"),
        ("{{ 2 ** 100000000 }}", "the result of ** would be too large"),
        (DOUBLING, "needed more memory than the limit"),
        ("{{ 'x'.ljust(10**10) }}", "tried something templates may not do"),
        (
            "{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}",
            "longer than the limit of 512 KB",
        ),
        ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "ran out of resources"),
    ],
)
def test_runaway_templates_fail_with_a_clear_message(workspace, monkeypatch, body, message):
    monkeypatch.setenv("LETTERS_TIME_LIMIT", "1")
    monkeypatch.setenv("LETTERS_MEMORY_LIMIT_MB", "64")
    root = workspace(**{"templates/appeal.md.j2": f"Hello\n\n{body}\n\nYours,\n"})
    with pytest.raises(LettersError) as caught:
        preview(root, "free-expression", "ada", None, TODAY)
    assert message in caught.value.message
    assert str(caught.value.file).endswith("appeal.md.j2")
    if "KB" not in message:  # the size cap trips outside any one template line
        assert caught.value.line == 3
    assert caught.value.hint


@pytest.mark.slow
@pytest.mark.parametrize("command", ["check", "build"])
def test_limits_apply_in_check_and_build(workspace, run, command):
    root = workspace(**{"templates/appeal.md.j2": f"{DOUBLING}\n\nYours,\n"})
    result = run(command, "-C", root)
    assert result.exit_code == 2
    assert "needed more memory than the limit of 1024 MB" in result.stderr
    assert "appeal.md.j2:1" in result.stderr
    assert not (root / "out").exists()


def test_limits_apply_in_preview(workspace, run):
    root = workspace(**{"templates/appeal.md.j2": "{{ 'ab' * 10**9 }}\n\nYours,\n"})
    result = run("preview", "free-expression", "--to", "ada", "-C", root)
    assert result.exit_code == 2
    assert "too large" in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LETTERS_TIME_LIMIT", "-1"),
        ("LETTERS_TIME_LIMIT", "nan"),
        ("LETTERS_TIME_LIMIT", "1e400"),
        ("LETTERS_PAGE_LIMIT", "abc"),
        ("LETTERS_MAX_YAML_MB", "abc"),
        ("LETTERS_MEMORY_LIMIT_MB", "0"),
        ("LETTERS_MEMORY_LIMIT_MB", "0.9"),
        ("LETTERS_PAGE_LIMIT", "0.5"),
        ("LETTERS_TIME_LIMIT", "1.5"),
    ],
)
def test_a_bad_limit_setting_is_a_clear_error(workspace, run, name, value):
    result = run("build", "-C", workspace(), env={name: value})
    assert result.exit_code == 2
    assert f"{name}={value!r} is not a usable limit" in result.stderr


def test_deep_nesting_is_refused_with_its_line(workspace, run):
    deep = "[" * 60 + "]" * 60
    recipients = "recipients:\n  - id: a\n    name: A\n    fields: {x: " + deep + "}\n"
    result = run("check", "-C", workspace(**{"recipients.yaml": recipients}))
    assert result.exit_code == 2
    assert "recipients.yaml:4:" in result.stderr
    assert "nested more than 40 levels" in result.stderr
