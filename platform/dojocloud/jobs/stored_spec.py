"""The stored job spec: the one place that writes and reads the JSON blob on `Job.spec`.

A job keeps its validated JobSpec twice, on purpose:
- the blob (`Job.spec`, the spec as a dict of proto field names, the form of a YAML job file):
  the whole spec, for the API, the portal's detail page and the worker;
- typed columns for what other code filters and ranks by (accepted accelerators, device count,
  priority, steps, runtime limit): the scheduler's snapshot, the operators' queue and the
  portal's lists read those, without decoding a blob per row.

`encode` gives both from one spec, so they cannot disagree; `decode` turns the blob back into a
JobSpec, once per Job instance. The columns' defaults for a spec that leaves a field out are
stated here once (`DEFAULT_ACCELERATOR`, `DEFAULT_DEVICE_COUNT`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from google.protobuf import json_format

from dojo.v1 import job_pb2
from scheduler.core import DOJO_ACCELERATOR

if TYPE_CHECKING:  # models imports this module for the column defaults
    from dojocloud.jobs.models import Job

DEFAULT_ACCELERATOR = DOJO_ACCELERATOR  # a spec that lists no accelerator asks for a tile
DEFAULT_DEVICE_COUNT = 1
_CACHE = "_stored_spec_decoded"  # Job instance attribute: (blob it came from, spec)


def default_accelerators() -> list[str]:
    """The accepted-accelerators column's default (a callable: each row gets its own list)."""
    return [DEFAULT_ACCELERATOR]


@dataclass(frozen=True)
class SpecColumns:
    """What the typed columns hold for one spec. Priority is not here: it is the value of
    the spec's priority class, which scheduler.core.priority owns (see `JobFields`)."""

    accepted_accelerators: list[str]  # preferred first
    device_count: int  # of the first accepted type
    total_steps: int
    max_runtime_seconds: int
    preemptible: bool = False

    @classmethod
    def of(cls, spec: job_pb2.JobSpec) -> SpecColumns:
        """Pure: the columns of a spec (the data migration fills old rows through this)."""
        return cls(
            accepted_accelerators=list(spec.resources.accelerators) or default_accelerators(),
            device_count=int(spec.resources.count) or DEFAULT_DEVICE_COUNT,
            total_steps=int(spec.training.steps),
            max_runtime_seconds=int(spec.limits.max_runtime_seconds),
            preemptible=bool(spec.preemptible),
        )


class JobFields(TypedDict):
    """The Job model fields a spec fills: `Job.objects.create(**encode(spec, priority), ...)`."""

    spec: dict[str, Any]
    accepted_accelerators: list[str]
    device_count: int
    priority: int
    total_steps: int
    max_runtime_seconds: int
    preemptible: bool
    cheapest_first: bool


def spec_to_dict(spec: job_pb2.JobSpec) -> dict[str, Any]:
    """The spec as stored: a dict of proto field names (also the YAML job file's shape)."""
    return json_format.MessageToDict(spec, preserving_proto_field_name=True)


def spec_from_dict(blob: Mapping[str, Any]) -> job_pb2.JobSpec:
    """A stored blob as a JobSpec. Fields this version does not know (a spec stored by a
    newer or older release) are skipped rather than making the job unreadable."""
    return json_format.ParseDict(dict(blob), job_pb2.JobSpec(), ignore_unknown_fields=True)


def encode(spec: job_pb2.JobSpec, priority: int) -> JobFields:
    """The Job fields of a validated spec; `priority` is its class's value (the core's)."""
    columns = SpecColumns.of(spec)
    return JobFields(
        spec=spec_to_dict(spec),
        accepted_accelerators=columns.accepted_accelerators,
        device_count=columns.device_count,
        priority=priority,
        total_steps=columns.total_steps,
        max_runtime_seconds=columns.max_runtime_seconds,
        preemptible=columns.preemptible,
        cheapest_first=spec.placement == "cheapest",
    )


def decode(job: Job) -> job_pb2.JobSpec:
    """The job's spec, decoded once per instance (a segment reads it several times). The
    cache follows the blob object, so refresh_from_db or a new blob decodes again. Callers
    treat the result as read-only: it is shared."""
    cached: tuple[object, job_pb2.JobSpec] | None = getattr(job, _CACHE, None)
    if cached is not None and cached[0] is job.spec:
        return cached[1]
    spec = spec_from_dict(job.spec if isinstance(job.spec, Mapping) else {})
    setattr(job, _CACHE, (job.spec, spec))
    return spec
