"""`letters import`: merge the rows of a spreadsheet (CSV, XLSX, XLS, ODS) into recipients.yaml.

Columns are matched to recipient fields by their header (see columns.py for the table). Rows
are matched to existing recipients by id, or by name and organisation when the row has no id;
a match is updated in place (only the fields whose value changed), anything else is appended
with an id made from the name. An empty cell never clears a value. A row whose address block
would not fit the envelope window (the limits `letters check` applies: lines, and the printed
width of each line) is invalid too. Nothing is written unless every row is valid, or
`skip_invalid` is set.

The file may come from a stranger, so it is read with limits: it must be a regular file of at
most tables.MAX_FILE_MB; a workbook's first sheet may reach at most MAX_ROWS rows, MAX_COLUMNS
columns and MAX_CELLS cells (sheet_limits), checked before python-calamine reads it (a binary
.xls is read in a child process instead); and a cell may not hold an invisible control or
bidi character (letters.controls), reported at its row and column.

Data flows one way through the modules: sheet_limits → workbook_zip → xlsx_scan, ods_scan,
legacy_xls → tables (the rows of text); names → columns → rows → row_checks → yaml_edit →
merge (the import), with report describing what it did.
"""

from __future__ import annotations

from letters.importing.merge import import_recipients
from letters.importing.names import slugify, unique_id
from letters.importing.report import ImportReport

__all__ = ["ImportReport", "import_recipients", "slugify", "unique_id"]
