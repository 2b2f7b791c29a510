"""A campaign's out/ folder is not trusted: no link is followed, no forged build is reused,
and every file written is one a colleague can read."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import threading
from pathlib import Path

import pytest
from pypdf import PdfReader

from letters.atomic import Writable
from letters.errors import WriteError
from tests.conftest import TEMPLATE

CASE_DIR = "out/free-expression"


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_a_journal_linked_outside_is_refused_and_the_target_untouched(workspace, run, tmp_path):
    root = workspace()
    victim = tmp_path / "victim.txt"
    victim.write_text("original\n", "utf-8")
    (root / CASE_DIR).mkdir(parents=True)
    (root / CASE_DIR / "manifest.json.journal").symlink_to(victim)
    result = run("build", "-C", root)
    assert result.exit_code == 2
    assert f"{CASE_DIR}/manifest.json.journal: error: a link" in result.stderr
    assert victim.read_text("utf-8") == "original\n"
    assert not (root / CASE_DIR / "appeal").exists()


@pytest.mark.slow
def test_a_template_folder_linked_outside_gets_no_files(workspace, run, tmp_path):
    root = workspace()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / CASE_DIR).mkdir(parents=True)
    (root / CASE_DIR / "appeal").symlink_to(elsewhere, target_is_directory=True)
    result = run("build", "-f", "pdf", "-C", root)
    assert result.exit_code == 2
    assert f"{CASE_DIR}/appeal: error: a link" in result.stderr
    assert list(elsewhere.iterdir()) == []


def test_out_itself_linked_by_the_campaign_is_refused(workspace, run, tmp_path):
    root = workspace()
    (tmp_path / "elsewhere").mkdir()
    (root / "out").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    result = run("build", "-C", root)
    assert result.exit_code == 2
    assert "out: error: out is a link" in result.stderr
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_an_out_folder_the_user_links_with_out_is_honoured(workspace, run, tmp_path):
    root = workspace()
    (tmp_path / "real").mkdir()
    (tmp_path / "chosen").symlink_to(tmp_path / "real", target_is_directory=True)
    assert run("build", "--out", tmp_path / "chosen", "-C", root).exit_code == 0
    assert (tmp_path / "real/free-expression/appeal/ada.md").is_file()


def test_a_fifo_where_the_journal_goes_is_refused_without_hanging(workspace, run):
    root = workspace()
    (root / CASE_DIR).mkdir(parents=True)
    os.mkfifo(root / CASE_DIR / "manifest.json.journal")
    outcome: list = []
    thread = threading.Thread(target=lambda: outcome.append(run("build", "-C", root)))
    thread.start()
    thread.join(60)
    assert outcome, "build hung on a FIFO"
    assert outcome[0].exit_code == 2
    assert "manifest.json.journal: error: a link (or another file" in outcome[0].stderr


def test_a_fifo_named_like_a_case_file_is_refused_without_hanging(workspace, run):
    root = workspace()
    os.mkfifo(root / "cases/other.yaml")
    outcome: list = []
    thread = threading.Thread(target=lambda: outcome.append(run("check", "-C", root)))
    thread.start()
    thread.join(60)
    assert outcome, "check hung on a FIFO"
    assert outcome[0].exit_code == 2
    assert "cases/other.yaml: error: expected a regular file, found a named pipe" in (
        outcome[0].stderr
    )


def test_a_case_folder_that_is_a_file_is_an_output_error(workspace, run):
    root = workspace()
    (root / "out").mkdir()
    (root / CASE_DIR).write_text("not a folder", "utf-8")
    result = run("build", "-C", root)
    assert result.exit_code == 1
    assert f"{CASE_DIR}: error: free-expression in the output folder is a file" in result.stderr
    assert "internal error" not in result.stderr


def test_a_full_disk_is_an_output_error_naming_the_file(workspace, run, monkeypatch):
    root = workspace()
    real_write = os.write

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    try:
        result = run("build", "-C", root)
    finally:
        monkeypatch.setattr(os, "write", real_write)
    assert result.exit_code == 1
    assert "No space left on device" in result.stderr
    assert "the disk is full" in result.stderr
    assert "internal error" not in result.stderr
    leftovers = [p for p in (root / "out").rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_write_errors_carry_the_path_and_a_hint(tmp_path: Path):
    (tmp_path / "locked").mkdir()
    confined = Writable(tmp_path)
    (tmp_path / "locked" / "f").mkdir()  # a folder where the file should go
    with pytest.raises(WriteError) as caught:
        confined.write_atomic("locked/f", b"x")
    assert caught.value.file == tmp_path / "locked/f"
    assert "this is a folder" in caught.value.message


@pytest.mark.slow
def test_forged_out_folder_is_rebuilt_not_reused(workspace, run, tmp_path, monkeypatch):
    """Item 4: PDFs from another template with a manifest claiming they match."""
    other = workspace(
        **{"templates/appeal.md.j2": TEMPLATE.replace("We write about", "FORGED TEXT about")}
    )
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "attacker-config"))
    assert run("build", "--print", "-C", other).exit_code == 0
    forged_out = tmp_path / "forged-out"
    shutil.copytree(other / "out", forged_out)
    shutil.rmtree(other)

    root = workspace()  # the benign templates, in the same folder name
    shutil.copytree(forged_out, root / "out")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "victim-config"))
    result = run("build", "--print", "-C", root)
    assert result.exit_code == 0
    assert "Built 4, unchanged 0" in result.stdout  # 2 PDFs and 2 Markdown letters
    text = pdf_text(root / CASE_DIR / "print.pdf")
    assert "We write about" in text and "FORGED" not in text


def test_a_print_file_no_verified_manifest_vouches_for_is_deleted(workspace, run, tmp_path):
    root = workspace()
    assert run("build", "-C", root).exit_code == 0
    planted = root / CASE_DIR / "print.pdf"
    planted.write_bytes(b"%PDF-1.4 forged")
    result = run("build", "-C", root)
    assert result.exit_code == 0
    assert not planted.exists()


@pytest.mark.slow
def test_own_print_files_survive_a_rebuild(workspace, run):
    root = workspace()
    assert run("build", "--print", "-C", root).exit_code == 0
    before = (root / CASE_DIR / "print.pdf").read_bytes()
    assert run("build", "-C", root).exit_code == 0
    assert (root / CASE_DIR / "print.pdf").read_bytes() == before


@pytest.mark.slow
def test_shards_from_another_machine_merge_with_a_shared_key(workspace, run, tmp_path, monkeypatch):
    root = workspace()
    monkeypatch.setenv("LETTERS_TRUST_KEY", "campaign office 2026")
    for number, shard in enumerate(("1/2", "2/2")):
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / f"machine-{number}"))
        assert run("build", "-f", "pdf", "--shard", shard, "-C", root).exit_code == 0
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "merger"))
    assert run("merge-print", "-C", root).exit_code == 0
    monkeypatch.delenv("LETTERS_TRUST_KEY")
    result = run("merge-print", "-C", root)
    assert result.exit_code == 2
    assert "has not been built" in result.stderr
    assert "LETTERS_TRUST_KEY" in result.stderr


def test_new_files_follow_the_umask_and_rewrites_keep_their_mode(workspace, run):
    root = workspace()
    previous = os.umask(0o022)
    try:
        assert run("build", "-C", root).exit_code == 0
        letter = root / CASE_DIR / "appeal/ada.md"
        assert stat.S_IMODE(letter.stat().st_mode) == 0o644
        assert stat.S_IMODE((root / CASE_DIR / "manifest.json").stat().st_mode) == 0o644
        letter.chmod(0o664)
        assert run("build", "--force", "-C", root).exit_code == 0
        assert stat.S_IMODE(letter.stat().st_mode) == 0o664
    finally:
        os.umask(previous)


def test_the_trust_key_is_private_to_its_owner(workspace, run):
    from letters.trust import config_dir

    assert run("build", "-C", workspace()).exit_code == 0
    key = config_dir() / "manifest.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_import_keeps_the_mode_of_recipients_yaml(workspace, run, tmp_path):
    root = workspace()
    (root / "recipients.yaml").chmod(0o664)
    sheet = tmp_path / "new.csv"
    sheet.write_text("Name,Organisation\nGrace Hopper,Navy\n", "utf-8")
    result = run("import", sheet, "-C", root)
    assert result.exit_code == 0, result.stderr
    assert "Grace Hopper" in (root / "recipients.yaml").read_text("utf-8")
    assert stat.S_IMODE((root / "recipients.yaml").stat().st_mode) == 0o664
