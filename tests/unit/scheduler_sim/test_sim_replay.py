"""The event-driven replay: virtual time, the core's decisions applied, preemption loss."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from scheduler.core.model import Admit, Capacity, Decisions, GpuNode, Placement, Preempt
from scheduler.simulate.generate import WorkloadSpec, generate
from scheduler.simulate.replay import Replay, ReplayOptions, replay
from scheduler.simulate.state import SimJob
from scheduler.simulate.summary import summarize
from scheduler.simulate.trace import TraceJob

ONE_NODE = Capacity(gpu_nodes=(GpuNode("gpu-v100", "n0"),))


def _t(
    job_id: str,
    submit: float,
    count: int,
    duration: float,
    tenant: str = "x",
    priority: str = "normal",
) -> TraceJob:
    return TraceJob(job_id, submit, tenant, ("gpu-v100",), count, duration, priority)


TRACE = [_t("a", 0, 8, 100), _t("b", 10, 8, 50), _t("c", 20, 1, 10, tenant="y")]


@pytest.mark.parametrize("driver", ["incremental", "snapshot"])
def test_fifo_replay_matches_hand_computed_times(driver: str) -> None:
    r = replay(TRACE, ONE_NODE, ReplayOptions(policy="fifo", driver=driver))
    times = {j.trace.job_id: (j.first_start, j.finish) for j in r.jobs}
    # a holds the node until 100; b (8 GPUs) is next; c waits behind b under strict FIFO.
    assert times == {"a": (0.0, 100.0), "b": (100.0, 150.0), "c": (150.0, 160.0)}
    s = summarize(r)
    assert s["jobs"] == 3 and s["unfinished"] == 0
    assert s["avg_jct_s"] == pytest.approx((100 + 140 + 140) / 3)
    assert s["p50_jct_s"] == 140.0
    assert s["avg_queue_s"] == pytest.approx((0 + 90 + 130) / 3)
    assert s["makespan_s"] == 160.0
    # 8 of 8 busy for 150 s, then 1 of 8 for 10 s.
    assert s["utilization"] == pytest.approx((8 * 150 + 10) / (8 * 160))
    assert s["preemptions"] == 0


def test_infeasible_jobs_are_reported_not_hung() -> None:
    r = replay([_t("big", 0, 16, 10), _t("ok", 1, 1, 5)], ONE_NODE, ReplayOptions(policy="las"))
    assert r.unfinished == 1
    assert next(j for j in r.jobs if j.trace.job_id == "ok").finish == 6.0
    assert any("infeasible" in reason for reason in r.unfinished_reasons)


def test_high_priority_preempts_through_the_core_after_grace() -> None:
    trace = [_t(f"low{i}", 0, 1, 10_000, priority="low") for i in range(8)]
    trace.append(_t("urgent", 100, 1, 50, priority="high"))
    r = replay(trace, ONE_NODE, ReplayOptions(policy="default", grace_period_s=60.0))
    urgent = next(j for j in r.jobs if j.trace.job_id == "urgent")
    assert r.preemptions == 1
    assert urgent.first_start == 160.0  # after the victim's 60 s grace period
    victim = next(j for j in r.jobs if j.preemptions == 1)
    assert victim.lost_s == 0.0  # it checkpointed within its grace
    assert r.unfinished == 0


class ScriptedDriver:
    """Admits every queued job on the one GPU; preempts the running job at given times."""

    def __init__(self, preempt_at: dict[float, float]) -> None:
        self.preempt_at = preempt_at  # time -> grace seconds
        self.queue: list[SimJob] = []

    def enqueue(self, job: SimJob) -> None:
        self.queue.append(job)

    def admitted(self, job: SimJob) -> None:
        self.queue.remove(job)

    def released(self, job: SimJob) -> None:
        pass

    def decide(self, now: float, running: Iterable[SimJob], explain: bool = False) -> Decisions:
        run = [j for j in running if j.preempted_for is None]
        if run and now in self.preempt_at:
            grace = self.preempt_at.pop(now)
            return Decisions(preemptions=(Preempt(run[0].trace.job_id, "test", None, grace),))
        if run or not self.queue:
            return Decisions()
        p = Placement("gpu-v100", "gpu-v100", ("gpu-v100/n0/g0",))
        return Decisions(admits=(Admit(self.queue[0].trace.job_id, p, "test"),))


def _scripted(grace: float) -> SimJob:
    # "tick" only creates an event at t=700, where the script preempts "a".
    trace = [_t("a", 0, 1, 1000), _t("tick", 700, 1, 1)]
    r = Replay(trace, ONE_NODE, ReplayOptions(policy="fifo", checkpoint_interval_s=300.0))
    r.driver = ScriptedDriver({700.0: grace})  # type: ignore[assignment]
    result = r.run()
    return next(j for j in result.jobs if j.trace.job_id == "a")


def test_hard_preemption_loses_work_since_last_checkpoint() -> None:
    a = _scripted(grace=0.0)
    # Checkpoints at 300 and 600, so 100 s are lost at 700. "a" re-queues behind "tick",
    # which runs 700-701; then "a" resumes from its 600 s checkpoint.
    assert a.preemptions == 1
    assert a.lost_s == 100.0
    assert a.finish == 701.0 + 400.0  # 400 s of work left after the 600 s checkpoint
    assert a.run_s == 700.0 + 400.0


def test_preemption_with_grace_checkpoints_and_loses_nothing() -> None:
    a = _scripted(grace=60.0)
    assert a.lost_s == 0.0
    # Runs on until 760 and saves; "tick" (queued at 700) then runs 760-761.
    assert a.finish == 761.0 + 240.0


def test_drivers_agree_on_a_synthetic_trace() -> None:
    trace = generate(WorkloadSpec(jobs=120, tenants=3, seed=3, mean_interarrival_s=120))
    cap = Capacity(
        gpu_nodes=tuple(GpuNode(p, f"n{i}") for p in ("gpu-a100", "gpu-h100") for i in range(2))
    )
    trace = [t for t in trace if t.accelerators[0] != "dojo-tile"]
    a = replay(trace, cap, ReplayOptions(policy="fifo", driver="incremental"))
    b = replay(trace, cap, ReplayOptions(policy="fifo", driver="snapshot"))
    assert [j.finish for j in a.jobs] == [j.finish for j in b.jobs]
    assert a.unfinished == b.unfinished


@pytest.mark.parametrize("quotas", ["equal", "none"])
def test_quota_modes_replay_every_job(quotas: str) -> None:
    r = replay(TRACE, ONE_NODE, ReplayOptions(policy="default", quotas=quotas))
    assert r.unfinished == 0
    assert {j.trace.job_id: j.finish for j in r.jobs}["a"] == 100.0


def test_unknown_quota_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown quota mode"):
        replay(TRACE, ONE_NODE, ReplayOptions(quotas="lavish"))


def test_tenant_fairness_against_hand_computed_entitlements() -> None:
    s = summarize(replay(TRACE, ONE_NODE, ReplayOptions(policy="fifo")))
    rows = {r["tenant"]: r for r in s["tenants"]}
    # x holds 8 GPUs for 150 s. Max-min fair over the 8: x gets 8 until y arrives at 20,
    # then 7 (y asks for 1) until 150, so x is owed 8*20 + 7*130; y is owed 1*130 + 1*10.
    assert rows["x"]["allocated_device_s"] == pytest.approx(1200.0)
    # Entitlements are water-filled per time bin (1000 over the makespan): the one bin
    # straddling t=150 is off by a fraction of a device-second.
    assert rows["x"]["fair_device_s"] == pytest.approx(1070.0, rel=1e-3)
    assert rows["y"]["allocated_device_s"] == pytest.approx(10.0)
    assert rows["y"]["fair_device_s"] == pytest.approx(140.0, rel=1e-3)
    x, y = 1200 / 1070, 10 / 140
    assert s["jain_index"] == pytest.approx((x + y) ** 2 / (2 * (x * x + y * y)), rel=1e-3)
    # Finish-time fairness: an equal slice is 4 GPUs; a (8 GPUs) would take 200 s alone.
    assert rows["x"]["ftf_mean"] == pytest.approx((100 / 200 + 140 / 100) / 2)
    assert rows["y"]["ftf_max"] == pytest.approx(140 / 10)
