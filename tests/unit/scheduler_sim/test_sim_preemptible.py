"""Preemptible (spot) jobs in the simulator: a seeded fraction of the trace, and the core
stopping them first when capacity is needed."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from scheduler.simulate.cli import main
from scheduler.simulate.replay import ReplayOptions, preemptible_for, replay
from scheduler.simulate.summary import summarize
from scheduler.simulate.trace import TraceJob
from tests.unit.scheduler_sim.test_sim_modes import ONE_NODE, _a100s, _gpu_workload


def _t(job_id: str, submit: float, count: int, duration: float, priority: str) -> TraceJob:
    return TraceJob(job_id, submit, "x", ("gpu-v100",), count, duration, priority)


def test_the_fraction_is_seeded_and_bounded() -> None:
    trace = [_t(f"j{i}", i, 1, 10.0, "normal") for i in range(2000)]
    flags = preemptible_for(trace, ReplayOptions(preemptible_fraction=0.25, preemptible_seed=4))
    assert flags == preemptible_for(
        trace, ReplayOptions(preemptible_fraction=0.25, preemptible_seed=4)
    )
    assert 0.2 < sum(flags) / len(flags) < 0.3
    assert not any(preemptible_for(trace, ReplayOptions()))
    assert all(preemptible_for(trace, ReplayOptions(preemptible_fraction=1.0)))
    with pytest.raises(ValueError, match="preemptible fraction"):
        preemptible_for(trace, ReplayOptions(preemptible_fraction=1.5))


def test_a_preemptible_job_is_stopped_before_the_cheapest_other_victim() -> None:
    # Two low-priority jobs fill the node; a normal job arrives. "low" has lost less work
    # since its last checkpoint, so without the flag it would be the victim.
    trace = [
        _t("spot", 0.0, 4, 10_000.0, "low"),
        _t("low", 1.0, 4, 10_000.0, "low"),
        _t("w", 2_000.0, 4, 100.0, "normal"),
    ]
    options = ReplayOptions(quotas="none")
    result = replay(trace, ONE_NODE, options)
    stopped = {j.trace.job_id: j.preemptions for j in result.jobs}
    assert stopped == {"low": 1, "spot": 0, "w": 0}  # without the flag: the lower priority
    spot_result = replay(trace, ONE_NODE, replace(options, preemptible_ids=frozenset({"spot"})))
    stopped = {j.trace.job_id: j.preemptions for j in spot_result.jobs}
    assert stopped == {"low": 0, "spot": 1, "w": 0}
    summary = summarize(spot_result)
    assert summary["preemptible_jobs"] == 1
    assert summary["preemptions_of_preemptible"] == 1 and summary["preemptions_of_others"] == 0


def test_preemptible_jobs_take_the_preemptions_of_a_busy_workload() -> None:
    trace = _gpu_workload(jobs=300, tenants=3, seed=5, interarrival=60.0)
    result = replay(trace, _a100s(), ReplayOptions(preemptible_fraction=0.3, preemptible_seed=1))
    s = summarize(result)
    assert 60 < s["preemptible_jobs"] < 120
    assert s["finished"] == len(trace)
    # spot jobs are 30% of the jobs but carry most of the stops
    assert s["preemptions_of_preemptible"] > s["preemptions_of_others"]


def test_cli_option(tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text(
        "job_id,submit_s,tenant,accelerators,count,duration_s,priority\n"
        + "".join(f"j{i},{i * 10},t{i % 2},gpu-a100,4,500,normal\n" for i in range(40))
    )
    out = tmp_path / "out"
    code = main(
        [
            "--trace",
            str(trace),
            "--policy",
            "default",
            "--out",
            str(out),
            "--preemptible-fraction",
            "0.5",
            "--no-progress",
        ]
    )
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    run = summary if "preemptible_jobs" in summary else next(iter(summary["modes"].values()))
    assert run["preemptible_jobs"] > 0
