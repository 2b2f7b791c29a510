"""Write letters/compose/letter_font_widths.json: the advance width of every character of
the bundled Noto Serif, so that measuring an address never needs fontTools at run time
(`letters preview` starts faster). Run it after changing the bundled font:

    .venv/bin/python scripts/make_width_table.py
"""

from __future__ import annotations

import json
from pathlib import Path

from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parent.parent
FONT = ROOT / "letters/layout/assets/fonts/NotoSerif-Regular.ttf"
TABLE = ROOT / "letters/compose/letter_font_widths.json"


def width_table(font_path: Path) -> dict[str, object]:
    font = TTFont(font_path, lazy=True)
    metrics = font["hmtx"].metrics
    advances = {code: metrics[glyph][0] for code, glyph in font.getBestCmap().items()}
    units = int(font["head"].unitsPerEm)
    return {
        "font": font_path.name,
        "units_per_em": units,
        "fallback": advances.get(ord("M"), units),
        # Code points as ranges of equal advance would be smaller; plain pairs are clearer.
        "advances": sorted(advances.items()),
    }


if __name__ == "__main__":
    TABLE.write_text(json.dumps(width_table(FONT), separators=(",", ":")) + "\n", "utf-8")
    print(f"wrote {TABLE.relative_to(ROOT)}")
