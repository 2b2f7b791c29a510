"""The size of an image, read from its header alone, and the pixel budget every image meets.

A PDF worker decodes every raster image it embeds: a 13000 × 13000 PNG of 1.2 MB becomes
1.4 GB of pixels. So before WeasyPrint (through Pillow) sees an image, letters reads its
width and height from the header, without decoding a pixel, and refuses one over
MAX_PIXELS. Vector images (SVG) are not rasterised and pass as they are.
"""

from __future__ import annotations

import io
import struct
import warnings
from pathlib import Path

from letters.errors import LettersError

MAX_PIXELS = 40_000_000
RASTER_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp")
SCALE_DOWN_HINT = "scale it down: a logo or signature needs at most about 2000 pixels across"

Size = tuple[int, int]


class ImageTooLargeError(LettersError):
    """An image over the pixel budget: the letter that uses it fails."""


def image_size(data: bytes) -> Size | None:
    """(width, height) of a PNG, JPEG, GIF, WebP, BMP or TIFF image from its header alone;
    None when the data is none of them, or its header is cut short or makes no sense."""
    for reader in (_png, _jpeg, _gif, _webp, _bmp, _tiff):
        try:
            size = reader(data)
        except (struct.error, IndexError, ValueError):
            size = None
        if size is not None:
            return size if size[0] > 0 and size[1] > 0 else None
    return None


def check_image(data: bytes, path: Path | str, shown: str | None = None) -> None:
    """Refuse an image over the pixel budget, or raster data that is no image we know.

    `path` is the file the data came from (the error names it); `shown` replaces its name
    in the message, e.g. for an image inlined in a `data:` URL. Data that is no raster
    image (a stylesheet, a font, an SVG) passes unless its name says it is one.
    """
    name = shown or Path(path).name
    size = image_size(data)
    if size is None and Path(path).suffix.lower() not in RASTER_SUFFIXES:
        size = _other_raster_size(data, name, path)
    if size is None:
        if Path(path).suffix.lower() in RASTER_SUFFIXES:
            raise LettersError(
                f"{name} is not a PNG, JPEG, GIF, WebP or BMP image (or it is damaged)",
                path,
                hint="open it in an image editor and save it again as PNG or JPEG",
            )
        return
    width, height = size
    if width * height > MAX_PIXELS:
        raise ImageTooLargeError(
            f"{name} is {width} × {height} pixels ({_megapixels(width * height)} megapixels); "
            f"letters accepts images up to {MAX_PIXELS // 1_000_000} megapixels",
            path,
            hint=SCALE_DOWN_HINT,
        )


def _megapixels(pixels: int) -> str:
    rounded = f"{pixels / 1_000_000:.0f}"
    return rounded if int(rounded) * 1_000_000 > MAX_PIXELS else f"{pixels / 1_000_000:.1f}"


def _other_raster_size(data: bytes, name: str, path: Path | str) -> Size | None:
    """The size of an image in a format Pillow reads but we do not parse (TGA, PPM, ICO…).

    WeasyPrint hands Pillow whatever a URL serves, whatever its name, so a huge image in
    such a format must meet the budget too. `Image.open` reads the header only; its own
    bomb check refuses what is far too large before we see a size.
    """
    if not data or data.lstrip()[:1] == b"<":  # XML, such as SVG: no raster format Pillow reads
        return None
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with WeasyPrint
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        raise ImageTooLargeError(
            f"{name} is far more than {MAX_PIXELS // 1_000_000} megapixels; "
            f"letters accepts images up to {MAX_PIXELS // 1_000_000} megapixels",
            path,
            hint=SCALE_DOWN_HINT,
        ) from None
    except Exception:  # not an image Pillow knows: it will not decode it either
        return None
    return (width, height) if width > 0 and height > 0 else None


# -- PNG -------------------------------------------------------------------------------


def _png(data: bytes) -> Size | None:
    # The signature, then the IHDR chunk, which must come first.
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# -- JPEG ------------------------------------------------------------------------------

# Start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) share the range.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD9)})  # TEM, RST0-7, SOI
_SOS = 0xDA
_EOI = 0xD9


