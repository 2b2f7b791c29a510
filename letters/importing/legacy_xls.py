"""Reading a binary workbook (.xls, .xlsb) in a child process: its sheets cannot be checked
before calamine reads them, so the child runs with an address-space limit and a deadline, and
sends the first sheet back as JSON text.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from letters.errors import LettersError
from letters.importing.sheet_limits import (
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_ROWS,
    MAX_TEXT_MB,
    MB,
    Used,
    cell_text,
    too_much_text,
    unreadable,
)

# Binary workbooks (.xls, .xlsb) cannot be checked before they are read: a child process reads
# them, with this much more address space than it starts with, and is killed after this long.
CHILD_MEMORY_MB = 1024
CHILD_SECONDS = 60.0

_CHILD_CODE = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from letters.importing.legacy_xls import child_main; child_main(int(sys.argv[2]))"
)


def read_in_child(source: Path, data: bytes) -> list[list[str]]:
    """The first sheet of a workbook that cannot be checked before it is read (.xls, .xlsb).

    calamine aborts the whole process when an allocation fails, so it runs in a child process
    with an address-space limit, killed after CHILD_SECONDS; the rows come back as JSON text.
    """
    package = str(Path(__file__).resolve().parents[2])
    command = [sys.executable, "-c", _CHILD_CODE, package, str(CHILD_MEMORY_MB)]
    try:
        done = subprocess.run(
            command, input=data, capture_output=True, timeout=CHILD_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        raise _too_hard(source, f"reading it took longer than {CHILD_SECONDS:g} s") from None
    except OSError as exc:
        raise LettersError(
            f"cannot start a process to read the spreadsheet: {exc}", source
        ) from None
    if done.returncode != 0:
        if b"MemoryError" in done.stderr or b"memory allocation of" in done.stderr:
            raise _too_hard(source, f"it needs more than {CHILD_MEMORY_MB:,} MB of memory")
        raise _too_hard(source, "the reader stopped on it")
    if len(done.stdout) > 2 * MAX_TEXT_MB * MB:
        raise too_much_text(source)
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and isinstance(answer.get("error"), str):
        raise unreadable(source, answer["error"])
    size = answer.get("size") if isinstance(answer, dict) else None
    if isinstance(size, list) and len(size) == 2 and all(isinstance(n, int) for n in size):
        Used(source).reach(*size)
    rows = answer.get("rows") if isinstance(answer, dict) else None
    if not isinstance(rows, list) or not all(
        isinstance(row, list) and all(isinstance(cell, str) for cell in row) for row in rows
    ):
        raise _too_hard(source, "the reader's answer was not understood")
    return rows


def _too_hard(source: Path, why: str) -> LettersError:
    return LettersError(
        f"the spreadsheet is too large or damaged to read ({why})",
        source,
        hint="open it in a spreadsheet program and save it as .xlsx or .csv, which letters "
        "checks before it reads them",
    )


def child_main(memory_mb: int) -> None:
    """In the child process: read the workbook on stdin, write its first sheet as JSON."""
    import resource

    from letters.limits import address_space_bytes

    resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
    current = address_space_bytes()
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    cap = current + memory_mb * MB
    if current and (hard == resource.RLIM_INFINITY or cap < hard):
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    data = sys.stdin.buffer.read()
    from python_calamine import CalamineError, CalamineWorkbook

    answer: dict[str, Any] = {"rows": []}
    try:
        with CalamineWorkbook.from_filelike(io.BytesIO(data)) as book:
            if book.sheet_names:
                sheet = book.get_sheet_by_index(0)
                rows, columns = (sheet.end[0] + 1, sheet.end[1] + 1) if sheet.end else (0, 0)
                if rows > MAX_ROWS or columns > MAX_COLUMNS or rows * columns > MAX_CELLS:
                    answer = {"size": [rows, columns]}
                else:
                    values = sheet.to_python(skip_empty_area=False)
                    answer = {"rows": [[cell_text(value) for value in row] for row in values]}
    except (CalamineError, OSError, ValueError) as exc:
        answer = {"error": str(exc)}
    sys.stdout.buffer.write(json.dumps(answer, ensure_ascii=False).encode("utf-8"))
