"""A stranger's templates see plain data only: no path, object or module to escape through.

Each payload here was a working exploit, or a near variant, against the block-list sandbox
the project had before (a Path in the context, `|attr`, `str.format`, padding widths).
"""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import pytest

from letters.commands.preview import preview
from letters.compose.render import Renderer
from letters.compose.sandbox import impure_values
from letters.errors import LettersError
from letters.layout.html import layout_files, page_context
from letters.workspace import load_workspace
from tests.conftest import CASE
from tests.test_workspace_safety import png_header

TODAY = dt.date(2030, 1, 2)
SECRET = "TOP-SECRET-CONTENTS"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET, "utf-8")
    return path


def body(root_factory, text: str) -> Path:
    return root_factory(**{"templates/appeal.md.j2": f"Hello\n\n{text}\n\nYours,\n"})


@pytest.mark.parametrize(
    "payload",
    [
        # The exploit of the issue: a Path reachable from the context.
        '{{ _letters_language.path.joinpath("SECRET").read_text() }}',
        "{{ _letters_language.__class__.__mro__ }}",
        "{{ date.__class__.__mro__[1].__subclasses__() }}",
        "{{ recipient | attr('__class__') }}",
        "{{ '%s' | format(recipient) }}",
        "{{ '{0.__class__}'.format(recipient) }}",
        "{{ '{0}'.format_map(recipient) }}",
        "{{ lipsum(5) }}",
        "{{ range.__self__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ namespace.__init__ }}",
        "{{ joiner().__call__.__globals__ }}",
        "{{ self.__dict__ }}",
        "{{ recipient.fields.items() }}",
        "{{ case.demands.pop() }}",
        "{{ ''.encode('utf-8').decode }}",
        "{{ date.strftime('%Y' * 3) }}",
        "{{ [date] | map(attribute='__class__') | list }}",
        "{{ (recipient.name | markdown).__class__ }}",
        "{{ recipient.name.__len__() }}",
    ],
)
def test_no_object_in_a_template_reaches_files_or_internals(workspace, secret, run, payload):
    root = body(workspace, payload.replace("SECRET", str(secret)))
    for command in (["check"], ["preview", "free-expression", "--to", "ada"], ["build"]):
        result = run(*command, "-C", root)
        assert result.exit_code == 2, (command, result.stdout)
        assert SECRET not in result.stdout + result.stderr
        assert "appeal.md.j2:3" in result.stderr
    assert not (root / "out").exists()


def test_a_template_cannot_write_a_file(workspace, tmp_path: Path, run):
    target = tmp_path / "planted.pth"
    payload = f'{{{{ _letters_language.path.joinpath("{target}").write_text("import os") }}}}'
    result = run("build", "-C", body(workspace, payload))
    assert result.exit_code == 2
    assert not target.exists()


@pytest.mark.parametrize(
    "payload",
    [
        "{{ letter.template_file.read_text() }}",
        "{{ letter.sender.logo.read_bytes() }}",
        "{{ letter.__class__.__init__.__globals__ }}",
        "{{ labels.__class__ }}",
        "{{ letter | attr('sender') }}",
    ],
)
def test_the_page_layout_sees_plain_data_too(workspace, run, payload):
    root = workspace(**{"templates/letter.html.j2": f"<html><body>\n{payload}\n</body></html>"})
    result = run("build", "--format", "html", "-C", root)
    assert result.exit_code in (1, 2)
    assert "templates/letter.html.j2" in result.stderr
    assert not list((root / "out").rglob("*.html")) if (root / "out").exists() else True


def _letter_context(root: Path) -> tuple[dict, dict]:
    workspace, errors = load_workspace(root)
    assert not errors
    renderer = Renderer(workspace)
    case_file = workspace.cases["free-expression"]
    recipient = workspace.recipient("ada")
    assert recipient is not None
    body_context = renderer.context(case_file, recipient, "en", TODAY, "a4")
    letter = renderer.render(case_file, "appeal", recipient, "a4", TODAY)
    layout_context = page_context(letter, layout_files(root), root)
    return body_context, layout_context


def test_every_value_given_to_a_template_is_plain_data(workspace, tmp_path: Path):
    case = CASE.replace(
        "  address: [1 Example Street, London]",
        "  address: [1 Example Street, London]\n  logo: logo.png\n  signature: sig.png",
    )
    root = workspace(**{"cases/free-expression.yaml": case})
    for name in ("logo.png", "sig.png"):
        (root / name).write_bytes(png_header(40, 20))
    body_context, layout_context = _letter_context(root)
    assert impure_values(body_context, "body") == []
    assert impure_values(layout_context, "layout") == []
    # The walk itself can fail: a Path is not plain data.
    assert impure_values({"x": [Path("/")]}) == ["context.x[0]: pathlib.PosixPath"]


