"""The sample campaign that `letters init` copies (shipped inside the package)."""

from __future__ import annotations

import shutil
from pathlib import Path

from letters.errors import LettersError

SAMPLE_PARTS = ("recipients.yaml", "cases", "templates")


def sample_dir() -> Path:
    """The installed copy (letters/sample/), or the repository root in a source checkout."""
    packaged = Path(__file__).parent / "sample"
    if (packaged / "recipients.yaml").is_file():
        return packaged
    return Path(__file__).resolve().parent.parent


def copy_sample(folder: str | Path, force: bool = False) -> list[Path]:
    """Copy the sample campaign into `folder` (created if needed); the files written."""
    if not str(folder).strip():
        raise LettersError("no folder given", hint="name a folder: letters init my-campaign")
    target = Path(folder)
    source = sample_dir()
    if target.exists() and not target.is_dir():
        raise LettersError("this is a file, not a folder", target, hint="choose a new folder name")
    existing = [target / part for part in SAMPLE_PARTS if (target / part).exists()]
    if existing and not force:
        raise LettersError(
            f"{existing[0].name} already exists here",
            existing[0],
            hint="choose an empty folder, or pass --force to overwrite the sample files",
        )
    written: list[Path] = []
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LettersError(
            f"cannot create the folder: {exc.strerror}", target, hint="choose another place"
        ) from None
    for part in SAMPLE_PARTS:
        origin = source / part
        if origin.is_dir():
            for path in sorted(origin.rglob("*")):
                if path.is_file() and not path.name.startswith("."):
                    destination = target / part / path.relative_to(origin)
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, destination)
                    written.append(destination)
        else:
            shutil.copyfile(origin, target / part)
            written.append(target / part)
    ignore = target / ".gitignore"
    if not ignore.exists():
        # Built letters are outputs: keep them out of the campaign's history.
        ignore.write_text("out/\n", encoding="utf-8")
        written.append(ignore)
    return written
