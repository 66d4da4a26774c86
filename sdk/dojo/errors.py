"""One error hierarchy for the SDK, built from gRPC errors and their google.rpc details.

Callers branch on the class (or `code`) and on `retryable`, never on message text.
`field_violations` names the bad fields of an INVALID_ARGUMENT; `retry_after` comes from
RetryInfo.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import grpc
import grpc.aio
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status


@dataclass(frozen=True)
class FieldViolation:
    field: str  # dotted path, e.g. "training.learning_rate"
    description: str


@dataclass(frozen=True)
class QuotaViolation:
    subject: str
    description: str


M = TypeVar("M", bound=Message)

_BY_CODE: dict[grpc.StatusCode, type[DojoError]] = {}  # filled as the classes are declared


class DojoError(Exception):
    """Base of every SDK error. `code` is the gRPC status code (None for local errors)."""

    code: grpc.StatusCode | None = None
    retryable: bool = False

    def __init_subclass__(
        cls, *, code: grpc.StatusCode | None = None, retryable: bool = False, **kwargs: object
    ) -> None:
        """`class NotFoundError(DojoError, code=...)` makes it the class that
        `from_rpc_error` raises for that code; a subclass without `code` inherits."""
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code, cls.retryable = code, retryable
            _BY_CODE[code] = cls

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode | None = None,
        field_violations: Iterable[FieldViolation] = (),
        quota_violations: Iterable[QuotaViolation] = (),
        reason: str = "",
        metadata: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field_violations = list(field_violations)
        self.quota_violations = list(quota_violations)
        self.reason = reason  # ErrorInfo.reason, e.g. "JOB_NOT_CANCELLABLE"
        self.metadata = dict(metadata or {})
        self.retry_after = retry_after  # seconds, from RetryInfo

    def __str__(self) -> str:
        return self.message


class InvalidArgumentError(DojoError, code=grpc.StatusCode.INVALID_ARGUMENT):
    """A bad request; `field_violations` names the fields."""


class SpecError(InvalidArgumentError):
    """A job file that does not parse into a JobSpec (raised locally, before any call)."""

    def __init__(
        self, message: str, *, source: str = "", field_violations: Iterable[FieldViolation] = ()
    ) -> None:
        super().__init__(message, field_violations=field_violations)
        self.source = source


class NotFoundError(DojoError, code=grpc.StatusCode.NOT_FOUND):
    """The named job (or other resource) does not exist for this key."""


class AlreadyExistsError(DojoError, code=grpc.StatusCode.ALREADY_EXISTS):
    """The name is taken."""


class UnauthenticatedError(DojoError, code=grpc.StatusCode.UNAUTHENTICATED):
    """No API key, or one the server does not know."""


class PermissionDeniedError(DojoError, code=grpc.StatusCode.PERMISSION_DENIED):
    """The key's role may not do this (operator calls need an operator key)."""


class FailedPreconditionError(DojoError, code=grpc.StatusCode.FAILED_PRECONDITION):
    """Not allowed in the current state, e.g. cancelling a finished job (see `reason`)."""


class ResourceExhaustedError(DojoError, code=grpc.StatusCode.RESOURCE_EXHAUSTED, retryable=True):
    """Over a quota or rate limit; `quota_violations` and `retry_after` say more."""


class AbortedError(DojoError, code=grpc.StatusCode.ABORTED, retryable=True):
    """A concurrent change won; try again."""


class UnavailableError(DojoError, code=grpc.StatusCode.UNAVAILABLE, retryable=True):
    """The server cannot be reached (the message hints at the setting to fix)."""


class DeadlineExceededError(DojoError, code=grpc.StatusCode.DEADLINE_EXCEEDED, retryable=True):
    """No answer within the call's timeout."""


class CancelledError(DojoError, code=grpc.StatusCode.CANCELLED):
    """The call was cancelled before it finished."""


class InternalError(DojoError, code=grpc.StatusCode.INTERNAL):
    """The server failed; not the caller's fault."""


def status_code(err: grpc.RpcError) -> grpc.StatusCode | None:
    """The status of a failed call, sync (a grpc.Call) or asyncio (AioRpcError) alike."""
    return err.code() if isinstance(err, (grpc.Call, grpc.aio.AioRpcError)) else None


def status_details(err: grpc.RpcError) -> str:
    """The status message of a failed call ("" when it carries none)."""
    details = err.details() if isinstance(err, (grpc.Call, grpc.aio.AioRpcError)) else None
    return details or ""


def from_rpc_error(err: grpc.RpcError) -> DojoError:
    """The typed error for a failed call, with its rich status details unpacked."""
    code = status_code(err) or grpc.StatusCode.UNKNOWN
    message = status_details(err) or str(code)
    kwargs = _details(err)
    cls = _BY_CODE.get(code, DojoError)
    return cls(message, code=code, **kwargs)  # type: ignore[arg-type]


def _details(err: grpc.RpcError) -> dict[str, object]:
    try:
        # AioRpcError has the same code(), details(), trailing_metadata() as a grpc.Call
        call = err if isinstance(err, (grpc.Call, grpc.aio.AioRpcError)) else None
        status = rpc_status.from_call(call) if call is not None else None
    except ValueError:  # malformed details: keep the code and message
        status = None
    fields: list[FieldViolation] = []
    quotas: list[QuotaViolation] = []
    out: dict[str, object] = {"field_violations": fields, "quota_violations": quotas}
    for any_msg in status.details if status is not None else []:
        if (bad := _unpacked(any_msg, error_details_pb2.BadRequest)) is not None:
            fields += [FieldViolation(v.field, v.description) for v in bad.field_violations]
        elif (quota := _unpacked(any_msg, error_details_pb2.QuotaFailure)) is not None:
            quotas += [QuotaViolation(v.subject, v.description) for v in quota.violations]
        elif (info := _unpacked(any_msg, error_details_pb2.ErrorInfo)) is not None:
            out["reason"], out["metadata"] = info.reason, dict(info.metadata)
        elif (retry := _unpacked(any_msg, error_details_pb2.RetryInfo)) is not None:
            out["retry_after"] = retry.retry_delay.ToTimedelta().total_seconds()
    return out


def _unpacked(packed: any_pb2.Any, kind: type[M]) -> M | None:
    """The detail as a `kind` message, or None when it holds another kind."""
    message = kind()
    return message if packed.Unpack(message) else None  # Unpack checks the type name
