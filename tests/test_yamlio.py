"""YAML is read as plain text data with positions; nothing in it can build objects."""

from __future__ import annotations

from pathlib import Path

import pytest

from letters.errors import LettersError
from letters.workspace.yamlio import MAX_YAML_BYTES, YamlBudget, load_yaml, parse_yaml

FILE = Path("data.yaml")


def test_every_scalar_is_text_with_no_yaml_1_1_surprises():
    data = parse_yaml("a: no\nb: 01234\nc: 2018-06-08\nd: [1, 2.50, true]\ne: 1e3\n", FILE).data
    assert data == {
        "a": "no",
        "b": "01234",
        "c": "2018-06-08",
        "d": ["1", "2.50", "true"],
        "e": "1e3",
    }


def test_empty_and_null_values_are_absent_not_the_word_none():
    data = parse_yaml("a:\nb: ~\nc: null\nd: ''\n", FILE).data
    assert data == {"a": None, "b": None, "c": None, "d": ""}


def test_positions_of_keys_and_values_are_one_based():
    located = parse_yaml("top:\n  - name: x\n    tags: [a, b]\n", FILE)
    assert located.key_lines[("top", 0, "tags")] == (3, 5)
    assert located.value_lines[("top", 0, "tags", 1)] == (3, 15)
    assert located.line_of(("top", 0, "missing")) == (2, 5)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a: !!python/object/apply:os.system ['echo hi']\n", 1, "YAML tag"),
        ("a: !custom x\n", 1, "YAML tag"),
        ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a' (first given on line 1)"),
        ("a: &x [1]\nb: *x\n", 2, "anchors and aliases"),
        ("base: &b {k: v}\nother:\n  <<: *b\n", 3, "merge keys"),
        ("a: [1, 2\n", 2, "YAML syntax error"),
        ("a: b: c\n", 1, "YAML syntax error"),
        # Where the problem starts, not where the scanner gave up at the end of the file.
        (
            "a: 1\nb: 'open\nc: 2\nd: 3\n",
            2,
            "found unexpected end of stream while scanning a quoted scalar",
        ),
        ("a: 1\nb: 2\nlanguage en\nc: 3\n", 3, "could not find expected ':'"),
        ("a:\n  - [1,\n     2\n", 4, "(while parsing a flow sequence that starts on line 2)"),
    ],
)
def test_refusals_name_the_line(text, line, message):
    with pytest.raises(LettersError) as caught:
        parse_yaml(text, FILE)
    assert caught.value.line == line
    assert message in caught.value.message
    assert caught.value.file == FILE


def test_alias_bomb_is_refused_before_it_expands():
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 12):
        prev = f"*a{level - 1}"
        levels.append(f"a{level}: &a{level} [{', '.join([prev] * 10)}]")
    with pytest.raises(LettersError) as caught:
        parse_yaml("\n".join(levels) + "\n", FILE)
    assert "aliases" in caught.value.message
    assert caught.value.line == 2


def test_size_limit(tmp_path):
    with pytest.raises(LettersError) as caught:
        parse_yaml("a: " + "x" * 2000 + "\n", FILE, max_bytes=1000)
    assert "larger than the limit" in caught.value.message


def test_escaped_surrogate_pairs_join_and_lone_surrogates_are_refused():
    assert parse_yaml('a: "\\ud83d\\ude00"\n', FILE).data == {"a": "😀"}
    with pytest.raises(LettersError) as caught:
        parse_yaml('a: "x"\nb: "\\ud800"\n', FILE)
    assert caught.value.line == 2
    assert "invalid character" in caught.value.message


# -- hostile input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("a: !!python/object:os.system x\n", 1, 4),
        ("a: !!python/object/new:os.system [ls]\n", 1, 4),
        ("a: !!binary aGk=\n", 1, 4),
        ("a: !custom x\n", 1, 4),
        ("a:\n  - !custom {k: v}\n", 2, 5),
        ("a: [x, !custom y]\n", 1, 8),
        ("!!binary aGk=: v\n", 1, 1),
        ("a: !!set {x}\n", 1, 4),
        ("a: !!omap [x: 1]\n", 1, 4),
        ("a: !<tag:yaml.org,2002:python/name:os.system> x\n", 1, 4),
    ],
)
def test_every_tag_that_is_not_a_core_tag_is_refused(text, line, column):
    with pytest.raises(LettersError) as caught:
        parse_yaml(text, FILE)
    assert "YAML tag" in caught.value.message
    assert (caught.value.line, caught.value.column) == (line, column)


