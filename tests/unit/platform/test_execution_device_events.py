"""A job's events say where it trains: a GPU-pool job on a host without CUDA trains its
ranks on the CPU and says so; a Dojo job says its tiles are emulated on the CPU. The segment
runs in real job processes (a gang of two gloo ranks for the two-GPU job)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dojocloud.common.inventory import inventory
from dojocloud.execution import segments
from dojocloud.jobs import lifecycle
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job, JobEvent
from dojocloud.scheduling import capacity
from dojocloud.scheduling.models import Device
from dojocloud.scheduling.store import DatabaseStore
from tests.support.people import TRAINING, People, admit, make_spec

# Where this host has CUDA (a GPU machine running the suite), the GPU job trains there.
GPU_WHERE = (
    "training on cuda:0" + (", cuda:1" if torch.cuda.device_count() > 1 else "")
    if torch.cuda.is_available()
    else "training on cpu (no CUDA device on this host)"
)


@pytest.fixture
def inventory_synced(db: None, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.CHECKPOINT_DIR = tmp_path / "checkpoints"
    settings.HEARTBEAT_INTERVAL_S = 3600
    capacity.sync_inventory(inventory())


def _run_to_the_end(job: Job) -> Job:
    for _ in range(5):
        job.refresh_from_db()
        if job.state in lifecycle.FINAL_STATES:
            break
        segments.run_segment(job.id, job.dispatch_token)
    job.refresh_from_db()
    return job


def _running_reason(job: Job) -> str:
    event = JobEvent.objects.get(job=job, kind=JobEvent.KIND_STATE, data__to="RUNNING")
    return str(event.data["reason"])


def test_a_gpu_job_on_a_host_without_cuda_trains_on_the_cpu_and_says_so(
    inventory_synced: None, people: People
) -> None:
    gpus = list(Device.objects.filter(pool="gpu-a100").order_by("id").values_list("id", flat=True))
    spec = make_spec(count=2, accelerator="gpu-a100", training={**TRAINING, "steps": 2})
    job = jobs.create_job(people.owner, spec)
    admit(job, gpus[:2], store=DatabaseStore(), pool="gpu-a100", accelerator="gpu-a100")
    job = _run_to_the_end(job)
    assert job.state == lifecycle.SUCCEEDED, job.state_reason
    assert _running_reason(job) == f"training started: 2 ranks, {GPU_WHERE}"


def test_a_dojo_job_says_its_tiles_are_emulated_on_the_cpu(
    inventory_synced: None, people: People
) -> None:
    tile = Device.objects.filter(pool="dojo").order_by("id").values_list("id", flat=True)[0]
    job = jobs.create_job(people.owner, make_spec(training={**TRAINING, "steps": 2}))
    admit(job, (tile,), store=DatabaseStore())
    job = _run_to_the_end(job)
    assert job.state == lifecycle.SUCCEEDED, job.state_reason
    assert _running_reason(job) == (
        "training started: 1 rank, training on cpu (Dojo tiles are emulated on the CPU)"
    )
