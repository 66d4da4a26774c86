"""Job and JobEvent rows → dojo.v1 protos, and request fields → service arguments.
The one place the gRPC API converts between wire types and the jobs context."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from google.protobuf import timestamp_pb2

from dojo.v1 import job_pb2
from dojocloud.common.errors import FieldViolation, InvalidArgument, NotFound, shown
from dojocloud.jobs.facade import (
    FailureReason,
    Job,
    JobEvent,
    lifecycle,
    record_from_reason,
    spec_of,
)
from dojocloud.tenancy.facade import Principal

if TYPE_CHECKING:
    from dojo_runtime.estimate import EstimateRow

_JOB_NAME = re.compile(r"^organizations/(?P<org>[^/]+)/jobs/(?P<job>[^/]+)$")
_BARE_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_NAME_FORM = {
    True: "must be organizations/{org}/jobs/{job} or a job id",
    False: "expected organizations/{org}/jobs/{job}",
}  # by bare_id
_PARENT = re.compile(r"^organizations/(?P<org>[^/]+)$")
_STATE_NAMES = list(job_pb2.JobState.DESCRIPTOR.values_by_name)
_STATE_FILTER = re.compile(r"^\s*state\s*=\s*(?P<state>[A-Za-z_]+)\s*$")


# --- requests → service arguments -------------------------------------------------------


def parse_job_name(
    name: str, field: str = "name", *, bare_id: bool = True
) -> tuple[str | None, str]:
    """(organization, job id) of `organizations/{org}/jobs/{job}`; with `bare_id`, a bare job
    id gives (None, id). The one parser of job names for both services; errors name `field`."""
    name = name.strip()
    if not name:
        raise InvalidArgument([FieldViolation(field, "is required")])
    match = _JOB_NAME.match(name)
    if match is not None:
        return match["org"], match["job"]
    if bare_id and _BARE_ID.match(name):
        return None, name
    raise InvalidArgument([FieldViolation(field, _NAME_FORM[bare_id])])


def job_id_from_name(principal: Principal, name: str, field: str = "name") -> str:
    """`organizations/{org}/jobs/{job}` (or the bare id) → the job id, within the caller's
    organization; a name in another organization is NotFound, like a missing job."""
    org, job_id = parse_job_name(name, field)
    if org is not None and org != principal.organization.slug:
        raise NotFound(name.strip())
    return job_id


def check_parent(principal: Principal, parent: str) -> None:
    """An empty parent means the caller's organization; another one is NotFound."""
    violations = parent_violations(principal, parent)
    if violations:
        raise InvalidArgument(violations)


def parent_violations(principal: Principal, parent: str) -> list[FieldViolation]:
    """What is wrong with `parent`'s form, to report with the request's other fields;
    a well-formed parent of another organization is NotFound at once."""
    if not parent:
        return []
    match = _PARENT.match(parent.strip())
    if match is None:
        return [FieldViolation("parent", "must be organizations/{org}")]
    if match["org"] != principal.organization.slug:
        raise NotFound(parent)
    return []


def state_from_filter(text: str) -> str | None:
    """The supported filter grammar: empty, or `state=NAME`."""
    if not text.strip():
        return None
    match = _STATE_FILTER.match(text)
    names = [s for s in _STATE_NAMES if s != "JOB_STATE_UNSPECIFIED"]
    if match is None or match["state"].upper() not in names:
        raise InvalidArgument(
            [
                FieldViolation(
                    "filter", f"must be state=<one of {', '.join(names)}>, got {shown(text)}"
                )
            ]
        )
    return match["state"].upper()


# --- rows → protos -----------------------------------------------------------------------


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def state_enum(state: str | None) -> job_pb2.JobState:
    if not state or state not in _STATE_NAMES:
        return job_pb2.JOB_STATE_UNSPECIFIED
    return job_pb2.JobState.Value(state)  # type: ignore[return-value]  # protoc's stubs: Value() -> int