def test_core_and_non_specific_tags_keep_the_text():
    data = parse_yaml("a: !!str 012\nb: !!int x\nc: ! 1\nd: !!str ~\ne: =\nf: <<\n", FILE).data
    assert data == {"a": "012", "b": "x", "c": "1", "d": "~", "e": "=", "f": "<<"}


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("a: &x 1\n", 1, 4),  # an anchor nobody uses
        ("a: &x\n  k: v\n", 1, 4),
        ("a: [&x 1, 2]\n", 1, 5),
        ("a: *x\n", 1, 4),  # an alias without an anchor
        ("- &x a\n- b\n- *x\n", 3, 3),  # the alias is named before the anchor
    ],
)
def test_anchors_and_aliases_are_refused(text, line, column):
    with pytest.raises(LettersError) as caught:
        parse_yaml(text, FILE)
    assert "anchors and aliases" in caught.value.message
    assert (caught.value.line, caught.value.column) == (line, column)


def test_billion_laughs_is_refused_at_its_first_alias():
    lines = ['lol: &lol "lol"']
    for level in range(1, 10):
        previous = "lol" if level == 1 else f"lol{level - 1}"
        lines.append(f"lol{level}: &lol{level} [{', '.join([f'*{previous}'] * 10)}]")
    with pytest.raises(LettersError) as caught:
        parse_yaml("\n".join(lines) + "\n", FILE)
    assert "aliases" in caught.value.message
    assert (caught.value.line, caught.value.column) == (2, 14)


def test_merge_keys_are_refused_even_quoted():
    with pytest.raises(LettersError) as caught:
        parse_yaml("a:\n  '<<': {k: v}\n", FILE)
    assert "merge keys" in caught.value.message
    assert (caught.value.line, caught.value.column) == (2, 3)


def test_duplicate_keys_name_both_lines():
    with pytest.raises(LettersError) as caught:
        parse_yaml("top:\n  k: 1\n  other: 2\n  k: 3\n", FILE)
    assert caught.value.message == "duplicate key 'k' (first given on line 2)"
    assert (caught.value.line, caught.value.column) == (4, 3)


def test_a_complex_key_is_refused():
    with pytest.raises(LettersError) as caught:
        parse_yaml("? [a]\n: b\n", FILE)
    assert "a key must be plain text" in caught.value.message
    assert (caught.value.line, caught.value.column) == (1, 3)


def test_a_second_document_is_refused():
    with pytest.raises(LettersError) as caught:
        parse_yaml("a: 1\n---\nb: 2\n", FILE)
    assert caught.value.message.startswith("YAML syntax error:")
    assert "another document" in caught.value.message
    assert caught.value.line == 2


def test_syntax_errors_keep_their_format():
    with pytest.raises(LettersError) as caught:
        parse_yaml("a: 1\nb: [x, y\n", FILE)
    error = caught.value
    assert error.message.startswith("YAML syntax error: ")
    assert (error.line, error.column) == (3, 1)
    assert "check the indentation" in error.hint


@pytest.mark.parametrize(
    "text",
    [
        "[" * 5000,
        "[" * 5000 + "]" * 5000,
        "a: " + "{k: " * 5000 + "v" + "}" * 5000 + "\n",
        "".join(" " * depth + f"k{depth}:\n" for depth in range(1000)),
        "".join("  " * depth + "-\n" for depth in range(1000)),
        "- " * 1000 + "x\n",
    ],
    ids=["flow-open", "flow-closed", "flow-mapping", "block-mapping", "block-list", "dashes"],
)
def test_deep_nesting_is_a_clear_error_not_a_crash(text):
    with pytest.raises(LettersError) as caught:
        parse_yaml(text, FILE)
    assert caught.value.message == "data is nested more than 40 levels deep"
    assert caught.value.file == FILE
    assert caught.value.line >= 1


def test_forty_levels_are_allowed_and_forty_one_are_not():
    assert parse_yaml("x: " + "[" * 40 + "]" * 40 + "\n", FILE).data is not None
    with pytest.raises(LettersError) as caught:
        parse_yaml("x: " + "[" * 41 + "]" * 41 + "\n", FILE)
    assert (caught.value.line, caught.value.column) == (1, 44)


# -- control characters ---------------------------------------------------------------------

FORBIDDEN = ["\u202e", "\u202a", "\u2066", "\u2069", "\x1b", "\x00", "\x07", "\r", "\x7f", "\x85"]


