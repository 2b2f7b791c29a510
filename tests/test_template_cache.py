"""Compiled templates are kept in the user's cache folder between runs, signed with the
user's key: a file someone else wrote, a link, or a stale file is never used."""

from __future__ import annotations

import os
from pathlib import Path

import jinja2
import pytest

from letters.compose import template_cache
from letters.compose.render import Renderer
from letters.workspace import load_workspace
from tests.conftest import TEMPLATE

TEMPLATE_FILE = "appeal.md.j2"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache/letters/templates"


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the letter templates Jinja compiles (the body, not subject lines)."""
    names: list[str] = []
    compile_ = jinja2.Environment.compile

    def counting(self, source, name=None, filename=None, raw=False, defer_init=False):
        if name is not None:
            names.append(name)
        return compile_(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    return names


def render_ada(root: Path) -> str:
    """One letter, by a new renderer (as a new run of `letters` would)."""
    workspace, errors = load_workspace(root)
    assert not errors
    case = workspace.cases["free-expression"]
    recipient = next(r for r in workspace.recipients if r.id == "ada")
    letter = Renderer(workspace).render(case, "appeal", recipient, "a4", case.case.date)
    return letter.body_markdown


def test_a_second_run_uses_the_template_compiled_by_the_first(workspace, cache, compiled):
    root = workspace()
    first = render_ada(root)
    assert compiled == [TEMPLATE_FILE]
    assert len(list(cache.iterdir())) == 2  # the body and the subject line
    second = render_ada(root)
    assert compiled == [TEMPLATE_FILE]  # not compiled again
    assert second == first
    assert "We write about the Cybersecurity Law." in second


def test_a_second_run_uses_the_subject_line_compiled_by_the_first(workspace, cache, monkeypatch):
    root = workspace()
    sources: list[str] = []
    compile_ = jinja2.Environment.compile

    def counting(self, source, *args, **kwargs):
        sources.append(str(source))
        return compile_(self, source, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    workspace_, _ = load_workspace(root)
    case = workspace_.cases["free-expression"]
    recipient = next(r for r in workspace_.recipients if r.id == "ada")
    subjects = [
        Renderer(workspace_).render(case, "appeal", recipient, "a4", case.case.date).subject
        for _ in range(2)
    ]
    assert subjects == ["About the Cybersecurity Law"] * 2
    subject = "About the {{ case.facts.law }}"
    assert sources.count(subject) == 1  # compiled by the first renderer only
    # An edited subject line is compiled again, not served from the old code.
    template = root / "templates" / TEMPLATE_FILE
    template.write_text(template.read_text("utf-8").replace("About the", "On the"), "utf-8")
    workspace_, _ = load_workspace(root)
    case = workspace_.cases["free-expression"]
    letter = Renderer(workspace_).render(case, "appeal", recipient, "a4", case.case.date)
    assert letter.subject == "On the Cybersecurity Law"


def test_an_edited_template_is_compiled_again(workspace, cache, compiled):
    root = workspace()
    render_ada(root)
    (root / "templates" / TEMPLATE_FILE).write_text(
        TEMPLATE.replace("We write about", "We write again about"), "utf-8"
    )
    assert "We write again about the Cybersecurity Law." in render_ada(root)
    assert compiled == [TEMPLATE_FILE, TEMPLATE_FILE]


def _only_file(cache: Path) -> Path:
    """The file that keeps the letter's body (its code holds the body's text; the other
    file keeps the subject line)."""
    (path,) = (path for path in cache.iterdir() if b"We write about" in path.read_bytes())
    return path


def test_a_file_signed_with_another_key_is_not_used(workspace, cache, compiled, monkeypatch):
    """Someone who can write the cache folder but not read the user's key cannot choose
    the code a template runs."""
    root = workspace()
    render_ada(root)
    path = _only_file(cache)
    signed = path.read_bytes()
    # Someone else's compiled code for the same template: here, another letter's.
    (root / "templates" / TEMPLATE_FILE).write_text("FORGED {{ 7 * 6 }}\n", "utf-8")
    monkeypatch.setenv("LETTERS_TRUST_KEY", "an attacker's key")
    render_ada(root)
    forged = path.read_bytes()
    monkeypatch.delenv("LETTERS_TRUST_KEY")
    (root / "templates" / TEMPLATE_FILE).write_text(TEMPLATE, "utf-8")
    path.write_bytes(forged[:32] + signed[32:])  # the attacker's MAC, the right code
    assert "We write about the Cybersecurity Law." in render_ada(root)
    path.write_bytes(signed[:32] + forged[32:])  # the user's MAC, other code
    assert "We write about the Cybersecurity Law." in render_ada(root)
    assert compiled == [TEMPLATE_FILE] * 4  # both files were refused and compiled anew
    assert path.read_bytes() == signed  # and replaced by the user's own


def test_the_cache_is_never_read_or_written_through_a_link(workspace, cache, compiled, tmp_path):
    root = workspace()
    render_ada(root)
    path = _only_file(cache)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(elsewhere)
    assert "We write about the Cybersecurity Law." in render_ada(root)
    assert compiled == [TEMPLATE_FILE, TEMPLATE_FILE]  # the link was not followed
    assert not path.is_symlink()  # replaced by a file of its own
    assert elsewhere.read_bytes() == path.read_bytes()  # the target was not written through


def test_a_damaged_or_oversized_file_is_compiled_again(workspace, cache, compiled, monkeypatch):
    root = workspace()
    render_ada(root)
    path = _only_file(cache)
    path.write_bytes(path.read_bytes()[:-10])
    assert "We write about the Cybersecurity Law." in render_ada(root)
    monkeypatch.setattr(template_cache, "FILE_LIMIT", 10)
    assert "We write about the Cybersecurity Law." in render_ada(root)
    assert compiled == [TEMPLATE_FILE] * 3


def test_the_code_depends_on_the_sandbox_not_only_on_the_text(workspace):
    """A template compiled with another set of filters (an older letters allowed `random`)
    or outside the sandbox makes other code: it is kept under another name."""
    workspace_, _ = load_workspace(workspace())
    environment = Renderer(workspace_).markdown_env
    before = template_cache.fingerprint(environment)
    environment.filters["random"] = lambda value: value
    assert template_cache.fingerprint(environment) != before
    assert template_cache.fingerprint(jinja2.Environment()) != before


def test_a_temporary_key_keeps_nothing(workspace, cache, monkeypatch):
    """A key for this run only (the config folder is read-only): a file written with it
    could never be verified, so none is written."""
    temporary = (b"k" * 32, "cannot keep the trust key: read-only file system")
    monkeypatch.setattr(template_cache, "local_key", lambda: temporary)
    assert "We write about the Cybersecurity Law." in render_ada(workspace())
    assert not cache.exists()


def test_the_folder_is_kept_bounded(workspace, cache, monkeypatch):
    monkeypatch.setattr(template_cache, "FILES_KEPT", 4)
    cache.mkdir(parents=True)
    for number in range(4):
        old = cache / f"old-{number}"
        old.write_bytes(b"x")
        os.utime(old, (1_000_000 + number, 1_000_000 + number))
    render_ada(workspace())
    names = {path.name for path in cache.iterdir()}
    assert {name for name in names if name.startswith("old-")} == {"old-2", "old-3"}
    assert len(names) == 4  # the oldest half went, the new ones came (body and subject)


# -- from an attacker's review ---------------------------------------------------------------


def _forge(root: Path, folder: Path, mac_key: bytes, marker: Path) -> None:
    """What someone who knows `mac_key` and can write `folder` would leave there: the
    template's code with a line of their own in front."""
    import hashlib
    import hmac

    from jinja2.bccache import Bucket

    from letters.workspace import split_front_matter

    workspace_, _ = load_workspace(root)
    environment = Renderer(workspace_).markdown_env
    cache = environment.bytecode_cache
    assert isinstance(cache, template_cache.SignedTemplateCache)
    name, filename = TEMPLATE_FILE, str((root / "templates" / TEMPLATE_FILE).resolve())
    source = split_front_matter(TEMPLATE)[1]
    python = f"__import__('pathlib').Path({str(marker)!r}).write_text('pwned')\n"
    python += environment.compile(source, name, filename, raw=True)
    key = cache.get_cache_key(name, filename)
    bucket = Bucket(environment, key, cache.get_source_checksum(source))
    bucket.code = compile(python, filename, "exec")
    payload = bucket.bytecode_to_string()
    mac = hmac.new(mac_key, key.encode() + b"\0" + payload, hashlib.sha256).digest()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / key).write_bytes(mac + payload)


