"""Typed domain errors. Services raise these; each adapter maps them once:
gRPC status codes with google.rpc details (dojocloud.api), portal messages (views).
`retryable` tells a client whether trying again can succeed.
"""

from __future__ import annotations

from dataclasses import dataclass

SHOWN_CHARS = 60  # of a value echoed in a message


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """`repr(value)` cut to about `limit` characters: a violation names what was sent
    without echoing a megabyte of it (the gRPC adapter caps each text again)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


@dataclass(frozen=True)
class FieldViolation:
    field: str  # dotted path in the JobSpec / request, e.g. "training.learning_rate"
    description: str


class DojoError(Exception):
    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(DojoError):
    """Bad input: names every offending field."""

    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = list(violations)
        super().__init__(
            "; ".join(f"{v.field}: {v.description}" for v in self.violations) or "invalid"
        )


class NotFound(DojoError):
    """Missing, or owned by another tenant (the two are indistinguishable by design)."""

    def __init__(self, resource: str) -> None:
        self.resource = resource
        super().__init__(f"{resource} not found")


class Unauthenticated(DojoError):
    pass


class PermissionDenied(DojoError):
    pass


class FailedPrecondition(DojoError):
    """A state conflict, e.g. cancelling a job that already finished."""


class AlreadyExists(DojoError):
    """A create that names a resource that already exists: a client-chosen id, or a request
    id reused with a different spec (AIP-155); `message` says which when it is not plain."""

    def __init__(self, resource: str, message: str = "") -> None:
        self.resource = resource
        super().__init__(message or f"{resource} already exists")


class ResourceExhausted(DojoError):
    """Quota or budget exceeded."""

    retryable = True

    def __init__(self, message: str, *, subject: str = "", retry_after_s: float | None = None):
        super().__init__(message)
        self.subject = subject
        self.retry_after_s = retry_after_s


class Unavailable(DojoError):
    """This server cannot serve the call now (it is shutting down); another one, or this
    one later, can: the client retries, resuming where it stopped."""

    retryable = True
