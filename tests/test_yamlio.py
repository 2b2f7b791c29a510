"""YAML is read as plain text data with positions; nothing in it can build objects."""

from __future__ import annotations

from pathlib import Path

import pytest

from letters.errors import LettersError
from letters.yamlio import parse_yaml

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
