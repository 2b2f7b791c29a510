"""Stage 3, laying out a `Letter`: the Markdown letter, the HTML page (from the default or a
campaign's own layout, in the sandbox), and PDF bytes with WeasyPrint, fetching nothing but
campaign files and the package's fonts and stylesheet (`assets/`).

Entry points: `markdown.letter_markdown`, `html.letter_page`, `pdf.PdfRenderer`.
"""
