"""Stage 2, composing one letter: the sandbox templates run in, escaping data for Markdown,
the address block and its envelope window (per country), translations, glyph coverage, and
rendering a template into a `Letter` — the plain data every later stage lays out.

Entry point: `letters.compose.render.Renderer`.
"""