@pytest.mark.parametrize("char", FORBIDDEN)
@pytest.mark.parametrize(
    ("template", "line", "column"),
    [
        ("first: ok\nname: Ev{c}il St\n", 2, 9),
        ("first: ok\n'Ev{c}il': x\n", 2, 4),
        ('list:\n  - "ab{c}"\n', 2, 8),
        ("text: |\n  line\n  li{c}ne\n", 3, 5),
        ("# a comment{c} more\na: 1\n", 1, 12),
    ],
    ids=["value", "key", "quoted", "block", "comment"],
)
def test_control_and_bidi_characters_in_the_file_are_refused_where_they_are(
    char, template, line, column
):
    with pytest.raises(LettersError) as caught:
        parse_yaml(template.format(c=char), FILE)
    error = caught.value
    assert "invisible control character" in error.message
    assert f"U+{ord(char):04X}" in error.message
    assert (error.file, error.line, error.column) == (FILE, line, column)


@pytest.mark.parametrize("escape", ["\\e", "\\0", "\\a", "\\u202E", "\\r", "\\x85", "\\N"])
def test_control_characters_written_as_escapes_are_refused_at_the_value(escape):
    with pytest.raises(LettersError) as caught:
        parse_yaml(f'a: ok\nb: "x{escape}y"\n', FILE)
    assert "invisible control character" in caught.value.message
    assert (caught.value.line, caught.value.column) == (2, 4)
    with pytest.raises(LettersError) as caught:
        parse_yaml(f'a: ok\n"k{escape}": v\n', FILE)
    assert "invisible control character" in caught.value.message
    assert (caught.value.line, caught.value.column) == (2, 1)


def test_joiners_and_direction_marks_stay_legal():
    text = 'a: می\u200cخواهم\nb: \u200d\u200e\u200f\nc: "\\u200c\\u200f"\n\u200fk: v\n'
    data = parse_yaml(text, FILE).data
    assert data == {
        "a": "می\u200cخواهم",
        "b": "\u200d\u200e\u200f",
        "c": "\u200c\u200f",
        "\u200fk": "v",
    }


def test_tabs_and_newlines_stay_legal():
    data = parse_yaml('a: "x\\ty"\nb: "x\ty"\nc: |\n  one\n  two\n', FILE).data
    assert data == {"a": "x\ty", "b": "x\ty", "c": "one\ntwo\n"}


def test_crlf_is_read_as_lf():
    located = parse_yaml('a: x\r\nb: |\r\n  l1\r\n  l2\r\nc: "p\\r\\nq"\r\nd: 1\r\n', FILE)
    assert located.data == {"a": "x", "b": "l1\nl2\n", "c": "p\nq", "d": "1"}
    assert located.value_lines[("d",)] == (6, 4)
    assert located.key_lines[("c",)] == (5, 1)


def test_characters_yaml_refuses_are_named_with_their_place():
    with pytest.raises(LettersError) as caught:
        parse_yaml("a: 1\nb: x\ufffey\n", FILE)
    assert caught.value.message.startswith("YAML syntax error:")
    assert "U+FFFE" in caught.value.message
    assert (caught.value.line, caught.value.column) == (2, 5)


def test_a_raw_lone_surrogate_is_refused_with_its_place():
    with pytest.raises(LettersError) as caught:
        parse_yaml("a: 1\nb: x\ud800\n", FILE)
    assert "invalid character" in caught.value.message
    assert (caught.value.line, caught.value.column) == (2, 5)


# -- escaped surrogates (what JSON writers produce) -----------------------------------------


def test_escaped_surrogate_pairs_keep_positions_and_literal_text():
    located = parse_yaml(
        'a: {k: "\\ud83d\\ude00 \\uD83D\\uDE00 \\U0000D83D\\U0000DE00", b: x}\n'
        "c: \\ud83d plain\n"
        "d: '\\uD83D single'\n"
        'e: "\\\\ud83d escaped backslash"\n'
        "f: |\n  \\udE00 block\n",
        FILE,
    )
    assert located.data == {
        "a": {"k": "😀 😀 😀", "b": "x"},
        "c": "\\ud83d plain",
        "d": "\\uD83D single",
        "e": "\\ud83d escaped backslash",
        "f": "\\udE00 block\n",
    }
    assert located.value_lines[("a", "b")] == (1, 61)


