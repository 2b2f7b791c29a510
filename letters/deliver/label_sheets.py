"""Label sheets as data: the geometry of each sheet, read from a small TOML file.

The package ships the common sheets in `sheets/` beside this module (Avery L7163, L7160,
L7651, 5160, 5163); a campaign may add its own, or replace one, as `sheets/<name>.toml` in its
folder. A campaign's file may come from a stranger, so it is read like a language file:
without following links (`Confined`), at most 64 KB, checked against a schema (every key
known, every number in range, the labels inside the sheet and not overlapping), and every
problem is a `LettersError` naming the file and the line of the key.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from letters.controls import describe_character, forbidden_character
from letters.errors import LettersError
from letters.fileio import COPY_IN_HINT, Confined, decode_utf8, read_text
from letters.workspace.language import key_lines
from letters.workspace.tomlio import parse_toml

SHEETS_DIR = Path(__file__).parent / "sheets"
WORKSPACE_DIR = "sheets"  # a campaign's own sheets: sheets/<name>.toml
FILE_LIMIT = 64 * 1024
MM_PER_UNIT = {"mm": 1.0, "in": 25.4}
SMALLEST_FONT_PT = 8.0  # DIN 5008's smallest size for an address; below it, an error
TOLERANCE = 0.05  # in the sheet's unit: rounding in the makers' own figures
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
COPY_HINT = "copy one of letters/deliver/sheets/*.toml and change its numbers"


class SheetFile(BaseModel):
    """The schema of a sheet file. Lengths are in `unit`; `top` and `left` are the distances
    from the sheet's top and left edges to the first label, `pitch_x` and `pitch_y` from one
    label's left (top) edge to the next one's; `padding_x` and `padding_y` keep the text that
    far inside each label's edges."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    name: str = Field(max_length=80)
    description: str = Field(default="", max_length=200)
    unit: Literal["mm", "in"]
    page_width: float = Field(gt=0, le=1000)
    page_height: float = Field(gt=0, le=1000)
    columns: int = Field(ge=1, le=50)
    rows: int = Field(ge=1, le=100)
    label_width: float = Field(gt=0)
    label_height: float = Field(gt=0)
    top: float = Field(ge=0)
    left: float = Field(ge=0)
    pitch_x: float = Field(gt=0)
    pitch_y: float = Field(gt=0)
    padding_x: float = Field(ge=0)
    padding_y: float = Field(ge=0)
    max_font_size: float = Field(default=11, ge=SMALLEST_FONT_PT, le=24)
    contents: Literal["recipient", "sender"] = "recipient"

    @field_validator("name", "description")
    @classmethod
    def _plain_line(cls, value: str) -> str:
        found = forbidden_character(value)
        if found is not None:
            raise ValueError(f"this value contains {describe_character(found[1])}")
        if "\n" in value:
            raise ValueError("this value spans several lines; write it on one line")
        return value


def geometry_problem(sheet: SheetFile) -> tuple[str, str] | None:
    """(key to blame, message) if the labels overlap, leave the sheet or hold no text."""
    unit = sheet.unit
    if sheet.columns > 1 and sheet.pitch_x + TOLERANCE < sheet.label_width:
        return "pitch_x", "pitch_x is smaller than label_width: the labels would overlap"
    if sheet.rows > 1 and sheet.pitch_y + TOLERANCE < sheet.label_height:
        return "pitch_y", "pitch_y is smaller than label_height: the labels would overlap"
    right = sheet.left + (sheet.columns - 1) * sheet.pitch_x + sheet.label_width
    if right > sheet.page_width + TOLERANCE:
        return "columns", (
            f"the last column ends {right:g} {unit} from the left edge, beyond page_width "
            f"({sheet.page_width:g} {unit})"
        )
    bottom = sheet.top + (sheet.rows - 1) * sheet.pitch_y + sheet.label_height
    if bottom > sheet.page_height + TOLERANCE:
        return "rows", (
            f"the last row ends {bottom:g} {unit} from the top edge, beyond page_height "
            f"({sheet.page_height:g} {unit})"
        )
    if 2 * sheet.padding_x >= sheet.label_width:
        return "padding_x", "padding_x leaves no room for text inside a label"
    if 2 * sheet.padding_y >= sheet.label_height:
        return "padding_y", "padding_y leaves no room for text inside a label"
    return None


@dataclass(frozen=True)
class LabelSheet:
    """A sheet's geometry in millimetres, ready to lay out."""

    id: str  # the name given to --sheet: l7163
    name: str  # what the maker calls it: Avery L7163
    description: str
    page_width: float
    page_height: float
    columns: int
    rows: int
    label_width: float
    label_height: float
    top: float
    left: float
    pitch_x: float
    pitch_y: float
    padding_x: float
    padding_y: float
    max_font_size: float
    contents: str  # "recipient" (address labels) or "sender" (return-address labels)
    path: Path
    sha256: str  # of the file's bytes: an input of the labels made with it

    @property
    def per_sheet(self) -> int:
        return self.columns * self.rows

    def position(self, cell: int) -> tuple[float, float]:
        """The (left, top) of label `cell` (0-based, row by row) from the sheet's corner, mm."""
        row, column = divmod(cell, self.columns)
        return self.left + column * self.pitch_x, self.top + row * self.pitch_y


