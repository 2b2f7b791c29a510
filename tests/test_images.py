"""Image sizes read from headers alone, the pixel budget, and how the PDF fetcher applies both."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import pytest

from letters.errors import LettersError
from letters.layout.pdf import ContentLostError, PdfRenderer
from letters.workspace.images import MAX_PIXELS, ImageTooLargeError, check_image, image_size
from tests.conftest import CASE
from tests.pdf_helpers import embedded_images, make_letter, render

# Each test lays out PDFs: the quick loop (`pytest -m "not slow"`) leaves them to the
# full run.
pytestmark = pytest.mark.slow

# -- hand-made images --------------------------------------------------------------------


def png(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height, with a tiny IDAT: never decoded here."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00"))
        + chunk(b"IEND", b"")
    )


def jpeg(width: int, height: int, sof: int = 0xC0) -> bytes:
    """SOI, an APP0, a DHT (C4: in the SOF range, but no frame), fill bytes, then the frame."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    dht = b"\xff\xc4" + struct.pack(">H", 6) + b"\x00\x01\x02\x03"
    frame = bytes([0xFF, 0xFF, 0xFF, sof]) + struct.pack(">HBHHB", 11, 8, height, width, 1)
    return b"\xff\xd8" + app0 + dht + frame + b"\x01\x11\x00" + b"\xff\xda\x00\x02\xff\xd9"


def gif(screen: tuple[int, int], frame: tuple[int, int, int, int]) -> bytes:
    """A GIF with a global colour table, an extension block and one frame (left, top, w, h)."""
    data = b"GIF89a" + struct.pack("<HHBBB", *screen, 0x80, 0, 0) + b"\x00" * 6
    data += b"\x21\xf9\x04\x00\x00\x00\x00\x00"  # graphic control extension
    data += b"\x2c" + struct.pack("<HHHHB", *frame, 0) + b"\x02\x02\x44\x01\x00"
    return data + b"\x3b"


def riff(chunk: bytes, body: bytes) -> bytes:
    payload = b"WEBP" + chunk + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", len(payload)) + payload


def webp_vp8x(width: int, height: int) -> bytes:
    canvas = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return riff(b"VP8X", b"\x10\x00\x00\x00" + canvas)


def webp_vp8l(width: int, height: int) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    return riff(b"VP8L", b"\x2f" + bits.to_bytes(4, "little") + b"\x00" * 8)


def webp_vp8(width: int, height: int) -> bytes:
    return riff(b"VP8 ", b"\x00\x00\x00\x9d\x01\x2a" + struct.pack("<HH", width, height) + b"\0")


def bmp(width: int, height: int, core: bool = False) -> bytes:
    if core:  # OS/2 header: 16-bit sizes
        dib = struct.pack("<IHHHH", 12, width, height, 1, 24)
    else:
        dib = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 0, 0, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(dib), 0, 0, 14 + len(dib)) + dib


def tiff(width: int, height: int, order: str = "<") -> bytes:
    magic = b"II*\x00" if order == "<" else b"MM\x00*"
    entries = struct.pack(order + "HHII", 256, 4, 1, width)
    entries += struct.pack(order + "HHIHH", 257, 3, 1, height, 0)
    return magic + struct.pack(order + "IH", 8, 2) + entries + b"\x00\x00\x00\x00"


