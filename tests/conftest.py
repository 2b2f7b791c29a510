"""Shared fixtures: small workspaces written into tmp_path, and the CLI runner."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
import typer.testing
from typer.testing import CliRunner

from letters.cli import app
from letters.sample import copy_sample

RECIPIENTS = """\
recipients:
  - id: ada
    name: Ada Lovelace
    honorific: Ms
    title: Chief Executive
    organisation: Analytical Engines Ltd
    address:
      - 12 St James's Square
      - London SW1Y 4JH
    tags: [tech]
  - id: hoa
    name: Nguyễn Thị Hoa
    organisation: Bộ Tư pháp
    address: |
      Số 60 Trần Phú, Ba Đình
      Hà Nội
    language: vi
    tags: [gov, tech]
"""

CASE = """\
title: Free expression online
date: 2026-03-14
reference: REF/1
sender:
  name: Sam Sender
  title: Director
  organisation: Open Net Watch
  address: [1 Example Street, London]
demands:
  - release everyone held for peaceful expression
  - repeal the law
facts:
  law: Cybersecurity Law
letters:
  - template: appeal
    to: [all]
"""

TEMPLATE = """\
---
subject: "About the {{ case.facts.law }}"
---
{{ recipient.salutation }}

We write about the {{ case.facts.law }}. We ask you to {{ case.demands | prose_list }}.

Yours sincerely,
"""


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text) if text.startswith("\n") else text, "utf-8")
    return root


@pytest.fixture
def workspace(tmp_path: Path) -> Callable[..., Path]:
    """A small valid workspace; keyword arguments replace or add files by relative path."""

    def make(**files: str) -> Path:
        tree = {
            "recipients.yaml": RECIPIENTS,
            "cases/free-expression.yaml": CASE,
            "templates/appeal.md.j2": TEMPLATE,
        }
        tree.update({name.replace("__", "/"): text for name, text in files.items()})
        return write_tree(tmp_path / "ws", tree)

    return make


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    root = tmp_path / "sample"
    copy_sample(root)
    return root


# Typer builds the Click command of the app anew for every invocation (about 35 ms): the
# tests invoke the one app hundreds of times, so it is built once.
_commands: dict[int, object] = {}
_build_command = typer.testing._get_command


def _cached_command(application: typer.Typer) -> object:
    if id(application) not in _commands:
        _commands[id(application)] = _build_command(application)
    return _commands[id(application)]


typer.testing._get_command = _cached_command  # type: ignore[assignment]


class Run:
    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str | Path, env: dict[str, str] | None = None):
        result = self.runner.invoke(app, [str(arg) for arg in args], env=env)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result


@pytest.fixture
def run() -> Run:
    return Run()


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="session")
def session_cache_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def own_config_folder(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    session_cache_folder: Path,
):
    """Each test has its own config folder (where the manifest trust key lives), never the
    user's, and no shared key unless it sets one; the tests share one cache folder (font
    maps are read once a run), never the user's."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    monkeypatch.setenv("XDG_CACHE_HOME", str(session_cache_folder))
    monkeypatch.delenv("LETTERS_TRUST_KEY", raising=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: kills processes or builds many letters")
    config.addinivalue_line(
        "markers",
        "weasyprint_warnings(*texts): WeasyPrint warnings this test expects (substrings)",
    )


@pytest.fixture(autouse=True)
def no_unexpected_weasyprint_warnings(request: pytest.FixtureRequest, monkeypatch):
    """Fail a test on any WeasyPrint warning it did not declare: a warning can mean a lost
    image or font, which changes what the letter shows. In-process renders are checked as
    they happen; worker processes report theirs back to the build, which is checked too."""
    import letters.layout.pdf as pdf
    import letters.output.workers as workers

    expected = [
        text for mark in request.node.iter_markers("weasyprint_warnings") for text in mark.args
    ]
    seen: list[str] = []
    render = pdf.PdfRenderer.render

    def checked_render(self, html, letter):
        output = render(self, html, letter)
        seen.extend(output.warnings)
        return output

    render_pdfs = workers.render_pdfs

    def checked_render_pdfs(*args, **kwargs):
        for done in render_pdfs(*args, **kwargs):
            seen.extend(done[2].warnings)
            yield done

    monkeypatch.setattr(pdf.PdfRenderer, "render", checked_render)
    monkeypatch.setattr(workers, "render_pdfs", checked_render_pdfs)
    yield
    unexpected = sorted({w for w in seen if not any(text in w for text in expected)})
    if unexpected:
        pytest.fail(f"unexpected WeasyPrint warnings: {unexpected}", pytrace=False)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/ from the current output (review the diff!)",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden")) or bool(
        os.environ.get("LETTERS_UPDATE_GOLDEN")
    )
