"""Report math against hand-computed values."""

from __future__ import annotations

import pytest

from scheduler.simulate import metrics as m
from scheduler.simulate.state import SimJob, Timeline
from scheduler.simulate.trace import TraceJob


def _job(i: int, submit: float, finish: float | None, run_s: float) -> SimJob:
    t = TraceJob(f"j{i}", submit, "t", ("gpu-v100",), 1, run_s)
    return SimJob(i, t, 100, 0, run_s, run_s, finish=finish, run_s=run_s)


def test_percentile_stats() -> None:
    s = m.percentile_stats([10.0, 20.0, 30.0, 40.0])
    assert s.mean == 25.0
    assert s.p50 == 25.0
    assert s.p99 == pytest.approx(39.7)  # linear interpolation: 30 + 0.97 * 10
    assert m.percentile_stats([]) == m.Stats(0.0, 0.0, 0.0)


def test_jct_and_queueing_delay() -> None:
    j = _job(0, submit=100.0, finish=400.0, run_s=120.0)
    assert m.jct(j) == 300.0
    assert m.queueing_delay(j) == 180.0


@pytest.mark.parametrize(
    ("values", "expected"),
    [([1, 1, 1, 1], 1.0), ([1, 0, 0, 0], 0.25), ([1, 2], 0.9), ([2, 2, 4], 64 / 72), ([], 1.0)],
)
def test_jain_index(values: list[float], expected: float) -> None:
    assert m.jain_index(values) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("capacity", "demands", "weights", "expected"),
    [
        (12, [2, 10, 10], None, [2, 5, 5]),  # the small one is capped at its demand
        (12, [20, 20], [1, 2], [4, 8]),  # weighted split
        (10, [3, 3], None, [3, 3]),  # enough for everyone
        (9, [0, 9, 9], None, [0, 4.5, 4.5]),
    ],
)
def test_water_fill(
    capacity: float, demands: list[float], weights: list[float] | None, expected: list[float]
) -> None:
    assert m.water_fill(capacity, demands, weights) == pytest.approx(expected)


def test_step_integral_and_utilization() -> None:
    # 8 devices: 4 busy over [0, 10), 8 busy over [10, 20), 0 after 20.
    tl = Timeline(capacity=8, times=[0.0, 10.0, 20.0], busy=[4, 8, 0], queued=[0, 3, 0])
    assert m.step_integral(tl.times, tl.busy, 0.0, 20.0) == 120.0
    assert m.step_integral(tl.times, tl.busy, 5.0, 15.0) == 4 * 5 + 8 * 5
    assert m.utilization(tl, 0.0, 20.0) == pytest.approx(120 / 160)
    assert m.utilization(tl, 0.0, 40.0) == pytest.approx(120 / 320)


def test_binned_time_averages() -> None:
    x, y = m.binned([0.0, 10.0, 20.0], [4, 8, 0], 0.0, 20.0, 4)
    assert list(x) == [0.0, 5.0, 10.0, 15.0]
    assert list(y) == pytest.approx([4, 4, 8, 8])
    _, y2 = m.binned([0.0, 10.0], [4, 8], 0.0, 20.0, 1)
    assert list(y2) == pytest.approx([6.0])
    # A series that starts late is zero before its first point.
    _, y3 = m.binned([10.0], [2], 0.0, 20.0, 2)
    assert list(y3) == pytest.approx([0.0, 2.0])


def test_makespan_spans_first_submit_to_last_finish() -> None:
    jobs = [_job(0, 5.0, 50.0, 10.0), _job(1, 0.0, 30.0, 10.0), _job(2, 1.0, None, 0.0)]
    assert m.makespan(jobs) == (0.0, 50.0)
    assert [j.trace.job_id for j in m.finished(jobs)] == ["j0", "j1"]
