"""A job accepting gpu-a100 and gpu-h100 is placed by the live loop (the database store and
the default policy's kept queue, as scheduling.runner runs them) where the runtime's
estimate finishes first, or where it costs least when its spec says `placement: cheapest`.
For the digits job on one device the estimator models an H100 a little faster and an A100
cheaper (its price book rate is lower), so the two choices differ. Estimates are stored at
submit (Job.modelled_steps) and corrected by the pace measured once a segment finished."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from dojo.v1 import job_pb2
from dojocloud.billing.facade import accelerator_prices
from dojocloud.common.errors import InvalidArgument
from dojocloud.execution.outcomes import SegmentResult, finish_segment
from dojocloud.execution.segments import claim
from dojocloud.jobs import control, lifecycle
from dojocloud.jobs import services as jobs
from dojocloud.jobs.facade import SegmentRun
from dojocloud.jobs.models import Job
from dojocloud.jobs.transitions import transition
from dojocloud.scheduling.runner import build_loop
from dojocloud.scheduling.snapshot import build_snapshot
from dojocloud.tenancy.services import Principal
from tests.support.people import admit, make_spec, two_tenants


@pytest.fixture
def acme(db: None, settings, tmp_path: Path) -> Principal:  # type: ignore[no-untyped-def]
    settings.CHECKPOINT_DIR = tmp_path / "checkpoints"
    return two_tenants()[0]


def _mixed(placement: str = "") -> job_pb2.JobSpec:
    spec = make_spec(f"mixed-{placement or 'default'}", accelerator="gpu-a100")
    spec.resources.accelerators.append("gpu-h100")
    spec.placement = placement
    return spec


def _placed(who: Principal, spec: job_pb2.JobSpec) -> Job:
    job = jobs.create_job(who, spec)
    loop = build_loop()
    result = loop.run_once()
    loop.leader.release()
    assert result.admitted == 1
    job.refresh_from_db()
    return job


def _estimates(job: Job) -> dict[str, tuple[float, float]]:
    """accelerator -> (modelled seconds, modelled USD) for the whole job."""
    prices = accelerator_prices()
    return {
        a: (step * job.total_steps, step * job.total_steps * count * prices[a] / 3600)
        for a, (count, step) in job.modelled_steps.items()
    }


def test_a_mixed_type_job_runs_where_it_finishes_first(acme: Principal) -> None:
    job = _placed(acme, _mixed())
    est = _estimates(job)
    assert set(est) == {"gpu-a100", "gpu-h100"}
    assert est["gpu-h100"][0] < est["gpu-a100"][0]  # faster on the H100 ...
    assert job.accelerator == "gpu-h100" and job.pool == "gpu-h100"


def test_placement_cheapest_runs_it_where_it_costs_least(acme: Principal) -> None:
    job = _placed(acme, _mixed("cheapest"))
    est = _estimates(job)
    assert est["gpu-a100"][1] < est["gpu-h100"][1]  # ... cheaper on the A100
    assert job.cheapest_first
    assert job.accelerator == "gpu-a100" and job.pool == "gpu-a100"


def test_the_snapshot_feeds_the_modelled_estimates_for_the_remaining_steps(
    acme: Principal,
) -> None:
    job = jobs.create_job(acme, _mixed())
    Job.objects.filter(id=job.id).update(current_step=2)  # as after a finished segment
    (q,) = [r for r in build_snapshot(timezone.now().timestamp()).queued if r.job_id == job.id]
    for accel, (count, step) in job.modelled_steps.items():
        assert q.counts[accel] == count
        assert q.est_durations[accel] == pytest.approx(step * (job.total_steps - 2))


def _preempted_after(job: Job, steps: int, wall: float) -> None:
    """Admitted on one A100, `steps` steps in `wall` seconds, then preempted back to the
    queue: the worker's real outcome code writes the ledger row the pace is read from."""
    at = timezone.now() - timedelta(minutes=5)
    placed = admit(job, ("gpu-a100/n0/g0",), at=at, pool="gpu-a100", accelerator="gpu-a100")
    assert placed == 1
    job.refresh_from_db()
    claimed = claim(job.id, job.dispatch_token, "test-lease")
    assert claimed is not None
    transition(job.id, lifecycle.RUNNING, "running", expect=[lifecycle.SCHEDULED], now=at)
    claimed.refresh_from_db()
    run = SegmentRun(0, steps, steps * 8, wall, wall / 10, at, at + timedelta(seconds=wall))
    outcome = SegmentResult(run=run, stop=control.STOP_PREEMPT, checkpoint=b"weights")
    assert finish_segment(claimed, "test-lease", outcome) == "preempted"
    job.refresh_from_db()
    assert job.state == lifecycle.QUEUED


def test_after_a_segment_the_estimates_follow_the_measured_pace(acme: Principal) -> None:
    job = jobs.create_job(acme, _mixed())
    step_a100 = job.modelled_steps["gpu-a100"][1]
    _preempted_after(job, 2, wall=2 * 1000 * step_a100)  # 1,000 times slower than modelled
    (q,) = [r for r in build_snapshot(timezone.now().timestamp()).queued if r.job_id == job.id]
    left = job.total_steps - 2
    for accel, (_, step) in job.modelled_steps.items():
        assert q.est_durations[accel] == pytest.approx(step * left * 1000)


def test_a_one_type_job_keeps_no_per_option_estimates(acme: Principal) -> None:
    assert jobs.create_job(acme, make_spec("single")).modelled_steps == {}


def test_an_unknown_placement_is_refused_naming_the_field(acme: Principal) -> None:
    with pytest.raises(InvalidArgument) as err:
        jobs.create_job(acme, _mixed("soonest"))
    assert [v.field for v in err.value.violations] == ["placement"]
    assert not Job.objects.exists()