@pytest.mark.parametrize(
    "extra",
    ["\ue800 \uac00 \ub800 \uc800", "\\uE800 \\uA800 \\uB800 \\uC800", "\\x5c"],
    ids=["stand-in-characters-used", "stand-in-escapes-used", "spelled-backslash"],
)
def test_escaped_surrogates_are_read_right_when_no_stand_in_is_free(extra):
    located = parse_yaml(f'a: "\\ud83d\\ude00"\nb: "{extra}"\nc: \\uD800 x\n', FILE)
    assert located.data["a"] == "😀"
    assert located.data["c"] == "\\uD800 x"
    with pytest.raises(LettersError) as caught:
        parse_yaml(f'b: "{extra}"\nc: "\\ud800"\n', FILE)
    assert "invalid character" in caught.value.message
    assert caught.value.line == 2


def test_a_lone_escaped_surrogate_in_a_key_is_refused():
    with pytest.raises(LettersError) as caught:
        parse_yaml('a: 1\n"k\\udc00": 2\n', FILE)
    assert "invalid character" in caught.value.message
    assert (caught.value.line, caught.value.column) == (2, 1)


# -- budgets ---------------------------------------------------------------------------------


def test_values_are_counted_and_keys_are_not():
    budget = YamlBudget()
    parse_yaml("a: 1\nb: [x, y]\nc:\n", FILE, budget=budget)
    assert budget.nodes == 6  # the mapping, 1, the list, x, y and the empty value
    assert budget.bytes == len("a: 1\nb: [x, y]\nc:\n")


def test_the_node_cap_counts_every_file_of_a_load():
    budget = YamlBudget(max_nodes=8)
    parse_yaml("[a, b, c, d]\n", Path("one.yaml"), budget=budget)
    with pytest.raises(LettersError) as caught:
        parse_yaml("x: 1\ny: 2\nz: 3\nw: 4\n", Path("two.yaml"), budget=budget)
    error = caught.value
    assert error.message == "the campaign's YAML files hold more than 8 values"
    assert (error.file, error.line, error.column) == (Path("two.yaml"), 3, 4)


def test_the_default_node_cap_is_a_million_values():
    budget = YamlBudget(nodes=999_998)
    with pytest.raises(LettersError) as caught:
        parse_yaml("[a, b]\n", FILE, budget=budget)
    assert "more than 1,000,000 values" in caught.value.message
    assert caught.value.file == FILE


def test_a_file_without_a_budget_is_capped_on_its_own(monkeypatch):
    monkeypatch.setattr("letters.workspace.yamlio.MAX_YAML_NODES", 3)
    with pytest.raises(LettersError) as caught:
        parse_yaml("[a, b, c]\n", FILE)
    assert "more than 3 values" in caught.value.message


def test_the_byte_budget_counts_every_file_of_a_load(tmp_path):
    budget = YamlBudget(max_bytes=100)
    parse_yaml("a: " + "x" * 60 + "\n", Path("one.yaml"), budget=budget)
    second = tmp_path / "two.yaml"
    second.write_text("b: " + "y" * 60 + "\n", encoding="utf-8")
    with pytest.raises(LettersError) as caught:
        load_yaml(second, budget=budget)
    assert "YAML files are larger than" in caught.value.message
    assert caught.value.file == second


def test_the_default_byte_budget_is_five_files():
    assert YamlBudget().max_bytes == 5 * MAX_YAML_BYTES
    assert YamlBudget.for_file_limit(2 * 1024 * 1024).max_bytes == 10 * 1024 * 1024


def test_load_yaml_reads_a_file(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_bytes(b"a: 1\r\nb: [x]\r\n")
    located = load_yaml(path)
    assert located.data == {"a": "1", "b": ["x"]}
    assert located.file == path
    assert located.value_lines[("b", 0)] == (2, 5)


def test_a_digit_stand_in_keeps_the_files_one_spelling():
    # Every letter block is in use, but every escape spells the "d" the same way.
    text = 'a: "\\uD83D\\uDE00 \ue800 \uac00 \ub800 \uc800"\nb: \\uDE00 plain\n'
    assert parse_yaml(text, FILE).data == {
        "a": "😀 \ue800 \uac00 \ub800 \uc800",
        "b": "\\uDE00 plain",
    }


def test_a_large_file_is_not_read_slowly_for_its_surrogate_escapes(monkeypatch):
    monkeypatch.setattr("letters.workspace.yaml_surrogates._PURE_PYTHON_MAX_CHARS", 20)
    with pytest.raises(LettersError) as caught:
        parse_yaml('a: "\\x5c"\nb: "\\ud83d\\ude00"\n', FILE)
    assert "surrogate escapes" in caught.value.message
    assert (caught.value.line, caught.value.column) == (2, 5)
