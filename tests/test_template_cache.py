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
    assert len(list(cache.iterdir())) == 1
    second = render_ada(root)
    assert compiled == [TEMPLATE_FILE]  # not compiled again
    assert second == first
    assert "We write about the Cybersecurity Law." in second


def test_an_edited_template_is_compiled_again(workspace, cache, compiled):
    root = workspace()
    render_ada(root)
    (root / "templates" / TEMPLATE_FILE).write_text(
        TEMPLATE.replace("We write about", "We write again about"), "utf-8"
    )
    assert "We write again about the Cybersecurity Law." in render_ada(root)
    assert compiled == [TEMPLATE_FILE, TEMPLATE_FILE]


def _only_file(cache: Path) -> Path:
    (path,) = cache.iterdir()
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
    monkeypatch.setattr(template_cache, "trust_key", lambda: temporary)
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
    assert len(names) == 3  # the oldest half went, the new one came
