"""Jobs and events as the portal's pages and JSON show them (read-only views of ORM rows)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import yaml
from django.utils import timezone

from dojo.v1 import job_pb2
from dojocloud.jobs.facade import (
    FailureReason,
    Job,
    JobEvent,
    lifecycle,
    record_from_reason,
    stored_spec,
)

STATES = list(lifecycle.ALL_STATES)


@dataclass(frozen=True)
class JobRow:
    id: str
    name: str
    state: str
    state_reason: str
    pending_reason: str
    queue_position: int
    accelerators: str
    count: int
    current_step: int
    total_steps: int
    created_at: datetime
    progress_pct: int
    cost: Decimal | None = None  # what the ledger has billed it so far; None: nothing yet


def _progress(job: Job) -> int:
    if not job.total_steps:
        return 0
    return min(100, int(100 * job.current_step / job.total_steps))


def job_row(job: Job, cost: Decimal | None = None) -> JobRow:
    # The spec's typed columns: a list page decodes no spec blob.
    return JobRow(
        id=job.id,
        name=job.name,
        state=job.state,
        state_reason=job.state_reason,
        pending_reason=job.pending_reason,
        queue_position=job.queue_position,
        accelerators=job.accelerator or " | ".join(job.accepted_accelerators),
        count=job.device_count,
        current_step=job.current_step,
        total_steps=job.total_steps,
        created_at=job.created_at,
        progress_pct=_progress(job),
        cost=cost,
    )


def any_active(rows: list[JobRow]) -> bool:
    """Whether the list is worth refreshing: some job on it can still change."""
    return any(r.state not in lifecycle.FINAL_STATES for r in rows)


def _running_wall_seconds(job: Job) -> float | None:
    """Wall time since start: the ledger only grows at segment ends, so this runs ahead."""
    if job.started_at is None:
        return None
    end = job.ended_at or timezone.now()
    return max(0.0, (end - job.started_at).total_seconds())


def job_detail(job: Job, spec: job_pb2.JobSpec) -> dict[str, Any]:
    metrics = job.latest_metrics or {}
    return {
        "row": job_row(job),
        "job": job,
        "spec": spec,
        "spec_yaml": spec_yaml(spec),
        "resource_name": job.resource_name,
        "is_final": job.state in lifecycle.FINAL_STATES,
        "cancellable": lifecycle.cancellable(job.state),
        "elapsed_seconds": _running_wall_seconds(job),
        "devices": list(job.devices or []),
        "latest": _clean_metrics(metrics),
        "evaluation": _clean_metrics(job.evaluation) if job.evaluation else None,
        "device_over_wall": _ratio(job.device_seconds, job.wall_seconds),
        "failure": failure_view(job),
    }


FAILURE_ADVICE = {
    "INVALID_DATA": "The dataset could not be loaded: check the file and upload it again.",
    "UNSUPPORTED_MODEL": "This model and its parameters cannot be trained here: change them.",
    "DIVERGED": "The loss became NaN or infinite: lower the learning rate or use fp32.",
    "OUT_OF_MEMORY": "The job passed its memory: a smaller batch or model, or more devices.",
    "MAX_RUNTIME": "The job ran out of time: raise limits.max_runtime_seconds.",
    "NODE_FAILURE": "The hardware under the job failed: submitting it again should work.",
    "INTERNAL": "The platform failed: submitting it again may work; tell support if not.",
}


def failure_view(job: Job) -> dict[str, Any] | None:
    """A FAILED job's reason, message, step, advice and last log lines, for the page."""
    if job.state != lifecycle.FAILED:
        return None
    record: dict[str, Any] = job.failure or record_from_reason(job.state_reason)
    reason = str(FailureReason.parse(str(record["reason"])))
    lines = [str(line) for line in record.get("last_log_lines") or []]
    return {
        "reason": reason,
        "message": record.get("message") or job.state_reason,
        "step": record.get("step"),
        "advice": FAILURE_ADVICE.get(reason, ""),
        "log_text": "\n".join(lines),
    }


def spec_yaml(spec: job_pb2.JobSpec) -> str:
    """The spec as a YAML job file (proto field names), ready for `dojo jobs submit`."""
    return yaml.safe_dump(stored_spec.spec_to_dict(spec), sort_keys=False)


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _clean_metrics(data: dict[str, Any]) -> dict[str, Any]:
    """NaN is not JSON: an accuracy that does not apply becomes None."""
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in data.items()}


def job_summary_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "state": job.state,
        "state_reason": job.state_reason,
        "final": job.state in lifecycle.FINAL_STATES,
        "current_step": job.current_step,
        "total_steps": job.total_steps,
        "pending_reason": job.pending_reason,
        "queue_position": job.queue_position,
        "attempt": job.attempt,
        "usage": {
            "allocated_seconds": job.allocated_seconds,
            "device_seconds": job.device_seconds,
            "wall_seconds": job.wall_seconds,
        },
        "elapsed_seconds": _running_wall_seconds(job),
        "latest_metrics": _clean_metrics(job.latest_metrics or {}),
    }


def event_json(event: JobEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "time": event.time.isoformat(),
        "kind": event.kind,
        "data": _clean_metrics(event.data or {}),
    }


@dataclass(frozen=True)
class StateEvent:
    id: int
    time: datetime
    from_state: str
    to_state: str
    reason: str


def state_event(event: JobEvent) -> StateEvent:
    data = event.data or {}
    return StateEvent(
        id=event.id,
        time=event.time,
        from_state=str(data.get("from") or ""),
        to_state=str(data.get("to") or ""),
        reason=str(data.get("reason") or ""),
    )