# -- header parsing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "size"),
    [
        (png(13000, 13000), (13000, 13000)),
        (png(1, 2), (1, 2)),
        (jpeg(640, 480), (640, 480)),
        (jpeg(300, 200, sof=0xC2), (300, 200)),  # progressive
        (jpeg(300, 200, sof=0xCF), (300, 200)),  # lossless arithmetic: the last SOF
        (gif((10, 20), (0, 0, 10, 20)), (10, 20)),
        (gif((10, 20), (5, 8, 9000, 7000)), (9005, 7008)),  # a frame beyond the screen
        (webp_vp8x(16000, 9000), (16000, 9000)),
        (webp_vp8l(16384, 3), (16384, 3)),
        (webp_vp8(1234, 567), (1234, 567)),
        (bmp(7000, 6000), (7000, 6000)),
        (bmp(7000, -6000), (7000, 6000)),  # top-down rows
        (bmp(300, 200, core=True), (300, 200)),
        (tiff(9000, 8000), (9000, 8000)),
        (tiff(9000, 8000, ">"), (9000, 8000)),
    ],
    ids=lambda value: value if isinstance(value, tuple) else None,
)
def test_image_size_reads_the_header(data: bytes, size: tuple[int, int]):
    assert image_size(data) == size


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"body { color: red }",
        b'<svg xmlns="http://www.w3.org/2000/svg" width="99999" height="99999"/>',
        png(100, 100)[:20],  # cut inside IHDR
        b"\xff\xd8\xff\xc4\x00\x04\x00\x00\xff\xda\x00\x02",  # scan data before any frame
        b"\xff\xd8\xff\xe0\x00\x10JFIF",  # cut short
        b"\xff\xd8junk",
        jpeg(0, 100),
        png(0, 10),
        b"GIF89a\x01",
        riff(b"VP8 ", b"\x00\x00\x00\x00\x00\x00\x10\x00\x10\x00"),  # no start code
        riff(b"VP8L", b"\x00" * 12),  # no signature byte
        riff(b"ALPH", b"\x00" * 12),
        b"BM" + b"\x00" * 12 + struct.pack("<I", 8) + b"\x00" * 8,  # unknown header size
        b"II*\x00" + struct.pack("<IH", 8, 0) + b"\x00" * 4,  # no size tags
        b"II*\x00" + struct.pack("<I", 1 << 30),  # IFD past the end
    ],
)
def test_image_size_is_none_for_what_it_cannot_read(data: bytes):
    assert image_size(data) is None


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("PNG", {}),
        ("JPEG", {}),
        ("JPEG", {"progressive": True}),
        ("GIF", {}),
        ("BMP", {}),
        ("WEBP", {"lossless": True}),
        ("WEBP", {"quality": 50}),
        ("TIFF", {}),
    ],
)
def test_image_size_agrees_with_pillow(kind: str, options: dict[str, object]):
    from PIL import Image

    stream = io.BytesIO()
    Image.new("RGB", (37, 23), (200, 30, 30)).save(stream, kind, **options)
    assert image_size(stream.getvalue()) == (37, 23)


def test_an_animated_webp_and_gif_report_their_canvas():
    from PIL import Image

    frames = [Image.new("RGB", (41, 17), colour) for colour in ("red", "blue")]
    for kind in ("GIF", "WEBP"):
        stream = io.BytesIO()
        frames[0].save(stream, kind, save_all=True, append_images=frames[1:], duration=100)
        assert image_size(stream.getvalue()) == (41, 17), kind


# -- the budget --------------------------------------------------------------------------


def test_an_image_over_the_budget_is_refused_with_its_size_and_a_hint():
    with pytest.raises(ImageTooLargeError) as caught:
        check_image(png(13000, 13000), Path("/ws/images/image.png"))
    error = caught.value
    assert error.message == (
        "image.png is 13000 × 13000 pixels (169 megapixels); "
        "letters accepts images up to 40 megapixels"
    )
    assert error.file == Path("/ws/images/image.png")
    assert "2000 pixels across" in error.hint
    assert isinstance(error, LettersError)


def test_the_budget_is_inclusive_and_shows_a_decimal_near_it():
    check_image(png(8000, 5000), "exact.png")  # 40,000,000 pixels: accepted
    check_image(jpeg(2000, 1500), "photo.jpg")
    with pytest.raises(ImageTooLargeError, match=r"\(40\.0 megapixels\)"):
        check_image(png(8001, 5000), "just-over.png")
    assert MAX_PIXELS == 8000 * 5000


