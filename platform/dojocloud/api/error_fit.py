"""Keeps an error's status within gRPC's metadata limits.

The status travels in trailers: `grpc-message` (percent-encoded, up to 3 bytes per byte)
and `grpc-status-details-bin` (base64, 4 bytes per 3). A client refuses trailers past its
metadata limit (8 KiB by default, some at random from there) and then reports
`RESOURCE_EXHAUSTED: Stream removed` instead of the error. So every echoed text is cut, and
the field violations are listed while they fit, the rest counted in one last violation:
at most ~2 KiB of message and ~3.3 KiB of details on the wire, whatever the request held.
"""

from __future__ import annotations

from collections.abc import Sequence

from google.rpc import error_details_pb2

from dojocloud.common.errors import FieldViolation

MESSAGE_BYTES = 700  # of the status message, before percent-encoding
FIELD_BYTES = 120  # of one violation's field path
DESCRIPTION_BYTES = 400  # of one violation's description
VIOLATIONS_BYTES = 2_400  # of the serialized BadRequest, the summary included
METADATA_VALUE_BYTES = 200  # of an ErrorInfo metadata value (e.g. an echoed resource name)
_SUMMARY_RESERVE = 80  # room kept for the "and N more" violation
_CUT = "..."

BadRequestViolation = error_details_pb2.BadRequest.FieldViolation


def cut(text: str, limit: int) -> str:
    """`text` whose UTF-8 encoding is at most `limit` bytes, marked when cut."""
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return text
    return data[: limit - len(_CUT)].decode("utf-8", "ignore") + _CUT


def bad_request(violations: Sequence[FieldViolation]) -> tuple[error_details_pb2.BadRequest, int]:
    """The BadRequest of `violations` within VIOLATIONS_BYTES, and how many were listed."""
    out = error_details_pb2.BadRequest()
    budget = VIOLATIONS_BYTES - _SUMMARY_RESERVE
    for listed, v in enumerate(violations):
        item = BadRequestViolation(
            field=cut(v.field, FIELD_BYTES), description=cut(v.description, DESCRIPTION_BYTES)
        )
        # a repeated message field costs its bytes plus a tag and a length (<= 3 bytes)
        size = item.ByteSize() + 3
        if size > budget:
            rest = len(violations) - listed
            out.field_violations.append(
                BadRequestViolation(field="", description=f"and {rest} more violations not listed")
            )
            return out, listed
        out.field_violations.append(item)
        budget -= size
    return out, len(violations)


def message(violations: Sequence[FieldViolation], listed: int) -> str:
    """The status message of an INVALID_ARGUMENT: the listed violations, cut to fit."""
    text = "; ".join(f"{v.field}: {v.description}" for v in violations[:listed]) or "invalid"
    more = f"; and {len(violations) - listed} more" if listed < len(violations) else ""
    return cut(text, MESSAGE_BYTES - len(more)) + more