def test_the_team_key_cannot_sign_code(workspace, cache, monkeypatch, tmp_path):
    """LETTERS_TRUST_KEY is shared by a team and CI to vouch for PDFs: knowing it must not
    let anyone who can write the user's cache folder choose the code a template runs."""
    import hashlib

    monkeypatch.setenv("LETTERS_TRUST_KEY", "our team secret")
    root = workspace()
    marker = tmp_path / "PWNED"
    _forge(root, cache, hashlib.sha256(b"our team secret").digest(), marker)
    assert "We write about the Cybersecurity Law." in render_ada(root)
    assert not marker.exists()


def test_relative_xdg_folders_are_ignored(workspace, run, monkeypatch, tmp_path):
    """A relative XDG_CONFIG_HOME or XDG_CACHE_HOME would name folders inside the campaign
    being checked, which could then bring the key and code signed with it."""
    from letters import trust

    root = workspace().resolve()
    marker = tmp_path / "PWNED"
    key = b"k" * 64
    (root / ".config/letters").mkdir(parents=True)
    (root / ".config/letters/manifest.key").write_bytes(key + b"\n")
    derived = __import__("hmac").new(key, b"letters: compiled templates", "sha256").digest()
    _forge(root, root / ".cache/letters/templates", derived, marker)
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(root)
    monkeypatch.setenv("XDG_CONFIG_HOME", ".config")
    monkeypatch.setenv("XDG_CACHE_HOME", ".cache")
    assert trust.config_dir() == home / ".config/letters"
    assert trust.cache_dir() == home / ".cache/letters"
    result = run("check")
    assert result.exit_code == 0, result.stderr
    assert not marker.exists()
    assert (home / ".config/letters/manifest.key").exists()


