"""A workbook's zip file and the XML parts in it, read with limits: its members found as
calamine finds them, each unzipped a chunk at a time and streamed through expat.

calamine cannot tell a sheet's size before it has built it, so the parts it would read are
scanned first, streaming, with expat (xlsx_scan, ods_scan). calamine then reads a new zip file
made of exactly the bytes that were scanned: which part is the first sheet, and what the zip
file holds, are decided once, there. XML is read with names as written ("x:c"), as calamine
matches them; a DOCTYPE is refused (spreadsheets have none, and entities could multiply text),
and so is any XML that expat finds malformed, so both readers see the same elements.
"""

from __future__ import annotations

import io
import re
import string
import zipfile
import zlib
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any
from xml.parsers import expat

from letters.errors import LettersError
from letters.importing.sheet_limits import CHUNK, MB, unreadable

MAX_PART_MB = 200  # one part of a workbook (the sheet's XML) once unzipped

_MAX_ZIP_MEMBERS = 10_000
_ZIP_ENTRY = b"PK\x01\x02"  # the signature of an entry of the zip file's directory
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
REF = re.compile(r"([A-Za-z]*)([0-9]+)")
NUMBER = re.compile(r"[0-9]{1,15}")
# What zipfile raises for a damaged member (RuntimeError: encrypted; NotImplementedError: an
# unknown compression method).
_UNZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    OSError,
)


def local_name(name: str) -> str:
    return name.rpartition(":")[2]


def cell_ref(text: str, source: Path, column: bool = True) -> tuple[int, int]:
    """`B7` → (7, 2), 1-based, as calamine reads a reference; `7` too when not `column`."""
    match = REF.fullmatch(text)
    if not match or (column and not match.group(1)):
        raise unreadable(source, f"{text[:20]!r} is not a cell reference")
    letters, digits = match.groups()
    row = int(digits) if len(digits) <= 15 else 10**15
    if row == 0:
        raise unreadable(source, f"{text[:20]!r} is not a cell reference")
    if len(letters) > 12:
        return row, 10**17
    number = 0
    for char in letters.upper():
        number = number * 26 + ord(char) - ord("A") + 1
    return row, number


def repeat_count(text: str, source: Path, least: int = 1) -> int:
    if not NUMBER.fullmatch(text) or int(text) < least:
        raise unreadable(source, f"{text[:20]!r} is not a repeat count")
    return int(text)


class Zip:
    """A workbook's zip file, its members found as calamine finds them (ignoring ASCII case)."""

    def __init__(self, source: Path, data: bytes) -> None:
        self.source = source
        if data.count(_ZIP_ENTRY) > _MAX_ZIP_MEMBERS:
            raise unreadable(source, f"the zip file holds more than {_MAX_ZIP_MEMBERS:,} parts")
        try:
            self.archive = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
            raise unreadable(source, f"the zip file is damaged ({exc})") from None
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in self.archive.infolist():
            key = info.filename.translate(_ASCII_LOWER)
            if key in self.members:  # readers disagree on which of the two they read
                raise unreadable(source, f"the zip file holds {info.filename!r} twice")
            self.members[key] = info

    def find(self, name: str) -> zipfile.ZipInfo | None:
        return self.members.get(name.translate(_ASCII_LOWER))

    def chunks(self, info: zipfile.ZipInfo) -> Generator[bytes, None, None]:
        """The member unzipped a chunk at a time, never more than its declared size."""
        if info.file_size > MAX_PART_MB * MB:
            raise LettersError(
                f"a part of the workbook ({info.filename}) is more than {MAX_PART_MB} MB once "
                "unzipped, more than letters reads",
                self.source,
                hint="delete the data and sheets you do not need, or save the sheet as .csv",
            )
        try:
            with self.archive.open(info) as stream:
                while chunk := stream.read(CHUNK):
                    yield chunk
        except _UNZIP_ERRORS as exc:
            raise unreadable(self.source, f"{info.filename} cannot be unzipped ({exc})") from None

    def parse(
        self,
        info: zipfile.ZipInfo,
        start: Callable[[str, dict[str, str]], None],
        end: Callable[[str], None] | None = None,
        text: Callable[[str], None] | None = None,
        copy: Callable[[bytes], Any] | None = None,
    ) -> None:
        """Stream the XML member through expat's handlers (and `copy`, once parsed)."""
        parser = expat.ParserCreate("utf-8")
        parser.buffer_text = True
        parser.StartElementHandler = start
        if end is not None:
            parser.EndElementHandler = end
        if text is not None:
            parser.CharacterDataHandler = text

        def doctype(*_: object) -> None:
            raise unreadable(self.source, f"{info.filename} declares a DOCTYPE")

        parser.StartDoctypeDeclHandler = doctype
        try:
            for chunk in self.chunks(info):
                parser.Parse(chunk, False)
                if copy is not None:
                    copy(chunk)
            parser.Parse(b"", True)
        except expat.ExpatError as exc:
            raise unreadable(
                self.source, f"{info.filename} is not well-formed XML ({exc})"
            ) from None