@pytest.mark.parametrize(
    "data", [png(20000, 20000), gif((10, 10), (0, 0, 9000, 9000)), webp_vp8x(16384, 16384)]
)
def test_the_name_does_not_hide_a_large_image(data: bytes):
    """WeasyPrint gives Pillow whatever a URL serves, so the contents decide, not the name."""
    for name in ("logo.css", "logo.svg", "logo", "logo.jpg"):
        with pytest.raises(ImageTooLargeError):
            check_image(data, name)


def test_a_large_image_in_a_format_we_do_not_parse_is_refused_through_pillow():
    with pytest.raises(ImageTooLargeError, match="9000 × 9000"):
        check_image(b"P6\n9000 9000\n255\n" + b"\x00" * 30, "logo.ppm")
    with pytest.raises(ImageTooLargeError, match="far more than 40 megapixels"):
        check_image(b"P6\n60000 60000\n255\n" + b"\x00" * 30, "bomb.ppm")
    check_image(b"P6\n30 30\n255\n" + b"\x00" * 2700, "small.ppm")


@pytest.mark.parametrize("name", ["logo.png", "logo.JPG", "logo.jpeg", "a.gif", "a.webp", "a.bmp"])
def test_a_raster_name_with_data_we_cannot_read_is_refused(name: str):
    with pytest.raises(LettersError, match="is not a PNG, JPEG, GIF, WebP or BMP image") as caught:
        check_image(b"this is not an image at all", name)
    assert not isinstance(caught.value, ImageTooLargeError)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg" width="99999" height="99999"/>', "a.svg"),
        (b"body { color: red }", "letter.css"),
        (b"wOF2\x00\x01\x00\x00" + b"\x00" * 40, "font.woff2"),
        (b"\x00\x01\x00\x00\x00\x0f" + b"\x00" * 40, "font.ttf"),
        (b"", "empty.txt"),
    ],
)
def test_what_is_no_raster_image_passes(data: bytes, name: str):
    check_image(data, name)


# -- in the fetcher ----------------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


def test_a_letter_using_a_huge_image_fails_naming_it(workspace: Path):
    (workspace / "images").mkdir()
    (workspace / "images/chart.png").write_bytes(png(13000, 13000))
    letter = make_letter(body_markdown="Dear Minister,\n\n![chart](images/chart.png)")
    with pytest.raises(LettersError) as caught:
        render(PdfRenderer(workspace), letter)
    assert "chart.png is 13000 × 13000 pixels" in caught.value.message
    assert caught.value.file == workspace.resolve() / "images/chart.png"


@pytest.mark.slow
def test_a_huge_image_in_a_data_url_or_a_stylesheet_fails_the_letter(workspace: Path):
    import base64

    inline = base64.b64encode(png(13000, 13000)).decode()
    letter = make_letter(body_markdown=f"Dear Minister,\n\n![x](data:image/png;base64,{inline})")
    with pytest.raises(LettersError, match="the image in a data: URL is 13000 × 13000"):
        render(PdfRenderer(workspace), letter)

    (workspace / "templates").mkdir()
    (workspace / "back.png").write_bytes(png(9000, 9000))
    (workspace / "templates/letter.css").write_text("body { background: url(../back.png) }")
    with pytest.raises(LettersError, match=r"back\.png is 9000 × 9000"):
        render(PdfRenderer(workspace), make_letter())


def test_a_renderer_carries_on_after_a_letter_with_a_huge_image(workspace: Path):
    from tests.pdf_helpers import write_png

    (workspace / "big.png").write_bytes(png(13000, 13000))
    write_png(workspace / "small.png")
    renderer = PdfRenderer(workspace)
    with pytest.raises(LettersError):
        render(renderer, make_letter(body_markdown="![a](big.png)"))
    output = render(renderer, make_letter(body_markdown="![a](small.png)"))
    assert embedded_images(output) == 1
    assert output.warnings == []


