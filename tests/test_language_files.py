"""A campaign's language files come from a stranger: links, pipes, format-string tricks,
unknown keys and broken values are refused, naming the file and the line of the key."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from letters.errors import LettersError
from letters.workspace.language import (
    LANGUAGES_DIR,
    fill_pattern,
    key_lines,
    language_pack,
    pattern_problem,
)
from tests.conftest import RECIPIENTS
from tests.test_languages import GERMAN

# GERMAN's lines: 1 name, 2 babel_locale, 3 date_pattern, 4 subject, 5 reference, 6 page,
# 7 salutation, 8 salutation_without_honorific, 9 list_separator, 10 list_last_separator.
GERMAN_VARIANT = "{{ recipient.salutation }}\n\nHallo\n\nMit freundlichen Grüßen\n"


@pytest.fixture
def german(workspace):
    """A workspace where Hoa gets a German letter, with `languages/de.toml` as given."""

    def make(language_file: str | None = GERMAN, **files: str) -> Path:
        tree = {
            "recipients.yaml": RECIPIENTS.replace("language: vi", "language: de"),
            "templates/appeal.de.md.j2": GERMAN_VARIANT,
            **files,
        }
        if language_file is not None:
            tree["languages/de.toml"] = language_file
        return workspace(**tree)

    return make


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging (a FIFO read would block forever)."""

    def expire(*_: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def check_fails(run, root: Path) -> str:
    with deadline(60):
        result = run("check", "-C", root)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "internal error" not in result.stderr
    return result.stderr


def test_a_valid_campaign_file_still_passes(german, run):
    result = run("check", "-C", german())
    assert result.exit_code == 0, result.stderr


# -- patterns are not str.format -----------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "line", "expected"),
    [
        (
            "Guten Tag {name},",
            "Guten Tag {name.__class__.__mro__},",
            8,
            "is not allowed here (allowed: {name}, {family_name})",
        ),
        ("Guten Tag {name},", "Guten Tag {name[0]},", 8, "is not allowed here"),
        ("Guten Tag {name},", "Guten Tag {name!r},", 8, "is not allowed here"),
        ("Guten Tag {name},", "Guten Tag {0},", 8, "is not allowed here"),
        ("Guten Tag {name},", "Guten Tag {honorific} {name},", 8, "'{honorific}'"),
        ("Sehr geehrte(r) {honorific}", "Seite {pages} {honorific}", 7, "'{pages}'"),
        ("Seite {page} von {pages}", "Seite {foo}", 6, "allowed: {page}, {pages}"),
        ("Seite {page} von {pages}", "Seite {page von {pages}", 6, "a lone '{'"),
        ("Seite {page} von {pages}", "Seite {page}} von {pages}", 6, "a lone '}'"),
        ("Seite {page} von {pages}", "Seite {Page}", 6, "'{Page}' is not allowed"),
        ("Seite {page} von {pages}", "Seite {{page}}", 6, "a lone '{'"),
    ],
)
def test_a_pattern_may_use_only_its_own_placeholders(german, run, old, new, line, expected):
    stderr = check_fails(run, german(GERMAN.replace(old, new)))
    assert f"languages/de.toml:{line}: error:" in stderr
    assert expected in stderr
    assert "<class" not in stderr  # no class internals printed


def test_a_format_spec_is_refused_before_anything_is_written(german, run):
    # With str.format this pads the name to 100 million characters (the reported attack
    # used 8 000 000 000: 8 GB before any limit applied).
    root = german(GERMAN.replace("Guten Tag {name},", "Guten Tag {name:>100000000},"))
    with deadline(60):
        result = run("check", "-C", root)
    assert result.exit_code == 2
    assert "languages/de.toml:8: error:" in result.stderr
    assert (
        "'{name:>100000000}' is not allowed here (allowed: {name}, {family_name})" in result.stderr
    )
    assert len(result.stdout) + len(result.stderr) < 5_000


def test_a_format_spec_is_never_applied():
    assert pattern_problem("Dear {name:>8000000000},", ("name",))
    assert fill_pattern("Dear {name:>8000000000},", name="Ada") == "Dear {name:>8000000000},"


