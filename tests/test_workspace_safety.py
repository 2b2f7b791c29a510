"""Loading a stranger's campaign: data that disguises what is printed, images that would eat
memory and files that add up are refused at load, naming the file and line."""

from __future__ import annotations

import struct
import zlib

import pytest

from tests.conftest import CASE, RECIPIENTS


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height (its pixels are never decoded)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def with_logo(workspace, data: bytes):
    case = CASE.replace(
        "  address: [1 Example Street, London]",
        "  address: [1 Example Street, London]\n  logo: images/logo.png",
    )
    root = workspace(**{"cases/free-expression.yaml": case})
    (root / "images").mkdir()
    (root / "images/logo.png").write_bytes(data)
    return root


def test_a_logo_over_the_pixel_budget_is_refused_at_its_line(workspace, run):
    root = with_logo(workspace, png_header(13000, 13000))
    for command in ("check", "build"):
        result = run(command, "-C", root)
        assert result.exit_code == 2
        assert "cases/free-expression.yaml:9:9:" in result.stderr
        assert "logo.png is 13000 × 13000 pixels (169 megapixels)" in result.stderr
    assert not (root / "out").exists()


def test_a_logo_that_is_not_an_image_is_refused_at_its_line(workspace, run):
    root = with_logo(workspace, b"this is a text file called logo.png\n")
    result = run("check", "-C", root)
    assert result.exit_code == 2
    assert "cases/free-expression.yaml:9:9:" in result.stderr
    assert "logo.png is not a PNG, JPEG" in result.stderr


@pytest.mark.parametrize(
    ("char", "shown"),
    [
        ("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("\u2066", "U+2066 LEFT-TO-RIGHT ISOLATE"),
        ("\x1b", "U+001B"),
        ("\x07", "U+0007"),
    ],
)
def test_bidi_and_control_characters_in_data_are_refused_at_their_line(workspace, run, char, shown):
    recipients = RECIPIENTS.replace("12 St James's Square", f"12 {char}evil{char} Square")
    result = run("check", "-C", workspace(**{"recipients.yaml": recipients}))
    assert result.exit_code == 2
    assert "recipients.yaml:8:12:" in result.stderr
    assert shown in result.stderr
    assert "\x1b" not in result.stderr and "\u202e" not in result.stderr


def test_joiners_and_marks_that_scripts_need_stay_legal(workspace, run):
    # Persian uses ZWNJ inside words; Hebrew and Arabic text uses RLM and LRM.
    recipients = RECIPIENTS.replace("Ada Lovelace", "Ada\u200cLove\u200flace\u200e")
    assert run("check", "-C", workspace(**{"recipients.yaml": recipients})).exit_code == 0


def test_a_control_character_in_a_template_is_refused_at_its_line(workspace, run):
    root = workspace(**{"templates/appeal.md.j2": "Hello\n\nA \x1b]0;pwned\x07 title\n\nBye,\n"})
    result = run("preview", "free-expression", "--to", "ada", "-C", root)
    assert result.exit_code == 2
    assert "templates/appeal.md.j2:3:3: error: this value contains an invisible control" in (
        result.stderr
    )
    assert "\x1b" not in result.stdout + result.stderr


def test_yaml_files_cannot_add_up_past_the_workspace_budget(workspace, run):
    # Each file is under the per-file cap of 1 MB; together they are over 5 MB.
    filler = "facts:\n  notes: |\n" + ("    " + "x" * 95 + "\n") * 9_000
    files = {
        f"cases/case-{n}.yaml": CASE.replace("facts:\n  law: Cybersecurity Law\n", filler)
        for n in range(7)
    }
    result = run("check", "-C", workspace(**files), env={"LETTERS_MAX_YAML_MB": "1"})
    assert result.exit_code == 2
    assert "the campaign's YAML files are larger than 5 MB in total" in result.stderr