def test_a_damaged_png_fails_the_letter(workspace: Path):
    (workspace / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ContentLostError) as caught:
        render(PdfRenderer(workspace), make_letter(body_markdown="![a](broken.png)"))
    assert any(
        "refused to fetch" in lost and "broken.png is not a PNG" in lost
        for lost in caught.value.lost
    )


def test_links_in_the_workspace_are_not_followed(workspace: Path, tmp_path: Path):
    from tests.pdf_helpers import write_png

    (workspace / "images").mkdir()
    write_png(workspace / "images/real.png")
    (workspace / "images/alias.png").symlink_to("real.png")  # even one that stays inside
    (workspace / "linked").symlink_to("images")
    body = "![a](images/alias.png) ![b](linked/real.png) ![c](images/real.png)"
    with pytest.raises(ContentLostError) as caught:
        render(PdfRenderer(workspace), make_letter(body_markdown=body))
    refused = "\n".join(caught.value.lost)
    assert "images/alias.png is or passes through a link" in refused
    assert "linked/real.png is or passes through a link" in refused
    output = render(PdfRenderer(workspace), make_letter(body_markdown="![c](images/real.png)"))
    assert embedded_images(output) == 1
    assert output.resources == [workspace.resolve() / "images/real.png"]


def test_a_linked_stylesheet_is_refused_and_not_read(workspace: Path, tmp_path: Path):
    (workspace / "templates").mkdir()
    (tmp_path / "elsewhere.css").write_text("@page { size: A5 }")
    (workspace / "templates/real.css").write_text("@page { size: A5 }")
    (workspace / "templates/letter.css").symlink_to("real.css")
    letter = make_letter()
    html = (
        "<!DOCTYPE html><html><head>"
        f'<link rel="stylesheet" href="{(workspace / "templates/letter.css").as_uri()}">'
        '<link rel="stylesheet" href="templates/real.css">'
        "</head><body>Hello</body></html>"
    )
    with pytest.raises(ContentLostError) as caught:
        PdfRenderer(workspace).render(html, letter)
    assert any("templates/letter.css is or passes through a link" in w for w in caught.value.lost)
    output = PdfRenderer(workspace).render(html.replace("letter.css", "real.css"), letter)
    assert workspace.resolve() / "templates/real.css" in output.resources


def test_a_fifo_is_refused_without_waiting(workspace: Path):
    os.mkfifo(workspace / "pipe.png")
    with pytest.raises(ContentLostError) as caught:
        render(PdfRenderer(workspace), make_letter(body_markdown="![a](pipe.png)"))
    assert any("pipe.png is not a regular file" in lost for lost in caught.value.lost)


# -- end to end --------------------------------------------------------------------------


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_build_with_a_huge_logo_fails_the_letters_naming_the_logo(tmp_path: Path, run, jobs: str):
    from tests.conftest import write_tree

    case = CASE.replace("  name: Sam Sender\n", "  name: Sam Sender\n  logo: images/logo.png\n")
    root = write_tree(
        tmp_path / "ws",
        {
            "recipients.yaml": (
                "recipients:\n"
                "  - id: ada\n    name: Ada Lovelace\n    address: [1 Road, Town]\n"
                "  - id: bob\n    name: Bob Jones\n    address: [2 Road, Town]\n"
            ),
            "cases/free-expression.yaml": case,
            "templates/appeal.md.j2": "{{ recipient.salutation }}\n\nPlease act.\n\nYours,\n",
        },
    )
    (root / "images").mkdir()
    (root / "images/logo.png").write_bytes(png(13000, 13000))
    result = run("build", "-f", "pdf", "-j", jobs, "-C", root)
    assert result.exit_code in (1, 2), result.stdout + result.stderr
    assert "logo.png is 13000 × 13000 pixels (169 megapixels)" in result.stderr
    assert "letters accepts images up to 40 megapixels" in result.stderr
    assert "2000 pixels across" in result.stderr
    assert not list(root.glob("out/**/*.pdf"))