def available_sheets(root: Path | None = None) -> list[str]:
    names = {path.stem for path in SHEETS_DIR.glob("*.toml")}
    if root is not None:
        folder = Confined(root)
        if folder.kind(WORKSPACE_DIR) == "folder":
            names.update(
                name.removesuffix(".toml")
                for name in folder.listdir(WORKSPACE_DIR)
                if name.endswith(".toml") and _NAME.match(name.removesuffix(".toml"))
            )
    return sorted(names)


def label_sheet(name: str, root: Path | None = None) -> LabelSheet:
    """The sheet called `name` (`--sheet`): the campaign's own file first, then the package's."""
    wanted = name.strip().lower()
    if not _NAME.match(wanted):
        raise LettersError(
            f"--sheet {name!r} is not a sheet name",
            hint="a sheet name is lowercase letters, digits and hyphens, e.g. l7163 or 5160",
        )
    relative = f"{WORKSPACE_DIR}/{wanted}.toml"
    if root is not None:
        folder = Confined(root)
        for part in (WORKSPACE_DIR, relative):
            if folder.kind(part) == "link":
                raise LettersError(
                    f"{part} is a link; letters does not follow it",
                    folder.path(part),
                    hint=COPY_IN_HINT,
                )
        if folder.kind(relative) != "missing":
            return _parse(wanted, folder.path(relative), folder.read_bytes(relative, FILE_LIMIT))
    shipped = SHEETS_DIR / f"{wanted}.toml"
    if shipped.is_file():
        return _parse(wanted, shipped, read_text(shipped).encode("utf-8"))
    known = available_sheets(root)
    close = difflib.get_close_matches(wanted, known, n=1, cutoff=0.6)
    guess = f"did you mean {close[0]!r}? " if close else ""
    raise LettersError(
        f"no label sheet called {name!r}",
        hint=f"{guess}the sheets are: {', '.join(known)}; "
        f"add your own as {WORKSPACE_DIR}/{wanted}.toml ({COPY_HINT})",
    )


def _parse(name: str, path: Path, data: bytes) -> LabelSheet:
    text = decode_utf8(data, path)
    raw = parse_toml(
        text, path, "sheet file", 'write each line as key = number, or key = "text"; ' + COPY_HINT
    )
    try:
        sheet = SheetFile.model_validate(raw)
    except ValidationError as exc:
        raise _schema_error(exc, path, text) from None
    problem = geometry_problem(sheet)
    if problem is not None:
        key, message = problem
        raise LettersError(message, path, key_lines(text).get(key, 1), hint=COPY_HINT)
    scale = MM_PER_UNIT[sheet.unit]
    return LabelSheet(
        id=name,
        name=sheet.name,
        description=sheet.description,
        page_width=sheet.page_width * scale,
        page_height=sheet.page_height * scale,
        columns=sheet.columns,
        rows=sheet.rows,
        label_width=sheet.label_width * scale,
        label_height=sheet.label_height * scale,
        top=sheet.top * scale,
        left=sheet.left * scale,
        pitch_x=sheet.pitch_x * scale,
        pitch_y=sheet.pitch_y * scale,
        padding_x=sheet.padding_x * scale,
        padding_y=sheet.padding_y * scale,
        max_font_size=sheet.max_font_size,
        contents=sheet.contents,
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _schema_error(exc: ValidationError, path: Path, text: str) -> LettersError:
    """The first problem of a sheet file, at the line of its key."""
    lines = key_lines(text)
    known = list(SheetFile.model_fields)
    problems: list[LettersError] = []
    for error in exc.errors(include_url=False):
        key = str(error["loc"][0])[:40] if error["loc"] else ""
        line = lines.get(key, 1)
        if error["type"] == "missing":
            problems.append(LettersError(f"sheet file has no {key!r}", path, 1, hint=COPY_HINT))
        elif error["type"] == "extra_forbidden":
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            guess = f"did you mean {close[0]!r}? " if close else ""
            problems.append(
                LettersError(
                    f"unknown key {key!r} in a sheet file",
                    path,
                    line,
                    hint=f"{guess}the keys are: {', '.join(known)}",
                )
            )
        else:
            cause = error.get("ctx", {}).get("error")
            message = str(cause) if cause is not None else error["msg"]
            problems.append(
                LettersError(f"{key!r}: {message}" if key else message, path, line, hint=COPY_HINT)
            )
    problems.sort(key=lambda problem: (problem.line == 1, problem.line))
    first = problems[0]
    if len(problems) > 1:
        others = len(problems) - 1
        first.message += f" (and {others} more problem{'s' if others > 1 else ''} in this file)"
    return first
