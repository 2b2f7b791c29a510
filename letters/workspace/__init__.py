"""Stage 1, the workspace: read recipients.yaml, cases/, templates/ and languages/ into typed
models, every value keeping the file:line it came from.

Modules: `yamlio` (YAML as located text), `schema` (what each file may hold), `validation`
(pydantic problems as located errors), `templates` (reading templates, front matter,
includes), `language` (language packs), `images` (image headers and the pixel budget),
`load` (the whole workspace, with every problem found in one pass).
"""

from letters.workspace.load import (
    CASES_DIR,
    RECIPIENTS_FILE,
    TEMPLATE_SUFFIX,
    TEMPLATES_DIR,
    CaseFile,
    Workspace,
    load_workspace,
    max_yaml_bytes,
)
from letters.workspace.templates import TemplateFile, split_front_matter
from letters.workspace.validation import suggest, validate

__all__ = [
    "CASES_DIR",
    "RECIPIENTS_FILE",
    "TEMPLATES_DIR",
    "TEMPLATE_SUFFIX",
    "CaseFile",
    "TemplateFile",
    "Workspace",
    "load_workspace",
    "max_yaml_bytes",
    "split_front_matter",
    "suggest",
    "validate",
]
