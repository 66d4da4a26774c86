"""The ports through which a job's moments reach the apps that react to them, so that jobs
imports none of them.

* `segment_ended`: a worker's segment ended (ran to its end, was cancelled or preempted,
  failed, or never started). jobs moves the job's state, billing appends the usage row,
  scheduling releases the placement and wakes the loop.
* `job_submitted` and `job_cancelled`: scheduling wakes the loop (and, on a cancel, releases
  the placement).
* `job_finished`: a job reached a final state (SUCCEEDED, FAILED, CANCELLED), by whatever
  path: webhooks writes its deliveries in the same transaction (sent once it commits).
* `job_admitting`: a valid job is about to be created; billing refuses it (raises
  ResourceExhausted) when its estimated cost exceeds what is left of the monthly budget.

Each app subscribes in its AppConfig.ready(). Listeners run synchronously, in the port's
fixed order, inside the publisher's transaction: the checkpoint row, the usage row, the job
state and the placement release commit together or not at all (a worker killed mid-way
redoes the segment from its previous checkpoint). Anything that must wait for the commit
(waking the loop, dispatching) is registered with `transaction.on_commit`. Publishing while
a required app has not subscribed raises: usage is never dropped silently.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from django.db import transaction

E = TypeVar("E")


class MissingSubscriber(RuntimeError):
    """A port was published to while an app that must react to it had not subscribed."""


class LostLease(Exception):
    """Raised by the jobs listener when the job is no longer the publishing worker's: the
    whole transaction rolls back (another worker redoes the segment)."""


class Port(Generic[E]):
    """A typed, synchronous subscriber registry: one listener per app, called in the order
    of `required` (the first one may veto the event by raising)."""

    def __init__(self, name: str, required: tuple[str, ...]) -> None:
        self.name = name
        self.required = required
        self._listeners: dict[str, Callable[[E], None]] = {}

    def subscribe(self, app: str, listener: Callable[[E], None]) -> None:
        if app not in self.required:
            raise ValueError(f"{app!r} is not a subscriber of {self.name}: {self.required}")
        self._listeners[app] = listener  # ready() may run twice (tests): replace, not add

    def unsubscribe(self, app: str) -> None:
        self._listeners.pop(app, None)

    def publish(self, event: E) -> None:
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError(f"{self.name} must be published inside a transaction")
        missing = [app for app in self.required if app not in self._listeners]
        if missing:
            raise MissingSubscriber(f"{self.name}: no listener of {', '.join(missing)}")
        for app in self.required:
            self._listeners[app](event)


class Outcome(enum.StrEnum):
    CANCELLED = "cancelled"  # the job was cancelled meanwhile: usage only
    NEXT_SEGMENT = "segment"  # the job goes on: its next segment is dispatched
    SUCCEEDED = "succeeded"
    PREEMPTED = "preempted"  # checkpointed (or not started) and back in the queue
    FAILED = "failed"


class FailureReason(enum.StrEnum):
    """Why a job FAILED, as a stable code a customer can act on (match on it, never on the
    text); the same names as the proto's JobFailure.Reason.

    The codes before these were mapped so: PROCESS_CRASHED -> INTERNAL; TRAINING_ERROR ->
    INVALID_DATA, UNSUPPORTED_MODEL or DIVERGED by the runtime's typed error, else INTERNAL;
    MAX_RUNTIME_EXCEEDED -> MAX_RUNTIME (`parse` reads the old ones in stored events)."""

    INVALID_DATA = "INVALID_DATA"  # the dataset failed to load in the worker
    UNSUPPORTED_MODEL = "UNSUPPORTED_MODEL"  # the model cannot be built or trained here
    DIVERGED = "DIVERGED"  # NaN or infinite loss, at Failure.step
    OUT_OF_MEMORY = "OUT_OF_MEMORY"  # its process exceeded its memory limit
    MAX_RUNTIME = "MAX_RUNTIME"  # limits.max_runtime_seconds ran out
    NODE_FAILURE = "NODE_FAILURE"  # the device or worker under it failed past its retries
    INTERNAL = "INTERNAL"  # the platform's fault (a crash, an unexpected error)

    @classmethod
    def parse(cls, code: str) -> FailureReason:
        """A stored code, old ones included; an unknown one is INTERNAL."""
        code = _OLD_CODES.get(code, code)
        return cls(code) if code in cls.__members__ else cls.INTERNAL


_OLD_CODES = {
    "PROCESS_CRASHED": "INTERNAL",
    "TRAINING_ERROR": "INTERNAL",
    "MAX_RUNTIME_EXCEEDED": "MAX_RUNTIME",
}


@dataclass(frozen=True)
class Failure:
    """A classified failure: its code, what happened, the step it happened at (where known),
    the last lines of the job's log, and figures (the peak and the limit of an
    OUT_OF_MEMORY) that go into the FAILED state event beside the code."""

    reason: FailureReason
    message: str
    detail: Mapping[str, int | float | str] = field(default_factory=dict)
    step: int | None = None
    last_log_lines: tuple[str, ...] = ()

    @property
    def reason_text(self) -> str:
        return f"{self.reason}: {self.message}"

    def event_data(self) -> dict[str, int | float | str]:
        data = {**self.detail, "failure": str(self.reason)}
        if self.step is not None:
            data["step"] = self.step
        return data

    def record(self) -> dict[str, object]:
        """What the job row keeps (Job.failure) and GetJob returns."""
        return {
            "reason": str(self.reason),
            "message": self.message,
            "step": self.step,
            "last_log_lines": list(self.last_log_lines),
        }


def record_from_reason(state_reason: str) -> dict[str, object]:
    """A FAILED job's failure record when it has none (failed before records were kept, or
    by a path that gives none): the code is the state reason's prefix "CODE: message" when
    that is a code, old or new; else INTERNAL with the whole reason as the message."""
    code, sep, message = state_reason.partition(": ")
    if sep and (code in FailureReason.__members__ or code in _OLD_CODES):
        return {"reason": str(FailureReason.parse(code)), "message": message}
    return {"reason": str(FailureReason.INTERNAL), "message": state_reason}


RELEASING = frozenset({Outcome.SUCCEEDED, Outcome.PREEMPTED, Outcome.FAILED})


@dataclass(frozen=True)
class SegmentRun:
    """What a segment that trained did: the usage billed for it."""

    start_step: int
    end_step: int
    samples: int
    wall_seconds: float
    device_seconds: float
    started_at: datetime
    ended_at: datetime


@dataclass(frozen=True)
class SegmentEnded:
    job_id: str
    lease: str  # the worker lease that ran it; the state moves only under it
    attempt: int
    segment: int
    pool: str
    accelerator: str
    device_count: int
    outcome: Outcome
    reason: str
    run: SegmentRun | None  # None: the segment never trained (preempted first, crashed)
    next_token: str = ""  # NEXT_SEGMENT: the dispatch token of the next segment
    failure: Failure | None = None  # FAILED: the classified reason

    @property
    def releases_placement(self) -> bool:
        return self.outcome in RELEASING


@dataclass(frozen=True)
class JobSubmitted:
    job_id: str


@dataclass(frozen=True)
class JobCancelled:
    job_id: str


@dataclass(frozen=True)
class JobFinished:
    job_id: str
    organization_id: int
    state: str  # SUCCEEDED, FAILED or CANCELLED
    reason: str
    at: datetime
    detail: Mapping[str, object] = field(default_factory=dict)  # the state event's figures


@dataclass(frozen=True)
class JobAdmission:
    """A validated job about to be created, as the budget check needs it. The billed
    quantity is computed only if asked (an organization without a budget costs nothing)."""

    organization_id: int
    organization_slug: str
    accelerator: str  # the spec's first (preferred) type: what the estimate is for
    preemptible: bool  # the spec's flag: which of the pool's rates it would pay
    device_seconds: Callable[[], float]  # the estimate's modelled device-seconds, all devices


segment_ended: Port[SegmentEnded] = Port("segment_ended", ("jobs", "billing", "scheduling"))
job_submitted: Port[JobSubmitted] = Port("job_submitted", ("scheduling",))
job_cancelled: Port[JobCancelled] = Port("job_cancelled", ("scheduling",))
job_finished: Port[JobFinished] = Port("job_finished", ("webhooks",))
job_admitting: Port[JobAdmission] = Port("job_admitting", ("billing",))