def test_code_made_under_other_limits_syntax_or_filters_is_kept_apart(workspace):
    """Jinja runs filters while compiling when their arguments are constants, so their
    results are in the code: code made under other limits, other syntax or other filters
    must not be used."""
    from letters.compose.filters import escape_in_letter
    from letters.limits import Limits

    workspace_, _ = load_workspace(workspace())
    renderer = Renderer(workspace_)
    environment = renderer.markdown_env
    base = template_cache.fingerprint(environment, renderer.limits)
    assert template_cache.fingerprint(environment, Limits(pages=1)) != base
    changes = {
        "line statements": lambda e: setattr(e, "line_statement_prefix", "%"),
        "delimiters": lambda e: setattr(e, "block_start_string", "<%"),
        "async": lambda e: setattr(e, "is_async", True),
        "a filter passed the context": lambda e: e.filters.__setitem__("upper", escape_in_letter),
    }
    for what, change in changes.items():
        other = Renderer(workspace_)
        change(other.markdown_env)
        assert template_cache.fingerprint(other.markdown_env, renderer.limits) != base, what
    again = Renderer(workspace_)
    assert template_cache.fingerprint(again.markdown_env, again.limits) == base  # stable


def test_the_folder_is_kept_under_a_byte_budget(workspace, cache, monkeypatch):
    monkeypatch.setattr(template_cache, "BYTES_KEPT", 100_000)
    cache.mkdir(parents=True)
    for number in range(3):
        old = cache / f"old-{number}"
        old.write_bytes(b"x" * 40_000)
        os.utime(old, (1_000_000 + number, 1_000_000 + number))
    render_ada(workspace())
    names = {path.name for path in cache.iterdir()}
    assert {name for name in names if name.startswith("old-")} == {"old-2"}  # under half
    assert len(names) == 3  # and the new ones (body and subject)


def test_a_compiled_template_over_the_size_cap_is_not_kept(workspace, cache, monkeypatch):
    monkeypatch.setattr(template_cache, "FILE_LIMIT", 100)
    assert "We write about the Cybersecurity Law." in render_ada(workspace())
    assert not cache.exists() or not list(cache.iterdir())


def test_the_code_depends_on_the_data_a_filter_reads(monkeypatch):
    """`address_block` with a constant address runs while compiling, with Babel's country
    names and the postal formats: an upgrade of either compiles templates again."""
    before = template_cache._modules_version()
    import babel

    template_cache._modules_version.cache_clear()
    monkeypatch.setattr(babel, "__version__", "0.0-other")
    try:
        assert template_cache._modules_version() != before
    finally:
        template_cache._modules_version.cache_clear()


def test_a_folder_in_place_of_a_cache_file_is_compiled_around(workspace, cache, compiled):
    """Whatever stands at a cache file's name (here a folder) is not a kept template: the
    letter renders, and nothing is left open."""
    import os

    root = workspace()
    render_ada(root)
    kept = list(cache.iterdir())
    for path in kept:
        path.unlink()
        path.mkdir()
    descriptors = len(os.listdir("/proc/self/fd"))
    for _ in range(3):
        assert "We write about the Cybersecurity Law." in render_ada(root)
    assert len(os.listdir("/proc/self/fd")) == descriptors
    assert compiled == [TEMPLATE_FILE] * 4
