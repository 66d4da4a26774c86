"""The budget check at CreateJob: the job's modelled cost is billing's to judge, so jobs
publishes the admission through its port (billing subscribes; jobs imports nothing above it).
The estimate is the runtime's for the spec's preferred accelerator and count, the same
figure `EstimateJob` shows and the ledger bills on emulated hardware."""

from __future__ import annotations

from dojo.v1 import job_pb2
from dojo_runtime.estimate import estimate_config
from dojocloud.jobs.ports import JobAdmission, job_admitting
from dojocloud.jobs.runtime_config import train_config
from dojocloud.jobs.validation import dataset_of
from dojocloud.tenancy.facade import Organization


def modelled_device_seconds(spec: job_pb2.JobSpec, organization: Organization) -> float:
    """Device-seconds of the whole job on its first accelerator option (all its devices)."""
    config = train_config(spec, dataset=dataset_of(spec, organization))
    option = (spec.resources.accelerators[0], int(spec.resources.count))
    row = estimate_config(config, options=[option])[0]
    return row.total_seconds * row.count


def admit(organization: Organization, spec: job_pb2.JobSpec) -> None:
    """Raises what billing's listener raises (ResourceExhausted) when the job may not start.
    Called inside the transaction that creates the job (services.create_job)."""
    event = JobAdmission(
        organization_id=organization.pk,
        organization_slug=organization.slug,
        accelerator=spec.resources.accelerators[0],
        preemptible=spec.preemptible,
        device_seconds=lambda: modelled_device_seconds(spec, organization),
    )
    job_admitting.publish(event)