@pytest.mark.parametrize(
    "payload",
    [
        "{{ 'x' | center(10**9) }}",
        "{{ 'x' | indent(10**9) }}",
        "{{ 'x' | indent('y' * 5000) }}",
        "{{ 'a b' | wordwrap(10**9) }}",
        "{{ 'x' | truncate(10**9) }}",
        "{{ range(3) | batch(10**9, 'x') | list }}",
        "{{ range(3) | slice(10**9, 'x') | list }}",
        "{{ ('a' * 1000) | replace('', 'b' * 2000) }}",
        "{{ ('a' * 1000).replace('', 'b' * 2000) }}",
        "{{ ('x' * 1000).join(['y' * 1000] * 1000) }}",
        "{{ (['y' * 1000] * 1000) | join('x' * 1000) }}",
        "{{ 'x'.ljust(10**10) }}",
        "{{ 'x'.zfill(10**10) }}",
        "{{ '\\t'.expandtabs(10**9) }}",
    ],
)
def test_padding_and_joining_cannot_get_around_the_size_guard(workspace, payload):
    with pytest.raises(LettersError) as caught:
        preview(body(workspace, payload), "free-expression", "ada", None, TODAY)
    assert caught.value.line == 3
    assert "may not do" in caught.value.message


def test_ordinary_template_features_still_work(workspace):
    payload = (
        "{% set ns = namespace(n=0) %}{% for d in case.demands %}{% set ns.n = ns.n + 1 %}"
        "{{ loop.index }}:{{ d | upper | truncate(9) }};{% endfor %} n={{ ns.n }}"
        " {{ recipient.name.split(' ') | last }} {{ date.year }}-{{ date.isoformat() }}"
        " {{ case.facts.law | center(22) | trim }}"
        " {{ [recipient] | map(attribute='name') | first }}"
        " {% for k, v in {'a': 1}.items() %}{{ k }}={{ v }}{% endfor %}"
        " {{ 'x-y' | replace('-', '+') }} {{ cycler('odd', 'even').next() }}"
    )
    text = preview(body(workspace, payload), "free-expression", "ada", None, TODAY)
    assert "1:RELEAS...;2:REPEAL THE LAW; n=2" in text
    assert "Lovelace 2026-2026-03-14 Cybersecurity Law Ada Lovelace a=1 x+y odd" in text


@pytest.mark.parametrize(
    "tag",
    [
        '{% include "/etc/shadow" %}',
        '{% include "../recipients.yaml" %}',
        '{% import "/etc/passwd" as p %}',
        '{% from "../../x" import y %}',
        '{% include ["_ok.md.j2", "/etc/shadow"] %}',
        '{% include "..\\\\secrets" %}',
        # Every spelling Jinja reads as a statement (whitespace control, any whitespace it
        # skips): templates without a naming statement are not parsed, so these must match.
        '{%-include "/etc/shadow"%}',
        '{%+\n\tinclude "/etc/shadow" -%}',
        '{%\u3000\u00a0extends "/etc/passwd" %}',
        '{%-\r\nfrom "/x" import y %}',
    ],
)
def test_includes_leaving_templates_are_refused_before_anything_runs(workspace, run, tag):
    root = body(workspace, f"{{% if false %}}{tag}{{% endif %}}")
    result = run("check", "-C", root)
    assert result.exit_code == 2
    line = 3 + tag.count("\n")  # the statement's name is on the line after a break
    assert f"templates/appeal.md.j2:{line}: error: this template includes" in result.stderr
    assert "outside templates/" in result.stderr


@pytest.mark.parametrize(
    ("front_matter", "body_line"),
    [
        ("# {#\n", '{% include "../recipients.yaml" %} #}'),  # a YAML comment opening {#
        ("# {% raw %}\n", '{% include "/etc/passwd" %}{# {% endraw %} #}'),
        ("# {{\n", '{% include "../recipients.yaml" %}'),  # Jinja cannot parse the file whole
    ],
)
def test_front_matter_cannot_hide_an_include_from_the_check(
    workspace, run, front_matter, body_line
):
    """The body is checked as the renderer compiles it, without its front matter."""
    source = f'---\nsubject: "Hello"\n{front_matter}---\nDear you,\n{body_line}\n'
    root = workspace(**{"templates/appeal.md.j2": source})
    result = run("check", "-C", root)
    assert result.exit_code == 2
    assert "templates/appeal.md.j2:6: error: this template includes" in result.stderr
    assert "outside templates/" in result.stderr


