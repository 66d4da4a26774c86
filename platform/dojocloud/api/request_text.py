"""No request text may carry a NUL character: PostgreSQL's text and jsonb columns cannot store
one (psycopg raises DataError, which would reach the caller as INTERNAL), and no name, id,
reason or spec value has a use for it. Checked once, at the edge, for every RPC (the portal's
Django form fields refuse NUL themselves: ProhibitNullCharactersValidator)."""

from __future__ import annotations

from collections.abc import Iterator

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from dojocloud.common.errors import FieldViolation

_NUL = "\x00"
_MESSAGE = FieldDescriptor.TYPE_MESSAGE
_STRING = FieldDescriptor.TYPE_STRING


def nul_violations(message: Message) -> list[FieldViolation]:
    """A violation for every string (map keys included) that contains a NUL, by field path."""
    return [
        FieldViolation(path, "must not contain NUL characters") for path in _nul_paths(message, "")
    ]


def _nul_paths(message: Message, prefix: str) -> Iterator[str]:
    for field, value in message.ListFields():
        path = f"{prefix}{field.name}"
        entry = field.message_type if field.type == _MESSAGE else None
        if entry is not None and entry.GetOptions().map_entry:
            yield from _map_paths(entry.fields_by_name["value"], value, path)
        elif field.is_repeated:
            for i, item in enumerate(value):
                yield from _value_paths(field, item, f"{path}[{i}]")
        else:
            yield from _value_paths(field, value, path)


def _map_paths(value_field: FieldDescriptor, entries: object, path: str) -> Iterator[str]:
    for key, value in entries.items():  # type: ignore[attr-defined]  # a protobuf map
        if isinstance(key, str) and _NUL in key:
            yield f"{path} (a key)"
        yield from _value_paths(value_field, value, f"{path}[{key!r}]".replace(_NUL, "\\0"))


def _value_paths(field: FieldDescriptor, value: object, path: str) -> Iterator[str]:
    if field.type == _STRING and isinstance(value, str) and _NUL in value:
        yield path
    elif field.type == _MESSAGE and isinstance(value, Message):
        yield from _nul_paths(value, path + ".")
