"""Domain errors → gRPC status with google.rpc details. The one place this mapping lives;
`error_fit` keeps what it builds within the transport's metadata limits."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from dojocloud.api import error_fit
from dojocloud.common import errors

DOMAIN = "dojo.cloud"

# Most specific first: subclasses of these map to their parent's code.
_CODES: list[tuple[type[errors.DojoError], int, str]] = [
    (errors.InvalidArgument, code_pb2.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
    (errors.NotFound, code_pb2.NOT_FOUND, "NOT_FOUND"),
    (errors.AlreadyExists, code_pb2.ALREADY_EXISTS, "ALREADY_EXISTS"),
    (errors.Unauthenticated, code_pb2.UNAUTHENTICATED, "UNAUTHENTICATED"),
    (errors.PermissionDenied, code_pb2.PERMISSION_DENIED, "PERMISSION_DENIED"),
    (errors.FailedPrecondition, code_pb2.FAILED_PRECONDITION, "FAILED_PRECONDITION"),
    (errors.ResourceExhausted, code_pb2.RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED"),
    (errors.Unavailable, code_pb2.UNAVAILABLE, "UNAVAILABLE"),
]


def _packed(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def to_status_proto(err: errors.DojoError) -> status_pb2.Status:
    code, reason = code_pb2.INTERNAL, "INTERNAL"
    for cls, c, r in _CODES:
        if isinstance(err, cls):
            code, reason = c, r
            break
    # A service may name a finer reason (e.g. "JOB_ALREADY_FINAL") on the error itself.
    reason = getattr(err, "reason", "") or reason
    metadata = {"retryable": "true" if err.retryable else "false"}
    details = []
    message = error_fit.cut(err.message, error_fit.MESSAGE_BYTES)
    if isinstance(err, errors.InvalidArgument):
        bad_request, listed = error_fit.bad_request(err.violations)
        details.append(_packed(bad_request))
        message = error_fit.message(err.violations, listed)
    elif isinstance(err, errors.NotFound | errors.AlreadyExists):
        metadata["resource"] = error_fit.cut(err.resource, error_fit.METADATA_VALUE_BYTES)
    elif isinstance(err, errors.ResourceExhausted):
        details.append(
            _packed(
                error_details_pb2.QuotaFailure(
                    violations=[
                        error_details_pb2.QuotaFailure.Violation(
                            subject=error_fit.cut(err.subject, error_fit.FIELD_BYTES),
                            description=message,
                        )
                    ]
                )
            )
        )
        if err.retry_after_s is not None:
            delay = duration_pb2.Duration()
            delay.FromNanoseconds(int(err.retry_after_s * 1e9))
            details.append(_packed(error_details_pb2.RetryInfo(retry_delay=delay)))
    details.insert(
        0, _packed(error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN, metadata=metadata))
    )
    return status_pb2.Status(code=code, message=message, details=details)


def to_grpc_status(err: errors.DojoError) -> grpc.Status:
    return rpc_status.to_status(to_status_proto(err))


def grpc_code(err: errors.DojoError) -> grpc.StatusCode:
    return to_grpc_status(err).code