def test_a_subject_cannot_include_a_file_outside_templates(workspace, run):
    """The subject is a template too, checked once YAML has decoded it (`\\x25` is `%`)."""
    source = "---\nsubject: \"{\\x25 include '../recipients.yaml' %}\"\n---\nDear you,\n"
    root = workspace(**{"templates/appeal.md.j2": source})
    result = run("check", "-C", root)
    assert result.exit_code == 2
    assert (
        "templates/appeal.md.j2:2: error: the subject includes '../recipients.yaml', "
        "which is outside templates/"
    ) in result.stderr


def test_includes_in_partials_and_the_layout_are_checked_too(workspace, run):
    root = workspace(
        **{
            "templates/_part.md.j2": "a\n{% include '/dev/zero' %}\n",
            "templates/letter.html.j2": "<html>\n\n{% extends '/etc/passwd' %}\n",
        }
    )
    result = run("check", "-C", root)
    assert result.exit_code == 2
    assert "templates/_part.md.j2:2: error: this template includes '/dev/zero'" in result.stderr
    assert "templates/letter.html.j2:3: error: this template includes '/etc/passwd'" in (
        result.stderr
    )


@pytest.mark.slow
def test_a_template_over_a_limit_is_not_run_again_for_every_recipient(workspace, monkeypatch):
    monkeypatch.setenv("LETTERS_TIME_LIMIT", "1")
    loop = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    workspace_, errors = load_workspace(body(workspace, loop))
    assert not errors
    renderer = Renderer(workspace_)
    case_file = workspace_.cases["free-expression"]
    runs = []
    original = renderer._body
    monkeypatch.setattr(renderer, "_body", lambda *a: runs.append(1) or original(*a))
    failures = []
    for recipient in workspace_.recipients:
        with pytest.raises(LettersError) as caught:
            renderer.render(case_file, "appeal", recipient, "a4", TODAY)
        failures.append(caught.value)
    assert len(runs) == 1  # the second recipient's letter did not run the template
    assert [f.letter for f in failures] == [
        "free-expression/appeal/ada",
        "free-expression/appeal/hoa",
    ]
    assert all("took longer than the limit of 1 s" in f.message for f in failures)


@pytest.mark.slow
def test_the_layout_runs_under_time_and_memory_limits(workspace, run):
    loop = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    root = workspace(**{"templates/letter.html.j2": f"<html>\n{loop}\n</html>"})
    result = run("build", "--format", "html", "-C", root, env={"LETTERS_TIME_LIMIT": "1"})
    assert result.exit_code == 1
    assert "templates/letter.html.j2" in result.stderr
    assert "rendering the page layout took longer than the limit of 1 s" in result.stderr
    doubling = (
        "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}{{ ns.s | length }}"
    )
    root.joinpath("templates/letter.html.j2").write_text(f"<html>\n{doubling}\n</html>", "utf-8")
    result = run("build", "--format", "html", "-C", root, env={"LETTERS_MEMORY_LIMIT_MB": "64"})
    assert result.exit_code == 1
    assert "rendering the page layout needed more memory than the limit of 64 MB" in result.stderr


@pytest.mark.slow
def test_swapping_a_partial_for_a_link_while_previewing_never_leaks(workspace, secret, run):
    """The check-then-read race of item 10: a link swapped in after any check is refused."""
    import threading

    root = workspace(**{"templates/appeal.md.j2": "Hi\n\n{% include '_p.md.j2' %}\n\nBye,\n"})
    partial = root / "templates/_p.md.j2"
    partial.write_text("harmless", "utf-8")
    stop = threading.Event()

    def swap() -> None:
        spare = root / "templates/_spare"
        while not stop.is_set():
            spare.unlink(missing_ok=True)
            spare.symlink_to(secret)
            spare.replace(partial)  # now a link
            partial.unlink()
            partial.write_text("harmless", "utf-8")

    swapper = threading.Thread(target=swap)
    swapper.start()
    try:
        outputs = [
            run("preview", "free-expression", "--to", "ada", "--plain", "-C", root)
            for _ in range(60)
        ]
    finally:
        stop.set()
        swapper.join()
    assert all(SECRET not in o.stdout + o.stderr for o in outputs)


def test_no_network_connection_is_attempted_by_a_template(workspace, run):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.2)
        port = listener.getsockname()[1]
        root = body(workspace, f"{{% include 'http://127.0.0.1:{port}/x' %}}")
        result = run("build", "-C", root)
        assert result.exit_code == 2
        with pytest.raises(TimeoutError):
            listener.accept()
