"""recipients.yaml edited in place: read as plain data (to compare) and as a ruamel round-trip
tree (to edit), so that comments, quoting, indentation and blank lines survive; changed
entries updated key by key, new ones appended, and the result read back before it is written.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)
from ruamel.yaml.tokens import CommentToken
from ruamel.yaml.util import load_yaml_guess_indent

from letters.fileio import Confined
from letters.importing.columns import FIELD_ORDER
from letters.workspace.load import max_yaml_bytes
from letters.workspace.schema import Recipient
from letters.workspace.yamlio import Located, parse_yaml

_RESOLVERS = (VersionedResolver(version=(1, 1)), VersionedResolver(version=(1, 2)))
_STR_TAG = "tag:yaml.org,2002:str"


@dataclass
class Existing:
    """recipients.yaml as plain text data (to compare) and as a round-trip tree (to edit)."""

    path: Path
    located: Located | None
    document: Any
    yaml: YAML
    crlf: bool = False

    @property
    def entries(self) -> list[Any]:
        data = self.located.data if self.located else None
        entries = data.get("recipients") if isinstance(data, dict) else None
        return entries if isinstance(entries, list) else []


@dataclass
class Change:
    """What one row does to recipients.yaml."""

    id: str
    index: int | None  # the entry in recipients.yaml, None when new
    values: dict[str, Any]  # only what changes
    merged: dict[str, Any]  # the whole entry after the change, as plain text data


def load_existing(path: Path) -> Existing:
    """recipients.yaml as it is (read without following a link: a campaign could ship it as
    a link to a file elsewhere), ready for edits that keep its comments."""
    text = ""
    confined = Confined(path.parent)
    if confined.kind(path.name) != "missing":
        text = confined.read_text(path.name, max_yaml_bytes())
    located = parse_yaml(text, path, max_yaml_bytes()) if text.strip() else None
    if located is not None:
        data = located.data
        if not isinstance(data, dict) or "recipients" not in data:
            raise located.error((), "expected `recipients:` followed by a list of people")
        if data["recipients"] is not None and not isinstance(data["recipients"], list):
            raise located.error(
                ("recipients",), "`recipients:` must be a list", "start each with `- id:`"
            )
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1 << 16  # folding a long line would rewrite lines nobody changed
    sequence, offset = 4, 2
    if located is not None:
        try:
            _, guessed, guessed_offset = load_yaml_guess_indent(text)
        except YAMLError:
            guessed = guessed_offset = None
        if guessed is not None and guessed_offset is not None:
            sequence, offset = guessed, guessed_offset
    yaml.indent(mapping=2, sequence=sequence, offset=offset)
    document = yaml.load(text) if located is not None else None
    if document is None:
        document = CommentedMap()
    if document.get("recipients") is None:
        document["recipients"] = CommentedSeq()
    return Existing(path, located, document, yaml, crlf="\r\n" in text)


def _scalar(value: str, like: Any = None) -> Any:
    """Text as a YAML scalar that every YAML reader reads back as the same text."""
    if "\n" in value:
        return LiteralScalarString(value + "\n")
    plain_is_text = all(
        resolver.resolve(ScalarNode, value, (True, False)) == _STR_TAG for resolver in _RESOLVERS
    )
    if isinstance(like, DoubleQuotedScalarString):
        return DoubleQuotedScalarString(value)
    if isinstance(like, SingleQuotedScalarString) or not plain_is_text:
        return SingleQuotedScalarString(value)
    return value


def _node(name: str, value: Any, like: Any = None) -> Any:
    if isinstance(value, tuple):
        if isinstance(like, LiteralScalarString):
            return LiteralScalarString("".join(f"{line}\n" for line in value))
        seq = CommentedSeq(_scalar(item) for item in value)
        if isinstance(like, CommentedSeq) and like.fa.flow_style():
            seq.fa.set_flow_style()  # keep `tags: [a, b]` on one line
        else:
            seq.fa.set_block_style()
        return seq
    if isinstance(value, dict):
        mapping = CommentedMap()
        for key, text in value.items():  # fields, or an address's parts
            one_line = isinstance(text, tuple) and len(text) == 1
            mapping[key] = _scalar(text[0]) if one_line else _node(key, text)
        return mapping
    return _scalar(value, like)


def _tail_slot(node: Any) -> tuple[Any, Any, int] | None:
    """Where the comment after the last line of `node` is kept: (container, key, position).

    ruamel keeps the blank lines and comments that follow a value on the innermost last
    item, so what separates two entries sits on the last line of the first one.
    """
    if isinstance(node, CommentedMap) and node:
        key, position = list(node)[-1], 2
    elif isinstance(node, CommentedSeq) and node:
        key, position = len(node) - 1, 0
    else:
        return None
    slot = node.ca.items.get(key)
    if slot and slot[position] is not None:
        return node, key, position
    value = node[key]
    if isinstance(value, CommentedMap | CommentedSeq) and not value.fa.flow_style():
        inner = _tail_slot(value)
        if inner is not None:
            return inner
    return node, key, position


def _ends_own_line(container: Any, key: Any) -> bool:
    # A block scalar ends with its own line break; a comment after it starts on a new line.
    return isinstance(container[key], LiteralScalarString | FoldedScalarString)


def _detach_tail(node: Any) -> str:
    """Remove and return the lines that follow `node` (blank lines, comments)."""
    found = _tail_slot(node)
    if found is None:
        return ""
    container, key, position = found
    token = container.ca.items.get(key, [None] * 4)[position]
    if token is None:
        return ""
    text = token.value
    if _ends_own_line(container, key):
        container.ca.items[key][position] = None
        return text
    first, _, rest = text.partition("\n")
    if first.strip():
        token.value = first + "\n"  # an end-of-line comment stays with its line
    else:
        container.ca.items[key][position] = None
    return rest


def _attach_tail(node: Any, rest: str) -> None:
    found = _tail_slot(node)
    if not rest or found is None:
        return
    container, key, position = found
    slot = container.ca.items.setdefault(
        key, [None, None, None, None] if position == 2 else [None, None]
    )
    token = slot[position]
    if token is not None:
        token.value = token.value + rest
        return
    text = rest if _ends_own_line(container, key) else "\n" + rest
    slot[position] = CommentToken(text, CommentMark(0), None)


def _separated(entries: CommentedSeq) -> bool:
    """Whether the entries are written with a blank line between them."""
    if len(entries) < 2:
        return False
    # The blank line is kept before the second entry or after the last line of the first.
    before = entries.ca.items.get(1)
    if before and before[1] and any(token.value.startswith("\n") for token in before[1]):
        return True
    found = _tail_slot(entries[0])
    if found is None:
        return False
    container, key, position = found
    token = container.ca.items.get(key, [None] * 4)[position]
    if token is None:
        return False
    text = token.value if _ends_own_line(container, key) else token.value.partition("\n")[2]
    return text.startswith("\n")


def _update_entry(entry: CommentedMap, values: dict[str, Any]) -> None:
    rest = _detach_tail(entry)
    for name, value in values.items():
        if name == "fields" and isinstance(entry.get("fields"), CommentedMap):
            for key, text in value.items():
                entry["fields"][key] = _scalar(text, entry["fields"].get(key))
            continue
        node = _node(name, value, entry.get(name))
        if name in entry:
            entry[name] = node
        else:
            entry.insert(_position(entry, name), name, node)
    _attach_tail(entry, rest)


def _position(entry: CommentedMap, name: str) -> int:
    """Where a new key goes: after the keys that come before it in FIELD_ORDER."""
    rank = FIELD_ORDER.index(name)
    keys = list(entry)
    earlier = [
        i for i, key in enumerate(keys) if key in FIELD_ORDER and FIELD_ORDER.index(key) < rank
    ]
    return earlier[-1] + 1 if earlier else 0


def _new_entry(rid: str, values: dict[str, Any]) -> CommentedMap:
    entry = CommentedMap()
    for name in FIELD_ORDER:
        value = rid if name == "id" else values.get(name)
        if value:
            entry[name] = _node(name, value)
    return entry


def apply_changes(existing: Existing, changes: list[Change]) -> str:
    entries: CommentedSeq = existing.document["recipients"]
    if not entries:
        entries.fa.set_block_style()  # `recipients: []` would otherwise stay a flow list
    separated = _separated(entries)
    if entries and entries.ca.end and any(change.index is None for change in changes):
        # Comments after the list belong after the people they follow, not after new ones.
        after = "".join(token.value for token in entries.ca.end)
        entries.ca.end = []
        _attach_tail(entries[-1], _detach_tail(entries[-1]) + after)
    for change in changes:
        if change.index is not None:
            _update_entry(entries[change.index], change.values)
            continue
        if separated:
            _attach_tail(entries[-1], _detach_tail(entries[-1]) + "\n")
        entries.append(_new_entry(change.id, change.values))
    stream = io.StringIO()
    existing.yaml.dump(existing.document, stream)
    text = stream.getvalue()
    return text.replace("\n", "\r\n") if existing.crlf else text


def verify(text: str, path: Path, changes: list[Change], existing_count: int) -> None:
    """Read the new file back as letters reads it; any difference is a bug, not user error."""
    entries = parse_yaml(text, path, max_yaml_bytes()).data["recipients"]
    added = 0
    for change in changes:
        index = change.index if change.index is not None else existing_count + added
        added += change.index is None
        expected = Recipient.model_validate({**change.merged, "id": change.id})
        if Recipient.model_validate(entries[index]) != expected:
            raise RuntimeError(f"recipients.yaml would not read back as written for {change.id!r}")