def metric_point(data: Mapping[str, Any] | None) -> job_pb2.MetricPoint | None:
    if not data:
        return None
    acc = data.get("accuracy")
    return job_pb2.MetricPoint(
        step=int(data.get("step") or 0),
        loss=float(data.get("loss") or 0.0),
        accuracy=float(acc) if acc is not None else math.nan,
        samples_per_second=float(data.get("samples_per_second") or 0.0),
        device_seconds=float(data.get("device_seconds") or 0.0),
        wall_seconds=float(data.get("wall_seconds") or 0.0),
        modelled_samples_per_second=float(data.get("modelled_samples_per_second") or 0.0),
        loss_function=str(data.get("loss_function") or ""),
    )


def job_to_proto(job: Job, cost: Decimal | None = None) -> job_pb2.Job:
    """`cost`: what the rated ledger has billed the job so far (billing's figure; the caller
    reads it for a whole page at once)."""
    return job_pb2.Job(
        name=job.resource_name,
        uid=str(job.uid),
        spec=spec_of(job),
        state=state_enum(job.state),
        state_reason=job.state_reason,
        create_time=timestamp(job.created_at),
        start_time=timestamp(job.started_at),
        end_time=timestamp(job.ended_at),
        attempt=job.attempt,
        current_step=job.current_step,
        placement=job_pb2.Placement(
            pool=job.pool, accelerator=job.accelerator, devices=[str(d) for d in job.devices or []]
        ),
        pending_reason=job.pending_reason,
        queue_position=job.queue_position,
        usage=job_pb2.Usage(
            allocated_seconds=job.allocated_seconds,
            device_seconds=job.device_seconds,
            wall_seconds=job.wall_seconds,
            cost_usd=str(cost) if cost is not None else "",
        ),
        latest_metrics=metric_point(job.latest_metrics),
        evaluation=metric_point(job.evaluation),
        creator=job.creator_label,
        failure=failure_to_proto(job.failure or _failure_from_reason(job)),
    )


def _failure_from_reason(job: Job) -> dict[str, Any] | None:
    return record_from_reason(job.state_reason) if job.state == lifecycle.FAILED else None


def failure_to_proto(record: dict[str, Any] | None) -> job_pb2.JobFailure | None:
    """Job.failure (ports.Failure.record()) as the wire's JobFailure; None: not failed."""
    if not record:
        return None
    out = job_pb2.JobFailure(
        reason=str(FailureReason.parse(str(record["reason"]))),  # the same names as the enum
        message=str(record.get("message") or ""),
        last_log_lines=[str(line) for line in record.get("last_log_lines") or []],
    )
    if record.get("step") is not None:
        out.step = int(record["step"])
    return out


def event_to_proto(event: JobEvent, job_name: str) -> job_pb2.JobEvent:
    out = job_pb2.JobEvent(id=event.id, job=job_name, time=timestamp(event.time))
    data = event.data or {}
    if event.kind == JobEvent.KIND_STATE:
        out.state_change.CopyFrom(
            job_pb2.StateChange(
                from_state=state_enum(data.get("from")),
                to_state=state_enum(data.get("to")),
                reason=str(data.get("reason") or ""),
            )
        )
    elif event.kind == JobEvent.KIND_METRIC:
        out.metric.CopyFrom(metric_point(data) or job_pb2.MetricPoint())
    return out


def estimate_to_proto(rows: list[EstimateRow]) -> job_pb2.EstimateJobResponse:
    return job_pb2.EstimateJobResponse(
        options=[
            job_pb2.EstimateOption(
                accelerator=r.accelerator,
                count=r.count,
                step_seconds=r.step_seconds,
                total_seconds=r.total_seconds,
                cost_usd=r.cost_usd,
                cheapest=r.cheapest,
                fastest=r.fastest,
                peak_memory_bytes=r.peak_memory_bytes,
                device_memory_bytes=r.device_memory_bytes,
                fits=r.fits,
            )
            for r in rows
        ]
    )
