"""The output formats and PDF variants the layout stage can make (no heavy imports here)."""

FORMATS = ("md", "html", "pdf")
PDF_VARIANTS = ("pdf/a-3u", "pdf/ua-1")
