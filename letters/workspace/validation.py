"""Typed data from located YAML (or spreadsheet rows): every pydantic problem becomes a
LettersError at the line of the value it is about, with a suggestion where one helps.

One translator for every source: the `Locator` says where a field path was written
(file:line:column for YAML, row and column for a spreadsheet).
"""

from __future__ import annotations

import difflib
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from letters.errors import LettersError, LettersErrors

Path_ = tuple[str | int, ...]


class Locator(Protocol):
    """Where the value at a field path was written, as an error there."""

    data: Any

    def error(
        self, path: Path_, message: str, hint: str = "", *, key: bool = False
    ) -> LettersError: ...


def suggest(word: str, options: list[str] | set[str]) -> str:
    close = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def validate(
    model: type[BaseModel], located: Locator, prefix: tuple[Any, ...] = (), *, cells: bool = False
) -> Any:
    """Validate located data against a model; raise every problem, each at its line.

    With `cells` the data is a spreadsheet row, whose locator names each field by its column:
    a message then leaves the field's name out and quotes a value that is not allowed, and a
    missing field is reported at its own path (its empty cell), not at the mapping lacking it.
    """
    data = located.data
    for part in prefix:
        data = data[part]
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise LettersErrors(
            [_explain(err, model, located, prefix, cells) for err in exc.errors()]
        ) from None


def _field_names(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The allowed keys at `loc` inside `model`, for suggestions."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        info = current.model_fields.get(part) if hasattr(current, "model_fields") else None
        if info is None:
            return []
        annotation = info.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        current = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if current is None:
            return []
    return list(current.model_fields) if hasattr(current, "model_fields") else []


def _explain(
    error: Any, model: type[BaseModel], located: Locator, prefix: tuple[Any, ...], cells: bool
) -> LettersError:
    loc = tuple(part for part in error["loc"] if not isinstance(part, str) or part[0] != "[")
    kind = error["type"]
    path = (*prefix, *loc)
    where = ".".join(str(p) for p in loc if isinstance(p, str)) or "file"
    named = "" if cells else f"{where}: "  # a cell's locator names the field by its column
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _field_names(model, loc[:-1])
        hint = suggest(key, allowed) or ("allowed keys: " + ", ".join(allowed) if allowed else "")
        return located.error(path, f"unknown key {key!r}", hint, key=True)
    if kind == "missing":
        key = str(loc[-1])
        if cells:
            return located.error(path, f"the {key} is missing")
        return located.error(
            path[:-1], f"missing required key {key!r}", f"add `{key}:` with a value"
        )
    if error.get("input", "") is None:
        return located.error(
            path, f"{named}is empty", "write a value after the colon, or remove the line"
        )
    if kind in ("string_type", "str_type"):
        return located.error(path, f"{named}expected text", "write a single value, not a list")
    if kind in ("tuple_type", "list_type"):
        return located.error(path, f"{named}expected a list", "write `- item` lines or [a, b]")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return located.error(path, f"{named}expected a mapping of `key: value` lines")
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        if cells:
            return located.error(path, f"{error.get('input')!r} is not allowed: use {expected}")
        return located.error(path, f"{where}: must be one of {expected}")
    if kind == "too_short":
        return located.error(path, f"{named}must not be empty", "add at least one entry")
    message = str(error["msg"]).removeprefix("Value error, ")
    return located.error(path, f"{named}{message}")