def _jpeg(data: bytes) -> Size | None:
    if not data.startswith(b"\xff\xd8"):
        return None
    offset = 2
    while offset < len(data):
        if data[offset] != 0xFF:
            return None  # not at a marker: damaged
        while offset < len(data) and data[offset] == 0xFF:  # fill bytes
            offset += 1
        if offset >= len(data):
            return None
        marker = data[offset]
        offset += 1
        if marker in _STANDALONE_MARKERS:
            continue
        if marker in (_SOS, _EOI):
            return None  # image data before any frame header
        (length,) = struct.unpack(">H", data[offset : offset + 2])
        if length < 2:
            return None
        if marker in _SOF_MARKERS:
            height, width = struct.unpack(">HH", data[offset + 3 : offset + 7])
            return width, height
        offset += length
    return None


# -- GIF -------------------------------------------------------------------------------


def _gif(data: bytes) -> Size | None:
    """The logical screen, grown to hold every frame: Pillow grows it the same way."""
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        return None
    width, height, flags = struct.unpack("<HHB", data[6:11])
    offset = 13
    if flags & 0x80:
        offset += 3 << ((flags & 0x07) + 1)  # global colour table
    while offset < len(data):
        block = data[offset]
        if block == 0x3B:  # trailer
            break
        if block == 0x21:  # extension: label, then data sub-blocks
            offset = _skip_sub_blocks(data, offset + 2)
        elif block == 0x2C:  # image descriptor
            left, top, frame_width, frame_height, frame_flags = struct.unpack(
                "<HHHHB", data[offset + 1 : offset + 10]
            )
            width = max(width, left + frame_width)
            height = max(height, top + frame_height)
            offset += 10
            if frame_flags & 0x80:
                offset += 3 << ((frame_flags & 0x07) + 1)  # local colour table
            offset = _skip_sub_blocks(data, offset + 1)  # after the LZW code size
        else:
            break  # damaged: keep what the headers so far say
    return width, height


def _skip_sub_blocks(data: bytes, offset: int) -> int:
    while offset < len(data):
        length = data[offset]
        offset += 1 + length
        if length == 0:
            break
    return offset


# -- WebP ------------------------------------------------------------------------------


def _webp(data: bytes) -> Size | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk, body = data[12:16], data[20:]
    if chunk == b"VP8X":  # extended: the canvas holds every frame
        width = int.from_bytes(body[4:7], "little") + 1
        height = int.from_bytes(body[7:10], "little") + 1
        return width, height
    if chunk == b"VP8L":  # lossless: a signature byte, then 14 bits each of size - 1
        if body[0] != 0x2F:
            return None
        bits = int.from_bytes(body[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":  # lossy: a frame tag, a start code, then 14 bits each of size
        if body[3:6] != b"\x9d\x01\x2a":
            return None
        width, height = struct.unpack("<HH", body[6:10])
        return width & 0x3FFF, height & 0x3FFF
    return None


# -- BMP -------------------------------------------------------------------------------


def _bmp(data: bytes) -> Size | None:
    if data[:2] != b"BM":
        return None
    (header_size,) = struct.unpack("<I", data[14:18])
    if header_size == 12:  # OS/2 BITMAPCOREHEADER: unsigned 16-bit sizes
        width, height = struct.unpack("<HH", data[18:22])
        return width, height
    if header_size < 16:
        return None
    width, height = struct.unpack("<ii", data[18:26])
    return abs(width), abs(height)  # a negative height means rows run top-down


# -- TIFF ------------------------------------------------------------------------------

_TIFF_WIDTH, _TIFF_HEIGHT = 256, 257
_TIFF_SHORT, _TIFF_LONG = 3, 4


def _tiff(data: bytes) -> Size | None:
    if data[:4] == b"II*\x00":
        order = "<"
    elif data[:4] == b"MM\x00*":
        order = ">"
    else:
        return None
    (offset,) = struct.unpack(order + "I", data[4:8])
    (count,) = struct.unpack(order + "H", data[offset : offset + 2])
    found: dict[int, int] = {}
    for index in range(count):
        entry = offset + 2 + 12 * index
        tag, kind = struct.unpack(order + "HH", data[entry : entry + 4])
        if tag in (_TIFF_WIDTH, _TIFF_HEIGHT):
            if kind == _TIFF_SHORT:
                (found[tag],) = struct.unpack(order + "H", data[entry + 8 : entry + 10])
            elif kind == _TIFF_LONG:
                (found[tag],) = struct.unpack(order + "I", data[entry + 8 : entry + 12])
    if _TIFF_WIDTH not in found or _TIFF_HEIGHT not in found:
        return None
    return found[_TIFF_WIDTH], found[_TIFF_HEIGHT]
