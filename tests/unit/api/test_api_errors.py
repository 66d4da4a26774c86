"""Domain errors → gRPC status with google.rpc details, and back through the SDK."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2

from dojocloud.api.errors import to_grpc_status, to_status_proto
from dojocloud.common import errors


def details(err: errors.DojoError) -> dict[str, object]:
    out: dict[str, object] = {}
    for any_msg in to_status_proto(err).details:
        for cls in (
            error_details_pb2.BadRequest,
            error_details_pb2.ErrorInfo,
            error_details_pb2.QuotaFailure,
            error_details_pb2.RetryInfo,
        ):
            if any_msg.Is(cls.DESCRIPTOR):
                msg = cls()
                any_msg.Unpack(msg)
                out[cls.__name__] = msg
    return out


@pytest.mark.parametrize(
    ("err", "code"),
    [
        (
            errors.InvalidArgument([errors.FieldViolation("name", "bad")]),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (errors.NotFound("organizations/a/jobs/b"), grpc.StatusCode.NOT_FOUND),
        (errors.Unauthenticated("no key"), grpc.StatusCode.UNAUTHENTICATED),
        (errors.PermissionDenied("viewer"), grpc.StatusCode.PERMISSION_DENIED),
        (errors.FailedPrecondition("final"), grpc.StatusCode.FAILED_PRECONDITION),
        (errors.ResourceExhausted("quota"), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (errors.DojoError("??"), grpc.StatusCode.INTERNAL),
    ],
)
def test_codes_and_error_info(err: errors.DojoError, code: grpc.StatusCode) -> None:
    status = to_grpc_status(err)
    assert status.code == code
    assert status.details == err.message
    info = details(err)["ErrorInfo"]
    assert info.reason == code.name and info.domain == "dojo.cloud"  # type: ignore[attr-defined]
    assert info.metadata["retryable"] == str(err.retryable).lower()  # type: ignore[attr-defined]


def test_invalid_argument_lists_every_field() -> None:
    err = errors.InvalidArgument(
        [
            errors.FieldViolation("training.steps", "must be > 0"),
            errors.FieldViolation("model.params.hidden", "too big"),
        ]
    )
    bad = details(err)["BadRequest"]
    assert [(v.field, v.description) for v in bad.field_violations] == [  # type: ignore[attr-defined]
        ("training.steps", "must be > 0"),
        ("model.params.hidden", "too big"),
    ]


def test_resource_exhausted_has_quota_failure_and_retry_info() -> None:
    err = errors.ResourceExhausted(
        "6 tiles max", subject="organization:acme/dojo", retry_after_s=2.5
    )
    d = details(err)
    assert d["QuotaFailure"].violations[0].subject == "organization:acme/dojo"  # type: ignore[attr-defined]
    assert d["RetryInfo"].retry_delay.ToTimedelta().total_seconds() == 2.5  # type: ignore[attr-defined]
    assert "RetryInfo" not in details(errors.ResourceExhausted("no hint"))


def test_not_found_names_the_resource() -> None:
    info = details(errors.NotFound("organizations/a/jobs/b"))["ErrorInfo"]
    assert info.metadata["resource"] == "organizations/a/jobs/b"  # type: ignore[attr-defined]


def test_status_is_carried_in_the_standard_trailer() -> None:
    status = to_grpc_status(errors.FailedPrecondition("done"))
    keys = [k for k, _ in status.trailing_metadata]
    assert keys == ["grpc-status-details-bin"]


def _wire_bytes(err: errors.DojoError) -> int:
    """What the status costs in trailers: percent-encoded message, base64 details."""
    import base64
    from urllib.parse import quote

    status = to_status_proto(err)
    encoded = quote(status.message.encode(), safe=" !\"#$&'()*+,-./:;<=>?@[\\]^_`{|}~")
    return len(encoded) + len(base64.b64encode(status.SerializeToString()))


@pytest.mark.parametrize(
    "err",
    [
        errors.InvalidArgument([errors.FieldViolation("resources.accelerators[0]", "x" * 20_000)]),
        errors.InvalidArgument(
            [errors.FieldViolation("model.params." + "k" * 5000, "é" * 5000) for _ in range(200)]
        ),
        errors.NotFound("organizations/" + "ü" * 50_000),
        errors.FailedPrecondition("job " + "y" * 100_000 + " is final"),
    ],
)
def test_status_always_fits_the_metadata_limit(err: errors.DojoError) -> None:
    assert _wire_bytes(err) < 7 * 1024


def test_the_long_tail_is_counted_in_one_last_violation() -> None:
    many = [
        errors.FieldViolation(
            f"model.params.p{i}", "mlp has no parameter; it has ['hidden', 'layers']"
        )
        for i in range(300)
    ]
    bad = details(errors.InvalidArgument(many))["BadRequest"]
    listed = list(bad.field_violations)  # type: ignore[attr-defined]
    assert listed[0].field == "model.params.p0" and 20 < len(listed) < 300
    assert listed[-1].field == ""
    assert listed[-1].description == f"and {301 - len(listed)} more violations not listed"
    message = to_status_proto(errors.InvalidArgument(many)).message
    assert message.startswith("model.params.p0: ") and message.endswith(" more")
