"""Attacks on the delivery code (send, envelopes, labels, report) and the new campaign data
(translations, structured addresses, label sheets): each test FAILS today and passes once
the hole it names is closed. A campaign folder from a stranger is the attacker."""

from __future__ import annotations

from pathlib import Path

from conftest import write_tree

from letters.deliver.label_sheets import SHEETS_DIR

CASE = """\
title: Free expression online
date: 2026-03-14
reference: REF/1
sender:
  name: Sam Sender
  organisation: Open Net Watch
  address: [1 Example Street, London]
  email: sam@example.org
letters:
  - template: appeal
    to: [all]
"""
RECIPIENTS = """\
recipients:
  - id: ada
    name: Ada Lovelace
    address: [1 Road, Town]
    email: ada@example.org
"""
TEMPLATE = "---\nsubject: Hello\n---\n{{ recipient.salutation }}\n\nWe write.\n"


def campaign(tmp_path: Path, **files: str) -> Path:
    tree = {
        "recipients.yaml": RECIPIENTS,
        "cases/free-expression.yaml": CASE,
        "templates/appeal.md.j2": TEMPLATE,
    }
    tree.update({name.replace("__", "/"): text for name, text in files.items()})
    return write_tree(tmp_path / "campaign", tree)


# -- letters report --output --------------------------------------------------------------


def test_report_output_does_not_write_through_a_link_shipped_with_the_campaign(tmp_path, run):
    # Exploit: the zip holds `record.csv -> ~/.bashrc`; the README's `letters report
    # --output record.csv` resolves the link and replaces the user's file outside the folder.
    root = campaign(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", "utf-8")
    (root / "record.csv").symlink_to(victim)
    result = run("report", "--output", root / "record.csv", "-C", root)
    assert victim.read_text("utf-8") == "precious\n"
    assert result.exit_code != 0 and "link" in result.stderr
    assert "internal error" not in result.output


# -- translations ---------------------------------------------------------------------------


def test_a_translated_structured_address_is_an_error_at_its_line_not_an_internal_error(
    tmp_path, run
):
    # Exploit: a translation's sender address (valid alone) is deep-merged over the base one;
    # the merged address is invalid (a US postcode left under an Irish address) and the
    # pydantic ValidationError escapes as "internal error" in check and build.
    case = CASE.replace(
        "  address: [1 Example Street, London]\n",
        "  address:\n    country: US\n    street: [1 Infinite Loop]\n    city: Cupertino\n"
        '    region: CA\n    postcode: "95014"\n',
    ) + (
        "translations:\n  fr:\n    sender:\n      address:\n        country: IE\n"
        "        street: [1 Road]\n        city: Dublin\n"
    )
    template = "---\nsubject: Bonjour\nlanguage: fr\n---\n{{ recipient.salutation }}\n\nNous.\n"
    root = campaign(
        tmp_path, **{"cases/free-expression.yaml": case, "templates/appeal.md.j2": template}
    )
    for command in (("check",), ("build", "--format", "md")):
        result = run(*command, "-C", root)
        assert "internal error" not in result.output, result.output
        assert result.exit_code == 2
        assert "free-expression.yaml" in result.stderr


# -- label sheets ---------------------------------------------------------------------------


def test_an_infinite_pitch_in_a_sheet_file_is_an_error_at_its_line(tmp_path, run):
    # Exploit: `pitch_x = inf` on a one-column sheet passes the schema (gt=0) and the geometry
    # check (0 * inf is NaN, and NaN > page_width is False): labels are laid out at
    # `left: nanmm`, which WeasyPrint ignores, so every label prints off its die-cut place.
    shipped = (SHEETS_DIR / "l7163.toml").read_text("utf-8")
    sheet = shipped.replace("columns = 2", "columns = 1").replace(
        "pitch_x = 101.6", "pitch_x = inf"
    )
    root = campaign(tmp_path, **{"sheets/evil.toml": sheet})
    result = run("labels", "--sheet", "evil", "-C", root)
    assert result.exit_code == 2, result.output
    assert "evil.toml" in result.stderr and "pitch_x" in result.stderr
    assert not (root / "out/free-expression/labels-evil.pdf").exists()


# -- JSON records shipped in the campaign (sent/, out/) -------------------------------------

DEEP_JSON = "[" * 200_000 + "\n"


def test_a_deeply_nested_line_in_a_shipped_sent_log_is_not_an_internal_error(tmp_path, run):
    # Exploit: sent/<case>.jsonl holding one line of 200,000 "[" makes json.loads raise
    # RecursionError (not ValueError), so even the dry run of `letters send` crashes.
    root = campaign(tmp_path, **{"sent/free-expression.jsonl": DEEP_JSON})
    result = run("send", "-C", root, "--no-attach")
    assert "internal error" not in result.output
    assert result.exit_code == 0, result.output
    assert "not records; ignored" in result.stderr


def test_a_deeply_nested_shipped_post_record_is_not_an_internal_error(tmp_path, run):
    # Exploit: out/<case>/post.json of 200,000 "[" crashes `letters envelopes` (and the
    # labels): PostRecord.read catches ValueError only, not RecursionError.
    root = campaign(tmp_path, **{"out/free-expression/post.json": DEEP_JSON})
    result = run("envelopes", "-C", root)
    assert "internal error" not in result.output
    assert result.exit_code == 0, result.output
    assert (root / "out/free-expression/envelopes-dl.pdf").is_file()


def test_a_deeply_nested_shipped_manifest_does_not_crash_report_or_build(tmp_path, run):
    # Exploit: out/<case>/manifest.json of 200,000 "[" crashes `letters report` and `build`.
    root = campaign(tmp_path, **{"out/free-expression/manifest.json": DEEP_JSON})
    for command in (("report",), ("build", "--format", "md")):
        result = run(*command, "-C", root)
        assert "internal error" not in result.output, result.output
        assert result.exit_code == 0, result.output
