"""No shared disk, proven (issue 15, item 7): two worker "hosts" — separate Celery worker
processes with separate DOJO_DATA_DIRs — share only the database, Redis and an object store
(S3, served by moto over HTTP). Host A trains the job's first segment and is killed; host B
picks the job up from the checkpoint A wrote to the store. The job finishes with weights
bit-identical to the same job trained straight on one host, and every step is billed once."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from django.contrib.auth.models import User
from platform_worker_procs import Workers
from test_platform_worker import steps_for

from dojo_runtime.training import Trainer
from dojocloud.billing.models import UsageRecord
from dojocloud.execution.checkpoints import latest_checkpoint
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Checkpoint, Job
from dojocloud.jobs.runtime_config import train_config
from dojocloud.jobs.validation import validate_spec
from dojocloud.tenancy.services import create_organization, principal_for_user
from tests.support.driving import drive, tiny_spec
from tests.support.moto_s3 import ACCESS_KEY, REGION, SECRET_KEY, moto_server, use_bucket

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture
def s3_env(settings: Any) -> Iterator[dict[str, str]]:
    """The one object store both hosts (and this process) reach: a bucket on moto."""
    with moto_server() as endpoint:
        url = use_bucket(settings, endpoint)
        yield {
            "DOJO_STORAGE_URL": url,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }


def _host(live: Workers, s3_env: dict[str, str], data_dir: Path) -> Any:
    return live.start(env={**s3_env, "DOJO_DATA_DIR": str(data_dir)})


def test_a_job_whose_segments_run_on_two_hosts_matches_a_single_host_run(
    live: Workers, s3_env: dict[str, str], tmp_path: Path
) -> None:
    alice = User.objects.create_user("alice")
    create_organization("acme", "Acme", alice)
    interval = steps_for(3.0)  # a segment of seconds: A is killed before the job ends
    spec = tiny_spec(steps=3 * interval, interval=interval)
    job = jobs.create_job(principal_for_user(alice), spec)
    host_a = _host(live, s3_env, tmp_path / "host-a")
    drive(lambda: Checkpoint.objects.filter(job_id=job.id).exists(), live.logs, timeout=300)
    host_a.send_signal(signal.SIGKILL)  # host A is gone, its disk with it
    host_a.wait(timeout=10)
    first = Checkpoint.objects.filter(job_id=job.id).order_by("step").first()
    assert first is not None
    assert first.step == interval and first.key.startswith("orgs/")

    _host(live, s3_env, tmp_path / "host-b")
    drive(lambda: Job.objects.get(id=job.id).is_final, live.logs, timeout=300)
    job.refresh_from_db()
    assert job.state == "SUCCEEDED", (job.state_reason, live.logs())
    logs = sorted(live.log_dir.glob("w*.log"))
    assert len(logs) == 2
    assert "segment: segment" in logs[0].read_text(errors="replace")  # A ran one
    assert "segment: succeeded" in logs[1].read_text(errors="replace")  # B finished
    # Neither host kept a checkpoint on its own disk: they are in the store only.
    for host in ("host-a", "host-b"):
        assert not list((tmp_path / host).rglob("*.pt")), host

    # Billed once per step: contiguous segments from 0 to the end.
    spans = [
        (r.start_step, r.end_step)
        for r in UsageRecord.objects.filter(job=job).order_by("start_step")
    ]
    assert spans[0][0] == 0 and spans[-1][1] == 3 * interval
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))

    restored = latest_checkpoint(job.id)
    assert restored is not None and restored[0].step == 3 * interval
    config = train_config(validate_spec(spec))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the workers' job processes ran (DOJO_TORCH_THREADS=1)
    try:
        trainer = Trainer(config)
        alone = trainer.train(trainer.initial_state(), 3 * interval).model.state_dict()
    finally:
        torch.set_num_threads(threads)
    trained = Trainer(config).restore(restored[1]).model.state_dict()
    assert trained.keys() == alone.keys()
    assert all(torch.equal(trained[k], alone[k]) for k in alone)
