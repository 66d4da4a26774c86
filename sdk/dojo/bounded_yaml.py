"""Reading a job file that nobody checked: size, encoding, nesting and alias limits.

A job file nests three levels deep and holds a few dozen values, so these limits are far
above any real one. Each problem is `JobFileError` with one line naming it; the caller puts
the file's name in front. Without them, deeply nested YAML ends in a RecursionError, an
alias bomb in minutes of work, and a latin-1 or UTF-16 file in a UnicodeDecodeError.
"""

from __future__ import annotations

import codecs
from typing import Any

import yaml
from yaml.nodes import CollectionNode, MappingNode, Node, SequenceNode

MAX_FILE_BYTES = 256 * 1024  # the portal's upload limit too
MAX_DEPTH = 32  # nested mappings and lists
MAX_VALUES = 100_000  # scalars, mappings and lists, each alias counted in full
SHOWN_CHARS = 60  # of a value echoed in a message

_BOMS = [
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
]
_SAVE_AS = "save it as UTF-8 text"


class JobFileError(ValueError):
    """A job file that cannot be read as YAML text; the message is one line."""


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """`repr(value)`, cut to about `limit` characters: error messages echo what was sent
    without echoing a megabyte of it."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def check_size(size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise JobFileError(
            f"is {size} bytes; a job file may be at most {MAX_FILE_BYTES} "
            f"bytes ({MAX_FILE_BYTES // 1024} KiB)"
        )


def decode(data: bytes) -> str:
    """UTF-8 text (a byte-order mark allowed); anything else names its encoding or byte."""
    check_size(len(data))
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise JobFileError(f"is {name} text, not UTF-8; {_SAVE_AS}")
    if b"\x00" in data:
        raise JobFileError(
            f"holds NUL bytes: a binary file or UTF-16/UTF-32 text, not UTF-8; {_SAVE_AS}"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JobFileError(
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}; latin-1 or another encoding?); {_SAVE_AS}"
        ) from None


def load(text: str) -> Any:
    """`yaml.safe_load` within the limits; JobFileError names the first one crossed or the
    YAML syntax error (one line, with its line and column)."""
    check_size(len(text.encode("utf-8", "surrogatepass")))
    try:
        loader = _BoundedLoader(text)  # the reader checks every character here
    except yaml.YAMLError as exc:
        raise JobFileError(f"not valid YAML: {_one_line(exc)}") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expanded(node)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise JobFileError(f"not valid YAML: {_one_line(exc)}") from None
    finally:
        loader.dispose()


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader, refusing to compose deeper than MAX_DEPTH (PyYAML recurses)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise JobFileError(
                    f"nested deeper than {MAX_DEPTH} levels (at line "
                    f"{mark.line + 1}, column {mark.column + 1})"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _check_expanded(root: Node) -> None:
    """Aliases reuse a node, so the data can be far larger or deeper than the text (or
    contain itself); the walk memoizes each node's expanded size and depth."""
    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (values, depth)
    active: set[int] = set()

    def walk(node: Node, depth: int) -> tuple[int, int]:
        key = id(node)
        if key in active:
            raise JobFileError("an alias refers to a mapping or list that contains it")
        known = sizes.get(key)
        if known is None:
            active.add(key)
            known = _measure(node, depth, walk)
            active.discard(key)
            sizes[key] = known
        if depth + known[1] > MAX_DEPTH:
            raise JobFileError(
                f"nested deeper than {MAX_DEPTH} levels once its aliases are expanded"
            )
        return known

    values, _ = walk(root, 0)
    if values > MAX_VALUES:
        raise JobFileError(
            f"holds {values} values once its aliases are expanded; at most {MAX_VALUES}"
        )


def _measure(node: Node, depth: int, walk: Any) -> tuple[int, int]:
    if not isinstance(node, CollectionNode):
        return 1, 0
    children: list[Node] = []
    if isinstance(node, MappingNode):
        for k, v in node.value:
            children += [k, v]
    elif isinstance(node, SequenceNode):
        children = list(node.value)
    values, deepest = 1, 0
    for child in children:
        n, d = walk(child, depth + 1)
        values, deepest = values + n, max(deepest, d + 1)
        if values > MAX_VALUES:
            raise JobFileError(f"holds more than {MAX_VALUES} values once its aliases are expanded")
    return values, deepest


def _one_line(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        what = "; ".join(p for p in (exc.context, exc.problem) if p)
        return " ".join(f"{what}{where}".split())
    if isinstance(exc, yaml.reader.ReaderError):
        char = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or " ")
        return f"character U+{char:04X} at position {exc.position} is not allowed in YAML text"
    return " ".join(str(exc).split())
