"""Attacks on the delivery code (send, envelopes, labels, report) and the new campaign data
(translations, structured addresses, label sheets): each test FAILS today and passes once
the hole it names is closed. A campaign folder from a stranger is the attacker."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_tree
from test_send import smtp  # noqa: F401  (the aiosmtpd server on 127.0.0.1 of test_send)

from letters.deliver.label_sheets import SHEETS_DIR

# Integration runs (real servers, many PDFs, attack reproductions): the quick loop
# (`pytest -m "not slow"`) leaves them to the full run.
pytestmark = pytest.mark.slow

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
    # Exploit: a translation's sender address (valid alone) was deep-merged over the base
    # one; the merged address was invalid (a US postcode left under an Irish address) and
    # the pydantic ValidationError escaped as "internal error" in check and build. An
    # address is now replaced whole, and a merged case is checked like the case file.
    base = CASE.replace(
        "  address: [1 Example Street, London]\n",
        "  address:\n    country: US\n    street: [1 Infinite Loop]\n    city: Cupertino\n"
        '    region: CA\n    postcode: "95014"\n',
    )
    irish = (
        "translations:\n  fr:\n    sender:\n      address:\n        country: IE\n"
        "        street: [1 Road]\n        city: Dublin\n"
    )
    template = "---\nsubject: Bonjour\nlanguage: fr\n---\n{{ recipient.salutation }}\n\nNous.\n"
    root = campaign(
        tmp_path,
        **{"cases/free-expression.yaml": base + irish, "templates/appeal.md.j2": template},
    )
    for command in (("check",), ("build", "--format", "md")):
        result = run(*command, "-C", root)
        assert "internal error" not in result.output, result.output
        assert result.exit_code == 0, result.output  # the Irish address, whole
    bad = irish.replace("city: Dublin", 'city: Dublin\n        postcode: "95014"')
    (root / "cases/free-expression.yaml").write_text(base + bad, "utf-8")
    for command in (("check",), ("build", "--format", "md")):
        result = run(*command, "-C", root)
        assert "internal error" not in result.output, result.output
        assert result.exit_code == 2
        assert "free-expression.yaml" in result.stderr and "Ireland" in result.stderr


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


# -- letters send: a forged sent log ---------------------------------------------------------


def test_forged_sent_records_shipped_with_the_campaign_do_not_suppress_the_letters(
    tmp_path,
    run,
    smtp,  # noqa: F811
):
    # Exploit: the stranger computes each message's hash (with --no-attach everything in it
    # comes from the campaign) and ships sent/<case>.jsonl saying "sent": the user's real
    # run sends nothing ("1 already sent") and the official never gets the letter. Unlike
    # out/ manifests, sent records carry no signature made with the user's key.
    import json

    from letters.deliver.mail_options import SendOptions
    from letters.deliver.mail_plan import compose

    root = campaign(tmp_path)
    plan = compose(root, SendOptions(attach=False))
    forged = [
        {
            "event": event,
            "letter": item.job.key,
            "to": item.address.addr_spec,
            "hash": item.draft.content_hash,
            "body_hash": item.draft.body_hash,
            "message_id": item.draft.message_id,
            "time": "2026-03-14T09:00:00+00:00",
            **({"reply": "250 2.0.0 Ok: queued"} if event == "sent" else {}),
        }
        for item in plan.outgoing
        for event in ("attempt", "sent")
    ]
    (root / "sent").mkdir()
    (root / "sent/free-expression.jsonl").write_text(
        "".join(json.dumps(record) + "\n" for record in forged), "utf-8"
    )
    handler, _ = smtp()
    result = run("send", "-C", root, "--rate", "1000000", "--no-attach", "--no-dry-run")
    assert [m.recipients for m in handler.messages] == [["ada@example.org"]], result.output


# -- the glyph check ------------------------------------------------------------------------


def test_the_glyph_check_reads_a_campaign_file_once_not_once_per_missing_character(
    tmp_path, run, monkeypatch
):
    # Exploit: a case fact of 20,000 distinct private-use characters in a 5 MB case file
    # (a comment pads it) keeps `letters check` busy for minutes, outside the time limit:
    # for each missing character the whole file is read again and split into lines.
    from letters.compose import glyphs

    reads: list[Path] = []
    real_read = glyphs._read

    def counting(path: Path) -> str:
        reads.append(path)
        return real_read(path)

    monkeypatch.setattr(glyphs, "_read", counting, raising=False)
    note = "".join(chr(0xF0000 + n) for n in range(3000))
    case = CASE.replace("letters:\n", f'facts:\n  note: "{note}"\nletters:\n')
    template = "---\nsubject: Hello\n---\n{{ case.facts.note }}\n"
    root = campaign(
        tmp_path, **{"cases/free-expression.yaml": case, "templates/appeal.md.j2": template}
    )
    result = run("check", "-C", root)
    assert result.exit_code == 2 and "no installed font can draw" in result.stderr
    assert len(reads) <= 10, f"{len(reads)} reads of {set(reads)}"


# -- letters import: ids for many people of one name ----------------------------------------


class CountingSet(set):
    lookups = 0

    def __contains__(self, item: object) -> bool:
        CountingSet.lookups += 1
        return super().__contains__(item)


def test_ids_for_many_people_with_one_name_are_not_made_in_quadratic_time(monkeypatch):
    # Exploit: a spreadsheet of 100,000 rows named "Same Name" (each with its own
    # organisation, so none is a duplicate) makes unique_id try same-name-2, -3, ... from 2
    # again for every row: 5e9 lookups, and `letters import` runs for half an hour (10,000
    # rows already take 20 s against 2 s for distinct names).
    from letters.importing import merge

    taken = CountingSet()
    rows = 1500
    for _ in range(rows):
        rid = merge.unique_id(merge.slugify("Same Name"), taken)
        taken.add(rid)
    assert len(taken) == rows
    # Doubling then halving: about 2 log2(n) lookups an id, not n.
    bound = 3 * rows * rows.bit_length()
    assert CountingSet.lookups <= bound, f"{CountingSet.lookups} lookups for {rows} ids"


# -- deeply nested TOML (sheets/*.toml, languages/*.toml) -----------------------------------

DEEP_TOML = "name = " + "[" * 30_000 + "\n"  # under the 64 KB limit of a sheet file


def test_a_deeply_nested_sheet_file_is_an_error_at_its_line_not_an_internal_error(tmp_path, run):
    # Exploit: tomllib parses arrays recursively; sheets/evil.toml of 30,000 "[" raises
    # RecursionError (not TOMLDecodeError), and `letters labels --sheet evil` crashes.
    root = campaign(tmp_path, **{"sheets/evil.toml": DEEP_TOML})
    result = run("labels", "--sheet", "evil", "-C", root)
    assert "internal error" not in result.output
    assert result.exit_code == 2 and "evil.toml" in result.stderr


def test_a_deeply_nested_language_file_is_an_error_at_its_line_not_an_internal_error(tmp_path, run):
    # Exploit: the same through languages/xx.toml, read by check, build and send.
    template = "---\nsubject: Hello\nlanguage: xx\n---\nHello\n"
    root = campaign(
        tmp_path, **{"languages/xx.toml": DEEP_TOML, "templates/appeal.md.j2": template}
    )
    result = run("check", "-C", root)
    assert "internal error" not in result.output
    assert result.exit_code == 2 and "xx.toml" in result.stderr


# -- letters send: a display name the e-mail package folds for minutes ----------------------


def test_a_huge_display_name_in_an_email_field_is_an_error_at_its_line(tmp_path, run):
    # Exploit: `email: "ÄÄÄ…(60,000)… <ada@example.org>"` in recipients.yaml (the window never
    # shows that name, so nothing bounds it): Python's header folding is superlinear, and the
    # dry run of `letters send` takes 12 s for this one recipient (minutes for a 10 MB list).
    recipients = RECIPIENTS.replace(
        "email: ada@example.org", 'email: "' + "Ä" * 8000 + ' <ada@example.org>"'
    )
    root = campaign(tmp_path, **{"recipients.yaml": recipients})
    result = run("send", "-C", root, "--no-attach")
    assert "internal error" not in result.output
    assert result.exit_code == 2 and "recipients.yaml" in result.stderr
