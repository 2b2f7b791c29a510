"""Can the installed fonts draw every character of a letter? Found before anything is written.

The page names its faces in a fixed order (letter.css and fonts.css in letters/layout/assets):
the shipped Noto Serif for Latin, Greek, Cyrillic and Vietnamese, then the serif Noto faces of
the other scripts, installed from Debian packages, then Noto Sans Symbols as a last resort.
A character none of them has would come out of the PDF as an empty box (WeasyPrint only
warns), so it is an error here, at the file:line:column of the value it came from, naming
the character, its code point and the package that would draw it. This is a cmap lookup
with fontTools over the faces' files (found with `fc-list`, else under /usr/share/fonts),
one map of code points per file, read once per process and only when a letter needs it
(the shipped face's come from its width table, so a Latin letter needs no font file read):
no WeasyPrint, so `check` finds it too.

Invisible formatting characters (ZWJ, ZWNJ, LRM/RLM, the bidi isolates the page adds around
data values, variation selectors) are not drawn and are skipped.
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from letters.compose.address import font_code_points
from letters.compose.font_maps import code_ranges, in_runs
from letters.compose.letter import Letter
from letters.controls import describe_character
from letters.errors import LettersError, LettersErrors
from letters.workspace.located import Located, Path_

FONT_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/truetype/noto"))
CORE, CJK = "fonts-noto-core", "fonts-noto-cjk"
READ_LIMIT = 64 * 1024 * 1024  # bytes of a file searched for a character's column


@dataclass(frozen=True)
class Face:
    """One face of the page's font stacks: its family name, its regular file and package,
    and the Unicode blocks it is there for (to name the package a missing character needs)."""

    family: str
    file: str
    package: str
    blocks: tuple[tuple[int, int], ...] = ()


_CJK_BLOCKS = (
    (0x1100, 0x11FF),
    (0x2E80, 0x2FFF),
    (0x3000, 0x33FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xA960, 0xA97F),
    (0xAC00, 0xD7FF),
    (0xF900, 0xFAFF),
    (0xFE30, 0xFE4F),
    (0xFF00, 0xFFEF),
    (0x20000, 0x3134F),
)
# In the order of the stylesheet's default stack (fonts.css reorders them per language).
FACES: tuple[Face, ...] = (
    Face("Noto Serif CJK SC", "NotoSerifCJK-Regular.ttc", CJK, _CJK_BLOCKS),
    Face("Noto Serif CJK TC", "NotoSerifCJK-Regular.ttc", CJK),
    Face("Noto Serif CJK JP", "NotoSerifCJK-Regular.ttc", CJK),
    Face("Noto Serif CJK KR", "NotoSerifCJK-Regular.ttc", CJK),
    Face(
        "Noto Naskh Arabic",
        "NotoNaskhArabic-Regular.ttf",
        CORE,
        ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)),
    ),
    Face("Noto Serif Hebrew", "NotoSerifHebrew-Regular.ttf", CORE, ((0x0590, 0x05FF),)),
    Face("Noto Serif Thai", "NotoSerifThai-Regular.ttf", CORE, ((0x0E00, 0x0E7F),)),
    Face(
        "Noto Serif Myanmar",
        "NotoSerifMyanmar-Regular.ttf",
        CORE,
        ((0x1000, 0x109F), (0xA9E0, 0xA9FF), (0xAA60, 0xAA7F)),
    ),
    Face("Noto Serif Khmer", "NotoSerifKhmer-Regular.ttf", CORE, ((0x1780, 0x17FF),)),
    Face("Noto Serif Devanagari", "NotoSerifDevanagari-Regular.ttf", CORE, ((0x0900, 0x097F),)),
    Face("Noto Serif Tamil", "NotoSerifTamil-Regular.ttf", CORE, ((0x0B80, 0x0BFF),)),
    Face("Noto Serif Sinhala", "NotoSerifSinhala-Regular.ttf", CORE, ((0x0D80, 0x0DFF),)),
    Face(
        "Noto Serif Ethiopic",
        "NotoSerifEthiopic-Regular.ttf",
        CORE,
        ((0x1200, 0x139F), (0x2D80, 0x2DDF), (0xAB00, 0xAB2F)),
    ),
    Face(
        "Noto Serif Georgian",
        "NotoSerifGeorgian-Regular.ttf",
        CORE,
        ((0x10A0, 0x10FF), (0x1C90, 0x1CBF), (0x2D00, 0x2D2F)),
    ),
    Face("Noto Serif Armenian", "NotoSerifArmenian-Regular.ttf", CORE, ((0x0530, 0x058F),)),
    Face("Noto Sans Symbols", "NotoSansSymbols-Regular.ttf", CORE, ((0x2190, 0x2BFF),)),
    Face("Noto Sans Symbols2", "NotoSansSymbols2-Regular.ttf", CORE, ((0x1F000, 0x1FBFF),)),
)
_SELECTORS = ((0xFE00, 0xFE0F), (0xE0100, 0xE01EF), (0x180B, 0x180F))


def invisible(char: str) -> bool:
    """A formatting character nothing is drawn for (ZWJ, bidi marks, variation selectors)."""
    if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
        return True
    code = ord(char)
    return any(start <= code <= end for start, end in _SELECTORS)


@functools.cache
def _fontconfig() -> dict[str, tuple[Path, int]]:
    """Family name → (regular file, index in a collection), as fontconfig lists them."""
    found: dict[str, tuple[Path, int]] = {}
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return found
    try:
        listed = subprocess.run(
            [fc_list, ":style=Regular", "--format", "%{family}\t%{file}\t%{index}\n"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return found
    for line in listed.splitlines():
        families, _, rest = line.partition("\t")
        file, _, index = rest.partition("\t")
        for family in families.split(","):
            found.setdefault(family.strip(), (Path(file), int(index or 0)))
    return found


def face_file(face: Face) -> tuple[Path, int] | None:
    """Where `face` is installed, or None."""
    listed = _fontconfig().get(face.family)
    if listed is not None and listed[0].is_file():
        return listed
    for folder in FONT_DIRS:
        if (folder / face.file).is_file():
            return folder / face.file, 0
    return None


def _installed_faces() -> tuple[tuple[Face, tuple[Path, int]], ...]:
    return tuple((face, found) for face in FACES if (found := face_file(face)) is not None)


# The faces found, each with its file's modification time: answers hold for one version.
FontVersions = tuple[tuple[Face, tuple[Path, int], int], ...]
ANSWERS_KEPT = 1 << 16  # code points remembered per version of the faces


@functools.lru_cache(maxsize=4)
def _answers(versions: FontVersions) -> dict[int, bool]:
    """Whether the faces of `versions` draw a code point, for those asked so far in this
    process: a campaign in Korean asks the same few hundred for every letter."""
    return {}


def _drawn(code: int, versions: FontVersions) -> bool:
    """Whether one of the faces (each stack names every face) can draw `code`.

    The face made for the character's script is asked first; a file's map is read only
    when a character gets that far."""
    first = [(found, modified) for face, found, modified in versions if _in_blocks(face, code)]
    others = [(found, modified) for _, found, modified in versions]
    for (path, index), modified in dict.fromkeys([*first, *others]):
        if in_runs(code_ranges(path, index, modified), code):
            return True
    return False


def _in_blocks(face: Face, code: int) -> bool:
    return any(start <= code <= end for start, end in face.blocks)


def missing_characters(texts: Iterable[str]) -> list[str]:
    """The characters of `texts` no face draws, in order of first appearance."""
    latin = font_code_points()
    seen: dict[str, None] = {}
    for text in texts:
        for char in text:
            if ord(char) not in latin and char not in seen and not invisible(char):
                seen[char] = None
    if not seen:
        return []
    faces = _installed_faces()  # looked up only for a letter that needs them
    versions = tuple((face, found, found[0].stat().st_mtime_ns) for face, found in faces)
    answers = _answers(versions)
    if len(answers) > ANSWERS_KEPT:
        answers.clear()
    missing = []
    for char in seen:
        code = ord(char)
        drawn = answers.get(code)
        if drawn is None:
            drawn = answers[code] = _drawn(code, versions)
        if not drawn:
            missing.append(char)
    return missing


def package_hint(char: str) -> str:
    """What would draw `char`: the Debian package of the face its script needs."""
    code = ord(char)
    for face in FACES:
        if _in_blocks(face, code):
            if face_file(face) is None:
                return (
                    f"install the font package {face.package} (Debian/Ubuntu: "
                    f"apt-get install {face.package}; scripts/install.sh does it), "
                    "or remove the character"
                )
            break
    if unicodedata.category(char) == "Co":
        return (
            "this is a private-use character: it means something only to the font it was "
            "typed in, and no Debian font package draws it; delete it or type the intended "
            "character"
        )
    return (
        f"none of the letter's fonts ({CORE}, {CJK} and the shipped Noto Serif) draws it; "
        "replace it with a character they have"
    )


@dataclass(frozen=True)
class Sources:
    """Where a letter's text came from: YAML data (each with the path its part starts
    at) and template or language files."""

    data: tuple[tuple[Located, Path_], ...]
    files: tuple[Path, ...]


def letter_texts(letter: Letter) -> list[str]:
    """Every piece of text the page shows."""
    labels = letter.labels
    return [
        letter.subject,
        letter.date_text,
        letter.reference,
        letter.recipient_name,
        letter.body_markdown,
        letter.closing_markdown,
        labels.subject,
        labels.reference,
        labels.page,
        *letter.recipient_lines,
        *letter.window_lines,
        *letter.signature_lines,
        *letter.sender_lines,
    ]


# A letter with more characters no font draws than this is reported by its first few: a
# stranger's data could hold thousands, and each is looked for in the files.
MAX_REPORTED = 20


def check_letter(letter: Letter, sources: Sources) -> None:
    """Raise a `LettersError` (several at once in `LettersErrors`) for each character of
    `letter` no installed font can draw, at the place it was written (the first
    MAX_REPORTED of them; the last error says how many more there are)."""
    missing = missing_characters(letter_texts(letter))
    if not missing:
        return
    texts: dict[Path, str] = {}  # each campaign file read once for all the characters
    errors = [_error(char, sources, texts) for char in missing[:MAX_REPORTED]]
    if len(missing) > MAX_REPORTED:
        errors[-1].message += f" (and {len(missing) - MAX_REPORTED} more characters)"
    for error in errors:
        error.letter = "/".join(letter.key)
    raise errors[0] if len(errors) == 1 else LettersErrors(errors)


def _error(char: str, sources: Sources, texts: dict[Path, str]) -> LettersError:
    message = f"no installed font can draw {char!r} ({describe_character(char)})"
    for located, within in sources.data:
        found = _find_in_data(located, within, char, texts)
        if found is not None:
            line, column = found
            return LettersError(message, located.file, line, column, package_hint(char))
    for path in sources.files:
        found = _find_in_text(_text(path, texts), char, 1, 1)
        if found is not None:
            return LettersError(message, path, *found, hint=package_hint(char))
    return LettersError(message, hint=package_hint(char))


def _find_in_data(
    located: Located, within: Path_, char: str, texts: dict[Path, str]
) -> tuple[int, int] | None:
    """The line and column of `char` in the first value below `within` holding it."""
    path = located.find_text(lambda text: char in text, within)
    if path is None:
        return None
    line, column = located.line_of(path)
    return _find_in_text(_text(located.file, texts), char, line, column) or (line, column)


def _find_in_text(text: str, char: str, line: int, column: int) -> tuple[int, int] | None:
    """The first (line, column) of `char` in `text` at or after (line, column), 1-based."""
    lines = text.splitlines()
    for number in range(max(line, 1), len(lines) + 1):
        start = column - 1 if number == line else 0
        found = lines[number - 1].find(char, max(start, 0))
        if found >= 0:
            return number, found + 1
    return None


def _text(path: Path, texts: dict[Path, str]) -> str:
    if path not in texts:
        texts[path] = _read(path)
    return texts[path]


def _read(path: Path) -> str:
    """The text of a campaign file read before (only to find a column for an error: any
    problem just loses the column). Not through a link, a pipe or past READ_LIMIT."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return ""
    with os.fdopen(handle, "rb") as file:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            return ""
        return file.read(READ_LIMIT).decode("utf-8", errors="replace")