def test_a_value_that_looks_like_a_placeholder_is_written_as_it_is():
    pack = language_pack("en")
    name = "{honorific} {name.__class__.__mro__} {pages}"
    assert pack.default_salutation("Ms", name) == f"Dear Ms {name},"
    assert pack.default_salutation("", name) == f"Dear {name},"
    assert pack.page_label(2, 3) == "Page 2 of 3"


# -- links and special files ---------------------------------------------------------------


def test_a_link_to_a_file_outside_is_not_followed(german, run, tmp_path):
    outside = tmp_path / "elsewhere" / "de.toml"
    outside.parent.mkdir()
    outside.write_text(GERMAN.replace("Unser Zeichen", "SECRET"), "utf-8")
    root = german(None)
    (root / "languages").mkdir()
    (root / "languages/de.toml").symlink_to(outside)
    stderr = check_fails(run, root)
    assert "languages/de.toml is a link; letters does not follow it" in stderr
    assert "copy the file in instead" in stderr


def test_a_link_to_a_file_inside_is_not_followed_either(german, run):
    root = german(None, **{"notes/de.toml": GERMAN})
    (root / "languages").mkdir()
    (root / "languages/de.toml").symlink_to("../notes/de.toml")
    stderr = check_fails(run, root)
    assert "languages/de.toml is a link; letters does not follow it" in stderr


def test_a_link_does_not_quietly_fall_back_to_the_shipped_file(workspace, run, tmp_path):
    outside = tmp_path / "vi.toml"
    outside.write_text((LANGUAGES_DIR / "vi.toml").read_text("utf-8"), "utf-8")
    root = workspace(**{"templates/appeal.vi.md.j2": "Xin chào\n\nTrân trọng,\n"})
    (root / "languages").mkdir()
    (root / "languages/vi.toml").symlink_to(outside)
    assert "languages/vi.toml is a link" in check_fails(run, root)


def test_a_linked_languages_folder_is_not_followed(german, run, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "de.toml").write_text(GERMAN, "utf-8")
    root = german(None)
    (root / "languages").symlink_to(outside, target_is_directory=True)
    assert "languages is a link; letters does not follow" in check_fails(run, root)


def test_a_named_pipe_is_refused_without_waiting(german, run):
    root = german(None)
    (root / "languages").mkdir()
    os.mkfifo(root / "languages/de.toml")
    stderr = check_fails(run, root)
    assert "languages/de.toml: error:" in stderr
    assert "named pipe (FIFO)" in stderr


def test_a_huge_language_file_is_refused(german, run):
    root = german(GERMAN + ("# padding\n" * 7000))
    stderr = check_fails(run, root)
    assert "languages/de.toml:1: error:" in stderr
    assert "larger than the limit of 64 KB" in stderr


# -- the schema --------------------------------------------------------------------------


def test_an_unknown_key_suggests_the_closest_one(german, run):
    stderr = check_fails(run, german(GERMAN.replace("subject =", "subjet =")))
    assert "languages/de.toml:4: error:" in stderr
    assert "unknown key 'subjet' in a language file" in stderr
    assert "did you mean 'subject'?" in stderr
    assert "has no 'subject'" not in stderr  # the misspelling explains the missing key


@pytest.mark.parametrize(
    ("written", "line"),
    [
        ('colour = "blau"\n', 11),
        ('colour="blau"\n', 11),
        ('  "colour"  =  "blau"\n', 11),
        ("'colour' = 'blau'\n", 11),
        ("\n[colour]\nshade = 1\n", 12),
        ("colour.shade = 1\n", 11),
    ],
)
def test_the_line_of_an_unknown_key_is_found_however_it_is_written(german, run, written, line):
    stderr = check_fails(run, german(GERMAN + written))
    assert f"languages/de.toml:{line}: error:" in stderr
    assert "unknown key 'colour'" in stderr


def test_a_missing_key_is_named(german, run):
    text = GERMAN.replace('reference = "Unser Zeichen"\n', "").replace(
        'list_separator = ", "\n', ""
    )
    stderr = check_fails(run, german(text))
    assert "languages/de.toml:1: error:" in stderr
    assert "language file has no 'reference', 'list_separator'" in stderr
    assert "copy letters/workspace/languages/en.toml" in stderr


