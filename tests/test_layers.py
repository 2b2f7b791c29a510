"""Data flows one way through the package: no module imports a stage that comes after it.

The layers, from the bottom: the shared base (errors, files, limits), then the pipeline's
stages in the order a letter goes through them, then the commands and the CLI. A module may
import its own folder and anything below it, never above; the two branches at the output
level (building letters, importing recipients) do not import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "letters"

LAYERS: dict[str, int] = {
    "errors": 0,
    "controls": 0,
    "fileio": 0,
    "atomic": 0,
    "limits": 0,
    "trust": 0,
    "dates": 0,
    "sample": 0,
    "workspace": 1,
    "compose": 2,
    "layout": 3,
    "output": 4,
    "importing": 4,
    "deliver": 5,
    "commands": 6,
    "cli": 8,
    "cli_app": 7,
    "cli_print": 7,
    "cli_mail": 7,
    "cli_build": 7,
    "cli_import": 7,
    "display": 7,
    "__main__": 8,
    "__init__": 0,
}
# Stages on the same level that must not know each other.
APART = {frozenset({"output", "importing"})}


def stage(module: str) -> str:
    """`letters.output.build` → "output"; `letters` → "__init__"."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1] if len(parts) > 2 else [*parts[:-1], "__init__"]
    return ".".join(parts)


def imports_of(path: Path, module: str) -> list[tuple[int, str]]:
    """Every `letters` module the file of `module` imports, at module level or inside a
    function (lazy imports count too)."""
    tree = ast.parse(path.read_text("utf-8"))
    package = (
        module.removesuffix(".__init__")
        if path.name == "__init__.py"
        else (module.rsplit(".", 1)[0])
    )
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("letters")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target == "letters":
                found += [(node.lineno, f"letters.{a.name}") for a in node.names]
            elif target.startswith("letters."):
                found.append((node.lineno, target))
    return found


def test_every_module_belongs_to_a_documented_layer():
    unknown = sorted({stage(module_name(p)) for p in PACKAGE.rglob("*.py")} - set(LAYERS))
    assert unknown == [], f"add these to LAYERS (and the README's package map): {unknown}"


def test_no_import_reaches_back_up():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = stage(module_name(path))
        for line, target in imports_of(path, module_name(path)):
            other = stage(target)
            if other not in LAYERS or other == own:
                continue
            if LAYERS[other] > LAYERS[own] or frozenset({own, other}) in APART:
                problems.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert problems == []


def test_the_layer_check_catches_an_upward_import(tmp_path):
    """The check itself can fail: a workspace module importing the output stage."""
    sample = tmp_path / "letters" / "workspace" / "x.py"
    sample.parent.mkdir(parents=True)
    sample.write_text("from letters.output.build import build\n", "utf-8")
    assert imports_of(sample, "letters.workspace.x") == [(1, "letters.output.build")]
    assert LAYERS[stage("letters.output.build")] > LAYERS["workspace"]
