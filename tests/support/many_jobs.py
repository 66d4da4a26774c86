"""Many jobs in one organization, fast: one job created through the real service (spec
validation, the stored spec, its event), then copied row by row with bulk_create (new id,
uid, name and creation time; states mixed as a busy organization's are). For the job list's
query-count test and benchmarks/bench_portal.py."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.utils import timezone

from dojo.specfile import parse_yaml
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job, new_job_id
from dojocloud.tenancy.services import Principal

SPEC = """
name: many
model: {architecture: mlp, params: {hidden: 8, layers: 1}}
dataset: {name: digits}
training: {steps: 600, batch_size: 8, optimizer: adam, learning_rate: 0.01, precision: fp32,
           checkpoint_interval: 100, seed: 1}
resources: {accelerators: [dojo-tile], count: 1}
"""
STATES = ("SUCCEEDED", "SUCCEEDED", "FAILED", "CANCELLED", "RUNNING", "QUEUED")


def fill(principal: Principal, count: int, batch: int = 1000) -> None:
    """Adds `count` jobs to the principal's organization (the first through the service)."""
    first = jobs.create_job(principal, parse_yaml(SPEC))
    template = Job.objects.get(id=first.id)
    now = timezone.now()
    rows = []
    for i in range(1, count):
        row = _copy(template)
        row.id, row.uid, row.name = new_job_id(), uuid.uuid4(), f"many-{i}"
        row.created_at = now - timedelta(seconds=count - i)
        row.state = STATES[i % len(STATES)]
        row.current_step = 0 if row.state == "QUEUED" else (i * 7) % 600
        rows.append(row)
    Job.objects.bulk_create(rows, batch_size=batch)


def _copy(template: Job) -> Job:
    fields = {f.attname: getattr(template, f.attname) for f in Job._meta.concrete_fields}
    return Job(**fields)
