"""What the core is told of run times (hidden, noisy, oracle), how the modes differ in a
replay and in the report, and fairness against entitlement on multi-tenant workloads."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from scheduler.core.model import Capacity, GpuNode
from scheduler.inventory import load_inventory
from scheduler.simulate.cli import CLUSTERS, main
from scheduler.simulate.generate import WorkloadSpec, generate
from scheduler.simulate.replay import ReplayOptions, estimates_for, replay
from scheduler.simulate.summary import summarize
from scheduler.simulate.trace import TraceJob

ONE_NODE = Capacity(gpu_nodes=(GpuNode("gpu-v100", "n0"),))


def _t(job_id: str, submit: float, count: int, duration: float, tenant: str = "x") -> TraceJob:
    return TraceJob(job_id, submit, tenant, ("gpu-v100",), count, duration, "normal")


def _gpu_workload(jobs: int, tenants: int, seed: int, interarrival: float) -> list[TraceJob]:
    """A seeded multi-tenant GPU workload that dev.yaml's a100 pool (2 nodes) can hold."""
    spec = WorkloadSpec(
        jobs=jobs,
        tenants=tenants,
        seed=seed,
        mean_interarrival_s=interarrival,
        dojo_fraction=0.0,
        flexible_fraction=0.0,
        gpu_pools=("gpu-a100",),
    )
    return [replace(t, count=min(t.count, 8)) for t in generate(spec)]


def _a100s() -> Capacity:
    """dev.yaml's two a100 nodes alone (so utilization is that of the contended pool)."""
    dev = load_inventory(CLUSTERS / "dev.yaml")
    return replace(dev, tiles=(), gpu_nodes=tuple(n for n in dev.gpu_nodes if n.pool == "gpu-a100"))


def test_estimates_per_mode() -> None:
    trace = [_t(f"j{i}", i, 1, 100.0 + i) for i in range(4000)]
    assert estimates_for(trace, ReplayOptions(estimates="hidden")) == [None] * 4000
    assert estimates_for(trace, ReplayOptions(estimates="oracle")) == [t.duration_s for t in trace]
    noisy = estimates_for(trace, ReplayOptions(estimates="noisy", estimate_sigma=0.5))
    again = estimates_for(trace, ReplayOptions(estimates="noisy", estimate_sigma=0.5))
    other = estimates_for(
        trace, ReplayOptions(estimates="noisy", estimate_sigma=0.5, estimate_seed=1)
    )
    assert noisy == again and noisy != other  # seeded
    logs = np.log([e / t.duration_s for e, t in zip(noisy, trace, strict=True)])  # type: ignore[operator]
    assert abs(float(logs.mean())) < 0.05 and float(logs.std()) == pytest.approx(0.5, rel=0.08)
    with pytest.raises(ValueError, match="sigma"):
        estimates_for(trace, ReplayOptions(estimates="noisy", estimate_sigma=-1.0))
    with pytest.raises(ValueError, match="estimate mode"):
        replay(trace[:1], ONE_NODE, ReplayOptions(estimates="psychic"))


def test_hidden_run_times_preempt_by_service_oracle_does_not() -> None:
    # `long` has 500 s left when `short` (1,000 s) arrives: the oracle knows it is nearly
    # done and lets it finish; without run times it has had far more service, so it goes.
    trace = [_t("long", 0, 8, 1500.0), _t("short", 1000, 8, 1000.0)]
    hidden = replay(trace, ONE_NODE, ReplayOptions(policy="default", estimates="hidden"))
    oracle = replay(trace, ONE_NODE, ReplayOptions(policy="default", estimates="oracle"))
    finish = {r.estimates: {j.trace.job_id: j.finish for j in r.jobs} for r in (hidden, oracle)}
    assert oracle.preemptions == 0 and finish["oracle"] == {"long": 1500.0, "short": 2500.0}
    assert hidden.preemptions == 1
    assert finish["hidden"]["short"] == 1000.0 + 60.0 + 1000.0  # after the victim's grace
    assert all(j.est_duration_s is None for j in hidden.jobs)
    assert summarize(hidden)["estimates"] == "hidden"


def test_las_preempts_and_beats_fifo_without_run_times() -> None:
    jobs = _gpu_workload(300, 3, 2, 30.0)
    cap = _a100s()
    las = summarize(replay(jobs, cap, ReplayOptions(policy="las", estimates="hidden")))
    fifo = summarize(replay(jobs, cap, ReplayOptions(policy="fifo", estimates="hidden")))
    assert las["unfinished"] == fifo["unfinished"] == 0
    assert las["preemptions"] > 0
    assert las["avg_jct_s"] < fifo["avg_jct_s"] / 2


def test_default_holds_jain_on_a_multi_tenant_workload_with_quotas() -> None:
    # One priority class: a higher class outranks fair share by design, so a tenant with
    # more high-priority jobs rightly gets more than its entitlement.
    jobs = [replace(t, priority="normal") for t in _gpu_workload(1500, 6, 11, 12.0)]
    cap = replace(_a100s(), gpu_nodes=tuple(GpuNode("gpu-a100", f"n{i}") for i in range(8)))
    s = summarize(replay(jobs, cap, ReplayOptions(policy="default", quotas="equal")))
    # contended (jobs wait), or fairness is moot
    assert s["unfinished"] == 0 and s["utilization"] > 0.5 and s["avg_queue_s"] > 600
    assert len([t for t in s["tenants"] if t["share_ratio"] is not None]) == 6
    assert s["preemptions"] > 0  # least attained service at work, within fair share
    assert s["jain_index"] >= 0.95
    assert s["ftf_mean"] is not None and s["ftf_max"] >= s["ftf_mean"] > 0


def test_cli_reports_every_mode(tmp_path: Path) -> None:
    trace = tmp_path / "syn.csv"
    assert main(["generate", "--out", str(trace), "--jobs", "40", "--seed", "3"]) == 0
    out = tmp_path / "r"
    args = ["--trace", str(trace), "--cluster", str(CLUSTERS / "dev.yaml"), "--no-progress"]
    assert (
        main([*args, "--policy", "fifo,default", "--estimates", "hidden,noisy,oracle",
              "--estimate-sigma", "0.8", "--out", str(out)])
        == 0
    )  # fmt: skip
    top = json.loads((out / "summary.json").read_text())
    assert top["estimates"] == "hidden" and top["policy"] == "fifo"
    assert set(top["modes"]) == {"hidden", "noisy", "oracle"}
    assert set(top["modes"]["noisy"]) == {"fifo", "default"}
    noisy = json.loads((out / "default" / "noisy" / "summary.json").read_text())
    assert noisy["estimates"] == "noisy" and noisy["estimate_sigma"] == 0.8
    assert noisy["label"] == "default/noisy"
    assert top["modes"]["oracle"]["default"]["estimate_sigma"] is None
    assert math.isfinite(top["modes"]["oracle"]["default"]["avg_jct_s"])
    # --no-estimates is --estimates hidden; combined with other modes it is an error
    assert main([*args, "--no-estimates", "--out", str(tmp_path / "h")]) == 0
    hidden = json.loads((tmp_path / "h" / "summary.json").read_text())
    assert hidden["estimates"] == "hidden" and "modes" not in hidden
    assert main([*args, "--no-estimates", "--estimates", "oracle", "--out", str(out)]) == 2
    assert main([*args, "--estimates", "psychic", "--out", str(out)]) == 2
