"""YAML job files → `dojo.v1.JobSpec`.

The YAML keys are the proto field names, so the proto stays the one schema. Unknown keys and
wrong types are reported with their dotted key path and the file they came from. Semantic
validation (ranges, allowed names) is the server's job; this only checks the shape. A file
that is too large, too deeply nested or not UTF-8 is one line naming the file and the problem
(`dojo.bounded_yaml` holds the limits).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from dojo import bounded_yaml
from dojo.bounded_yaml import JobFileError, shown
from dojo.errors import FieldViolation, SpecError
from dojo.v1 import job_pb2

MAX_REPORTED = 50  # violations listed one by one; the rest are counted in one more


def load(path: str | Path) -> job_pb2.JobSpec:
    """Reads and parses a YAML job file."""
    try:
        with open(path, "rb") as f:
            # One byte past the limit is enough to know a file is too large.
            data = f.read(bounded_yaml.MAX_FILE_BYTES + 1)
            if len(data) > bounded_yaml.MAX_FILE_BYTES:
                bounded_yaml.check_size(max(len(data), os.fstat(f.fileno()).st_size))
        text = bounded_yaml.decode(data)
    except OSError as exc:
        raise SpecError(
            f"{path}: cannot read job file: {exc.strerror or exc}", source=str(path)
        ) from None
    except JobFileError as exc:
        raise SpecError(f"{path}: {exc}", source=str(path)) from None
    return parse_yaml(text, source=str(path))


def parse_yaml(text: str, *, source: str = "<string>") -> job_pb2.JobSpec:
    """Parses YAML text into a JobSpec; raises SpecError naming the bad key path and source."""
    try:
        data = bounded_yaml.load(text)
    except JobFileError as exc:
        raise SpecError(f"{source}: {exc}", source=source) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SpecError(
            f"{source}: a job file must be a mapping of keys to values, got {type(data).__name__}",
            source=source,
        )
    return parse_dict(data, source=source)


def parse_dict(data: dict[str, Any], *, source: str = "<dict>") -> job_pb2.JobSpec:
    """Parses an already-loaded mapping (e.g. from JSON) into a JobSpec."""
    # The stubs also allow upb's descriptor class; at runtime it is a Descriptor.
    violations = _summarized(
        _shape_violations(data, cast(Descriptor, job_pb2.JobSpec.DESCRIPTOR), "")
    )
    if violations:
        raise SpecError(_message(source, violations), source=source, field_violations=violations)
    spec = job_pb2.JobSpec()
    try:
        json_format.ParseDict(data, spec)
    except (json_format.ParseError, ValueError, TypeError) as exc:
        # The shape walk catches most errors with exact paths; this is the backstop.
        violation = FieldViolation("", _brief(exc))
        raise SpecError(
            _message(source, [violation]), source=source, field_violations=[violation]
        ) from None
    return spec


def _brief(exc: Exception, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else f"{text[:limit]}..."


def _summarized(violations: list[FieldViolation]) -> list[FieldViolation]:
    """The first MAX_REPORTED violations and one counting the rest: a file with 100,000 bad
    values is not 100,000 lines of output."""
    if len(violations) <= MAX_REPORTED:
        return violations
    rest = len(violations) - MAX_REPORTED
    return [
        *violations[:MAX_REPORTED],
        FieldViolation("", f"and {rest} more violations not listed"),
    ]


def _message(source: str, violations: list[FieldViolation]) -> str:
    lines = [f"{source}: invalid job spec"]
    lines += [f"  {v.field or '(spec)'}: {v.description}" for v in violations]
    return "\n".join(lines)


def _join(prefix: str, key: str) -> str:
    if len(key) > bounded_yaml.SHOWN_CHARS:  # a key path is echoed too
        key = f"{key[: bounded_yaml.SHOWN_CHARS]}..."
    return f"{prefix}.{key}" if prefix else key


def _shape_violations(data: Any, desc: Descriptor, path: str) -> list[FieldViolation]:
    """Walks the mapping against the message descriptor, collecting every bad key."""
    if not isinstance(data, dict):
        return [FieldViolation(path, f"must be a mapping, got {_kind(data)}")]
    fields = {f.name: f for f in desc.fields}
    fields.update({f.json_name: f for f in desc.fields})
    out: list[FieldViolation] = []
    for key, value in data.items():
        key_path = _join(path, str(key))
        field = fields.get(str(key))
        if field is None:
            known = ", ".join(sorted(f.name for f in desc.fields))
            out.append(FieldViolation(key_path, f"unknown key (known keys: {known})"))
        elif value is not None:
            out += _field_violations(field, value, key_path)
    return out


def _field_violations(field: FieldDescriptor, value: Any, path: str) -> list[FieldViolation]:
    entry = _map_entry(field)
    if entry is not None:
        if not isinstance(value, dict):
            return [FieldViolation(path, f"must be a mapping, got {_kind(value)}")]
        value_field = entry.fields_by_name["value"]
        out: list[FieldViolation] = []
        for k, v in value.items():
            out += _scalar_violations(value_field, v, _join(path, str(k)))
        return out
    if field.is_repeated:
        if not isinstance(value, list):
            return [FieldViolation(path, f"must be a list, got {_kind(value)}")]
        out = []
        for i, item in enumerate(value):
            out += _single_violations(field, item, f"{path}[{i}]")
        return out
    return _single_violations(field, value, path)


def _single_violations(field: FieldDescriptor, value: Any, path: str) -> list[FieldViolation]:
    message_type = field.message_type  # set exactly when the type is TYPE_MESSAGE
    if field.type == FieldDescriptor.TYPE_MESSAGE and message_type is not None:
        if message_type.full_name.startswith("google.protobuf."):
            return []  # well-known types: json_format knows their string forms
        return _shape_violations(value, message_type, path)
    return _scalar_violations(field, value, path)


_INT_TYPES = {
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED32,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED32,
    FieldDescriptor.TYPE_SFIXED64,
}
_FLOAT_TYPES = {FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT}


def _scalar_violations(field: FieldDescriptor, value: Any, path: str) -> list[FieldViolation]:
    t = field.type
    if t in _INT_TYPES:
        ok = isinstance(value, int) and not isinstance(value, bool)
        want = "an integer"
    elif t in _FLOAT_TYPES:
        # PyYAML reads `3e-3` (no dot) as a string; accept what float() would.
        ok = (isinstance(value, int | float) and not isinstance(value, bool)) or _numeric(value)
        want = "a number"
    elif t == FieldDescriptor.TYPE_BOOL:
        ok, want = isinstance(value, bool), "true or false"
    elif t == FieldDescriptor.TYPE_STRING:
        ok, want = isinstance(value, str), "a string"
    elif t == FieldDescriptor.TYPE_ENUM and field.enum_type is not None:
        names = [v.name for v in field.enum_type.values]
        ok, want = value in names, "one of " + ", ".join(names)
    else:
        return []
    return [] if ok else [FieldViolation(path, f"must be {want}, got {_kind(value)}")]


def _numeric(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def _map_entry(field: FieldDescriptor) -> Descriptor | None:
    """The key/value entry type of a map field; None for any other field."""
    mt = field.message_type
    return mt if field.is_repeated and mt is not None and mt.GetOptions().map_entry else None


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"string {shown(value)}"
    return f"{type(value).__name__} {shown(value)}"