def test_invalid_toml_gives_its_line_and_column(german, run):
    stderr = check_fails(run, german(GERMAN.replace('"Unser Zeichen"', "Unser Zeichen")))
    assert "languages/de.toml:5:13: error:" in stderr
    assert "language file is not valid TOML: Invalid value" in stderr
    assert "(at line" not in stderr


def test_an_unterminated_string_points_at_the_end(german, run):
    stderr = check_fails(run, german(GERMAN + 'name2 = """never closed\n'))
    assert "languages/de.toml:11: error:" in stderr
    assert "Unterminated string" in stderr


def test_a_value_must_be_text(german, run):
    stderr = check_fails(run, german(GERMAN.replace('"Betreff"', "42")))
    assert "languages/de.toml:4: error:" in stderr
    assert "'subject' should be text in double quotes" in stderr


@pytest.mark.parametrize(
    "locale", ["../../etc/passwd", "/etc/passwd", "zz", "de DE", "", "x" * 300]
)
def test_an_unknown_babel_locale_is_refused(german, run, locale):
    stderr = check_fails(run, german(GERMAN.replace('"de"', f'"{locale}"')))
    assert "languages/de.toml:2: error:" in stderr
    assert "unknown locale" in stderr or "the limit is 200" in stderr
    assert "such as en, fr, vi" in stderr


def test_a_regional_babel_locale_is_accepted(german, run):
    root = german(GERMAN.replace('"de"', '"de-AT"'))
    assert run("check", "-C", root).exit_code == 0
    assert language_pack("de", root).long_date(dt.date(2026, 1, 5)) == "5. Jänner 2026"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("h:mm", "Babel cannot write a date with this pattern"),
        ("d MMMM y zzzz", "Babel cannot write a date with this pattern"),
        ("GGGGGGGG", "Babel cannot write a date with this pattern"),
        ("y" * 101, "this value is 101 characters long; the limit is 100"),
    ],
)
def test_a_bad_date_pattern_is_refused(german, run, pattern, expected):
    stderr = check_fails(run, german(GERMAN.replace('"d. MMMM y"', f'"{pattern}"')))
    assert "languages/de.toml:3: error:" in stderr
    assert expected in stderr


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("B" * 201, "this value is 201 characters long; the limit is 200"),
        ("Bet\\nreff", "this value spans several lines"),
        ("Bet\\u202Ereff", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("Bet\\u001Breff", "invisible control character"),
    ],
)
def test_a_text_value_is_one_short_plain_line(german, run, value, expected):
    stderr = check_fails(run, german(GERMAN.replace('"Betreff"', f'"{value}"')))
    assert "languages/de.toml:4: error:" in stderr
    assert expected in stderr


def test_several_problems_report_the_first_and_count_the_rest(german, run):
    text = GERMAN.replace('"de"', '"zz"').replace("{page}", "{seite}")
    stderr = check_fails(run, german(text))
    assert "languages/de.toml:2: error:" in stderr
    assert "(and 1 more problem in this file)" in stderr


def test_key_lines():
    text = '# c\nname = "x"\n"page"="y"\n [sub]\nname = "again"\n'
    assert key_lines(text) == {"name": 2, "page": 3, "sub": 4}


# -- the shipped files ---------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["en", "fr", "es", "vi"])
def test_shipped_files_load_unchanged(tag):
    data = tomllib.loads((LANGUAGES_DIR / f"{tag}.toml").read_text("utf-8"))
    pack = language_pack(tag)
    assert pack.name == data["name"]
    assert pack.babel_locale == data["babel_locale"]
    assert pack.date_pattern == data["date_pattern"]
    assert (pack.labels.subject, pack.labels.reference, pack.labels.page) == (
        data["subject"],
        data["reference"],
        data["page"],
    )
    assert pack.salutation == data["salutation"]
    assert pack.salutation_without_honorific == data["salutation_without_honorific"]
    assert (pack.list_separator, pack.list_last_separator) == (
        data["list_separator"],
        data["list_last_separator"],
    )


def test_a_broken_file_raises_a_letters_error_from_the_api(german):
    root = german(GERMAN.replace("Guten Tag {name},", "{name.__init__.__globals__}"))
    with pytest.raises(LettersError) as caught:
        language_pack("de", root)
    assert caught.value.line == 8
    assert Path(caught.value.file or "").name == "de.toml"
