"""One print file per case (and paper size): every letter, each starting on a new sheet.

The print file is written as a stream: each letter's PDF is opened (with pikepdf, which
parses PDFs robustly), its pages and everything they use are written out at once with new
object numbers, and the letter is closed before the next one is opened. Only the object
offsets and the page list stay in memory, so a campaign of thousands of letters prints in
the memory of one letter. (Copying pages between pikepdf documents would keep every copied
page in memory until the end.)
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import pikepdf

from letters.atomic import Writable

# Attributes a page may inherit from its page tree; a copied page must carry them itself.
INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")


def print_file_names(papers: list[str]) -> dict[str, str]:
    """print.pdf when a case uses one paper size, else print-a4.pdf and print-letter.pdf."""
    distinct = list(dict.fromkeys(papers))
    if len(distinct) == 1:
        return {distinct[0]: "print.pdf"}
    return {paper: f"print-{paper}.pdf" for paper in distinct}


def write_print_files(
    out: Writable, case_id: str, letters: list[tuple[str, Path]], duplex: bool
) -> list[str]:
    """Merge `letters` ((paper, pdf path) in print order) into print file(s) in the case's
    folder of `out`; returns the names written (print.pdf, or print-a4.pdf and so on)."""
    if not letters:
        return []
    names = print_file_names([paper for paper, _ in letters])
    for paper, name in names.items():
        merge_pdfs(out, [path for p, path in letters if p == paper], f"{case_id}/{name}", duplex)
    for stale in ("print.pdf", "print-a4.pdf", "print-letter.pdf"):
        if stale not in names.values():
            out.unlink(f"{case_id}/{stale}")
    return list(names.values())


def merge_pdfs(out: Writable, sources: list[Path], target: str, duplex: bool) -> None:
    """Concatenate PDFs into `target` atomically; with `duplex`, pad each to an even count.
    Every file is read and written inside `out` without following links."""
    with out.atomic_stream(target) as stream:
        writer = _StreamingWriter(stream)
        for source in sources:
            with out.open_binary(source) as letter:
                writer.add_document(letter, duplex)
        writer.finish()


class _StreamingWriter:
    CATALOG = 1
    PAGES = 2

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.offsets: dict[int, int] = {}
        self.pages: list[int] = []
        self.next_number = 3
        self.stream.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    def allocate(self) -> int:
        number = self.next_number
        self.next_number += 1
        return number

    def write_object(self, number: int, body: bytes, data: bytes | None = None) -> None:
        self.offsets[number] = self.stream.tell()
        self.stream.write(b"%d 0 obj\n" % number + body)
        if data is not None:
            self.stream.write(b"\nstream\n" + data + b"\nendstream")
        self.stream.write(b"\nendobj\n")

    def add_document(self, source: BinaryIO, duplex: bool) -> None:
        with pikepdf.Pdf.open(source) as pdf:
            numbers: dict[tuple[int, int], int] = {}
            pending: list[pikepdf.Object] = []

            def reference(obj: pikepdf.Object) -> int:
                key = obj.objgen
                if key not in numbers:
                    numbers[key] = self.allocate()
                    pending.append(obj)
                return numbers[key]

            page_objects = [page.obj for page in pdf.pages]
            page_keys = {page.objgen for page in page_objects}
            for page in page_objects:
                number = reference(page)
                self.pages.append(number)
            while pending:
                obj = pending.pop()
                number = numbers[obj.objgen]
                if obj.objgen in page_keys:
                    self.write_object(number, self._page_dictionary(obj, reference))
                elif isinstance(obj, pikepdf.Stream):
                    data = obj.read_raw_bytes()
                    entries: dict[str, Any] = dict(obj.stream_dict.items())
                    entries["/Length"] = len(data)
                    self.write_object(number, _dictionary(entries, reference), data)
                else:
                    self.write_object(number, _serialise(obj, reference, top=True))
            if duplex and len(page_objects) % 2:
                box = [float(value) for value in page_objects[-1].MediaBox]
                self.add_blank_page(box)

    def _page_dictionary(self, page: pikepdf.Object, reference: Any) -> bytes:
        entries: dict[str, Any] = {key: value for key, value in page.items() if key != "/Parent"}
        for key in INHERITED:
            if key not in entries:
                inherited = _inherited(page, key)
                if inherited is not None:
                    entries[key] = inherited
        entries["/Parent"] = _Reference(self.PAGES)
        return _dictionary(entries, reference)

    def add_blank_page(self, media_box: list[float]) -> None:
        number = self.allocate()
        box = " ".join(_number(value) for value in media_box).encode()
        body = b"<< /Type /Page /Parent %d 0 R /MediaBox [%s] /Resources << >> >>" % (
            self.PAGES,
            box,
        )
        self.write_object(number, body)
        self.pages.append(number)

    def finish(self) -> None:
        kids = b" ".join(b"%d 0 R" % number for number in self.pages)
        self.write_object(
            self.PAGES, b"<< /Type /Pages /Count %d /Kids [%s] >>" % (len(self.pages), kids)
        )
        self.write_object(self.CATALOG, b"<< /Type /Catalog /Pages %d 0 R >>" % self.PAGES)
        xref_offset = self.stream.tell()
        size = self.next_number
        lines = [b"xref\n0 %d\n" % size, b"0000000000 65535 f \n"]
        for number in range(1, size):
            offset = self.offsets.get(number)
            lines.append(
                b"%010d 00000 n \n" % offset if offset is not None else b"0000000000 00000 f \n"
            )
        self.stream.write(b"".join(lines))
        self.stream.write(
            b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (size, self.CATALOG, xref_offset)
        )


class _Reference:
    """A reference to an object of the output file (the page tree)."""

    def __init__(self, number: int) -> None:
        self.number = number


def _inherited(page: pikepdf.Object, key: str) -> pikepdf.Object | None:
    node = page.get("/Parent")
    seen = 0
    while node is not None and seen < 64:  # a page tree is shallow; a loop would be corrupt
        if key in node:
            return node[key]
        node = node.get("/Parent")
        seen += 1
    return None


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = format(Decimal(str(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _dictionary(entries: dict[str, Any], reference: Any) -> bytes:
    parts = [b"<<"]
    for key, value in entries.items():
        parts.append(pikepdf.Name(key).unparse())
        parts.append(_serialise(value, reference))
    parts.append(b">>")
    return b" ".join(parts)


def _serialise(value: Any, reference: Any, top: bool = False) -> bytes:
    """PDF syntax for a value, with indirect objects written as references to new numbers."""
    if isinstance(value, _Reference):
        return b"%d 0 R" % value.number
    if isinstance(value, pikepdf.Object) and value.is_indirect and not top:
        return b"%d 0 R" % reference(value)
    if value is None:
        return b"null"
    if isinstance(value, bool | int | float | Decimal):
        return _number(value).encode()
    if isinstance(value, pikepdf.Dictionary):
        return _dictionary(dict(value.items()), reference)
    if isinstance(value, pikepdf.Array):
        return b"[" + b" ".join(_serialise(item, reference) for item in _items(value)) + b"]"
    if isinstance(value, pikepdf.Object):
        # Names, strings and operators: qpdf writes their exact PDF syntax.
        return value.unparse()
    if isinstance(value, str):
        return pikepdf.String(value).unparse()
    raise TypeError(f"cannot write {type(value).__name__} into a PDF")


def _items(array: pikepdf.Array) -> Iterator[Any]:
    for index in range(len(array)):
        yield array[index]
