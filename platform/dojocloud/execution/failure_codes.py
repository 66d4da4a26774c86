"""From how a job process ended to the customer's failure code (jobs' FailureReason).

The job process names the runtime's typed error it died of (`code_of`, sent in its "error"
message); the worker maps that and the supervisor's own classification (out of memory,
crashed) here, in one place."""

from __future__ import annotations

from dojo_runtime.failures import Diverged, InvalidData, UnsupportedModel

INVALID_DATA = "INVALID_DATA"
UNSUPPORTED_MODEL = "UNSUPPORTED_MODEL"
DIVERGED = "DIVERGED"
INTERNAL = "INTERNAL"
_BY_TYPE: tuple[tuple[type[BaseException], str], ...] = (
    (Diverged, DIVERGED),
    (InvalidData, INVALID_DATA),
    (UnsupportedModel, UNSUPPORTED_MODEL),
)


def code_of(exc: BaseException) -> tuple[str, int | None]:
    """The failure code of an error raised in a job process, and its step where known."""
    for kind, code in _BY_TYPE:
        if isinstance(exc, kind):
            return code, exc.step if isinstance(exc, Diverged) else None
    return INTERNAL, None


def reason_of(process_failure: str, code: str | None) -> str:
    """The FailureReason value of a job process's end: the supervisor's OUT_OF_MEMORY stays;
    a TRAINING_ERROR takes the code the process sent (INTERNAL when none); a crash is
    INTERNAL."""
    if process_failure == "OUT_OF_MEMORY":
        return "OUT_OF_MEMORY"
    if process_failure == "TRAINING_ERROR" and code in (INVALID_DATA, UNSUPPORTED_MODEL, DIVERGED):
        return code
    return INTERNAL
