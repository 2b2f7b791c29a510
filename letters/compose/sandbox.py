"""The Jinja2 sandbox every campaign template runs in: an allow-list, not a block-list.

Templates (letter bodies, front matter, the page layout) may come from a stranger. They see
plain data only (`Record` mappings, lists, text, numbers, dates) and may call only what is
listed here: the filters, tests and globals registered on purpose, macros, and the
read-only methods of text and dates below. Every other attribute and call is refused, so
no object a template reaches can open a file, whatever Python hides behind it.

Values are also kept from growing past the size guard: `*` and `**`, the padding widths
of `center`, `indent`, `wordwrap`, `truncate` and the like, and `replace`/`join` whose
result would be huge are refused before they are computed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from jinja2 import Undefined
from jinja2.runtime import BlockReference, LoopContext, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.utils import Cycler, Joiner, Namespace

MAX_ITEMS = 1_000_000  # characters or list items a single operation may produce
MAX_POWER_BITS = 10_000
MAX_WIDTH = 1_000  # padding and wrapping widths, in characters

# Read-only methods of text whose result is no larger than the text (or a list of parts).
STR_METHODS = frozenset(
    {
        "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha",
        "isascii", "isdecimal", "isdigit", "islower", "isnumeric", "isspace", "istitle",
        "isupper", "join", "lower", "lstrip", "partition", "removeprefix", "removesuffix",
        "replace", "rfind", "rindex", "rpartition", "rsplit", "rstrip", "split",
        "splitlines", "startswith", "strip", "swapcase", "title", "upper",
    }
)  # fmt: skip
DATE_ATTRIBUTES = frozenset({"year", "month", "day", "isoformat", "weekday", "isoweekday"})
LOOP_ATTRIBUTES = frozenset(
    {"index", "index0", "revindex", "revindex0", "first", "last", "length", "depth", "depth0"}
    | {"previtem", "nextitem", "cycle", "changed"}
)
CYCLER_ATTRIBUTES = frozenset({"next", "current", "reset"})
MAPPING_METHODS = frozenset({"items", "keys", "values", "get"})
SEQUENCE_METHODS = frozenset({"count", "index"})
# Jinja's built-ins that can reach attributes by name or build markup from data, and
# `random`: a letter must come out the same each time it is composed (the build checks
# every letter, then composes some again to write them; a rebuild compares hashes).
REMOVED_FILTERS = ("attr", "format", "xmlattr", "random")
REMOVED_GLOBALS = ("lipsum",)


class Record(dict[str, Any]):
    """A mapping the template reads with dots; knows its own name for error messages.

    In templates a dot reaches only the data (see Sandbox.getattr): a field named `items`
    or `label` is the field, never a method or attribute of this class.
    """

    record_name: str = "value"


def record(data: dict[str, Any], name: str) -> Record:
    result = Record({key: plain(value, f"{name}.{key}") for key, value in data.items()})
    result.record_name = name
    return result


def plain(value: Any, label: str) -> Any:
    """`value` as template data: mappings become Records, tuples lists, None empty text."""
    if isinstance(value, dict):
        return record(value, label)
    if isinstance(value, list | tuple):
        return [plain(item, label) for item in value]
    return "" if value is None else value


PLAIN_TYPES = (str, int, float, bool, dt.date)


def impure_values(value: Any, where: str = "context") -> list[str]:
    """Where `value` holds anything but plain data (for the test that walks contexts)."""
    if isinstance(value, PLAIN_TYPES) or value is None:
        return []
    if isinstance(value, dict):
        found = [f"{where}: key {key!r}" for key in value if not isinstance(key, str)]
        for key, item in value.items():
            found += impure_values(item, f"{where}.{key}")
        return found
    if isinstance(value, list | tuple):
        return [p for i, item in enumerate(value) for p in impure_values(item, f"{where}[{i}]")]
    return [f"{where}: {type(value).__module__}.{type(value).__qualname__}"]


def _repeats_too_much(left: Any, right: Any) -> bool:
    for sequence, count in ((left, right), (right, left)):
        if isinstance(sequence, str | list | tuple) and isinstance(count, int):
            return len(sequence) * count > MAX_ITEMS
    return False


def _power_too_large(base: Any, exponent: Any) -> bool:
    if not (isinstance(base, int) and isinstance(exponent, int)):
        return False
    return abs(base) > 1 and exponent > 0 and abs(base).bit_length() * exponent > MAX_POWER_BITS


def _too_large(size: int, what: str) -> None:
    if size > MAX_ITEMS:
        raise SecurityError(f"the result of {what} would be too large")


def _replace_size(text: str, old: str, new: str, count: int = -1) -> int:
    hits = len(text) + 1 if old == "" else text.count(old)
    if count is not None and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * max(len(new) - len(old), 0)


def _join_size(separator: Any, items: Any) -> int:
    parts = list(items) if isinstance(items, list | tuple) else []
    return sum(len(str(part)) for part in parts) + len(str(separator)) * max(len(parts) - 1, 0)


def _width(value: Any, name: str) -> None:
    if isinstance(value, int) and value > MAX_WIDTH:
        raise SecurityError(f"{name} {value} is wider than the limit of {MAX_WIDTH}")
    if isinstance(value, str) and len(value) > MAX_WIDTH:
        raise SecurityError(f"{name} is longer than the limit of {MAX_WIDTH} characters")


def _capped(original: Callable[..., Any], name: str, widths: dict[str, int]) -> Callable[..., Any]:
    """A built-in filter whose width arguments (by name and position) are capped."""

    # Filters that take the environment or eval context get it before the value.
    offset = 1 if getattr(original, "jinja_pass_arg", None) is not None else 0

    def filter_(*args: Any, **kwargs: Any) -> Any:
        for argument, position in widths.items():
            position += offset
            if argument in kwargs:
                _width(kwargs[argument], f"{name}({argument}=…)")
            elif len(args) > position:
                _width(args[position], f"{name}(…)")
        if name == "indent" and len(args) > offset:
            text = str(args[offset])
            width = kwargs.get("width", args[offset + 1] if len(args) > offset + 1 else 4)
            step = len(width) if isinstance(width, str) else int(width)
            _too_large(len(text) + (text.count("\n") + 1) * step, name)
        return original(*args, **kwargs)

    for attribute in ("jinja_pass_arg", "__name__", "__doc__"):
        if hasattr(original, attribute):
            setattr(filter_, attribute, getattr(original, attribute))
    return filter_


class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox turned into an allow-list (see the module docstring)."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        for name in REMOVED_FILTERS:
            self.filters.pop(name, None)
        for name in REMOVED_GLOBALS:
            self.globals.pop(name, None)
        filters = self.filters
        # Positions count the value being filtered as argument 0.
        filters["center"] = _capped(filters["center"], "center", {"width": 1})
        filters["indent"] = _capped(filters["indent"], "indent", {"width": 1})
        filters["wordwrap"] = _capped(filters["wordwrap"], "wordwrap", {"width": 1})
        filters["truncate"] = _capped(filters["truncate"], "truncate", {"length": 1, "end": 3})
        filters["batch"] = _capped(filters["batch"], "batch", {"linecount": 1})
        filters["slice"] = _capped(filters["slice"], "slice", {"slices": 1})
        filters["replace"] = self._checked_replace(filters["replace"])
        filters["join"] = self._checked_join(filters["join"])
        self._callable_globals = {id(value) for value in self.globals.values() if callable(value)}

    # -- what a dot or [] may reach --------------------------------------------------------

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Record):
            # Data fields only: `fields.items` must not be dict.items.
            return obj[attribute] if attribute in obj else self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, Record):
            if isinstance(argument, str) and argument in obj:
                return obj[argument]
            return self.undefined(obj=obj, name=argument)
        return super().getitem(obj, argument)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if attr.startswith("_") or not super().is_safe_attribute(obj, attr, value):
            return False
        if isinstance(obj, str):
            return attr in STR_METHODS
        if isinstance(obj, dt.date):
            return attr in DATE_ATTRIBUTES
        if isinstance(obj, LoopContext):
            return attr in LOOP_ATTRIBUTES
        if isinstance(obj, Cycler):
            return attr in CYCLER_ATTRIBUTES
        if isinstance(obj, Namespace):
            return not callable(value)
        if isinstance(obj, dict):
            return attr in MAPPING_METHODS
        if isinstance(obj, list | tuple):
            return attr in SEQUENCE_METHODS
        return False

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        # Refuse at once (the sandbox would return an undefined that fails only when used,
        # and a list of them prints quietly).
        raise SecurityError(
            f"access to attribute {attribute!r} of a {type(obj).__name__} is not allowed"
        )

    # -- what may be called ---------------------------------------------------------------

    def is_safe_callable(self, obj: Any) -> bool:
        if not super().is_safe_callable(obj):
            return False
        if isinstance(obj, Macro | Joiner | LoopContext | BlockReference):
            return True
        if id(obj) in self._callable_globals:
            return True  # range, dict, namespace, cycler, joiner
        owner = getattr(obj, "__self__", None)
        name = getattr(obj, "__name__", "")
        if isinstance(owner, str):
            return name in STR_METHODS
        if isinstance(owner, dt.date):
            return name in DATE_ATTRIBUTES
        if isinstance(owner, LoopContext):
            return name in ("cycle", "changed")
        if isinstance(owner, Cycler):
            return name in ("next", "reset")
        if isinstance(owner, dict):
            return name in MAPPING_METHODS
        if isinstance(owner, list | tuple):
            return name in SEQUENCE_METHODS
        return False

    def call(
        __self,
        __context: Any,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            name = getattr(__obj, "__name__", "")
            if name == "replace" and len(args) >= 2:
                _too_large(_replace_size(owner, str(args[0]), str(args[1]), *args[2:3]), name)
            elif name == "join" and args:
                _too_large(_join_size(owner, args[0]), name)
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*" and _repeats_too_much(left, right):
            raise SecurityError("the result of * would be too large")
        if operator == "**" and _power_too_large(left, right):
            raise SecurityError("the result of ** would be too large")
        return super().call_binop(context, operator, left, right)

    # -- filters that can grow a value -----------------------------------------------------

    @staticmethod
    def _checked_replace(original: Callable[..., Any]) -> Callable[..., Any]:
        def replace(eval_ctx: Any, text: Any, old: Any, new: Any, count: Any = None) -> Any:
            size = _replace_size(str(text), str(old), str(new), -1 if count is None else count)
            _too_large(size, "replace")
            return original(eval_ctx, text, old, new, count)

        replace.jinja_pass_arg = original.jinja_pass_arg  # type: ignore[attr-defined]
        return replace

    @staticmethod
    def _checked_join(original: Callable[..., Any]) -> Callable[..., Any]:
        def join(eval_ctx: Any, value: Any, d: Any = "", attribute: Any = None) -> Any:
            if attribute is None and isinstance(value, list | tuple):
                _too_large(_join_size(d, value), "join")
            return original(eval_ctx, value, d, attribute)

        join.jinja_pass_arg = original.jinja_pass_arg  # type: ignore[attr-defined]
        return join


def is_undefined(value: Any) -> bool:
    return isinstance(value, Undefined)
