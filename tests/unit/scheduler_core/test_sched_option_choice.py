"""A job accepting several types runs on the option that finishes first, or on the cheapest
when it asks (JobRequest.cheapest_first); each breaks ties by the other. Estimates and
counts per option are the platform's (the runtime's modelled time)."""

from __future__ import annotations

import pytest

from scheduler.core import Capacity, GpuNode, JobRequest, Snapshot, schedule
from tests.unit.scheduler_core.builders import FIGURES

NODES = (GpuNode("gpu-a100", "n0"), GpuNode("gpu-h100", "n0"))
ACCELS = ("gpu-a100", "gpu-h100")

CASES = [
    # est seconds per option, devices per option, cheapest_first, chosen type
    ("faster on the H100", {"gpu-a100": 100.0, "gpu-h100": 90.0}, {}, False, "gpu-h100"),
    ("cheaper on the A100", {"gpu-a100": 100.0, "gpu-h100": 90.0}, {}, True, "gpu-a100"),
    ("equal time: the cheaper", {"gpu-a100": 100.0, "gpu-h100": 100.0}, {}, False, "gpu-a100"),
    (
        "more A100s cost more",
        {"gpu-a100": 100.0, "gpu-h100": 90.0},
        {"gpu-a100": 8, "gpu-h100": 1},
        True,
        "gpu-h100",
    ),
    ("faster and cheaper on the A100", {"gpu-a100": 10.0, "gpu-h100": 90.0}, {}, False, "gpu-a100"),
]


@pytest.mark.parametrize(
    "est,counts,cheapest,chosen", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_the_option_follows_the_job_s_placement_choice(
    est: dict[str, float], counts: dict[str, int], cheapest: bool, chosen: str
) -> None:
    job = JobRequest(
        "j", "a", ACCELS, 1, 0.0, est_durations=est, counts=counts, cheapest_first=cheapest
    )
    (a,) = schedule(Snapshot(0.0, Capacity((), NODES, FIGURES), (job,))).admits
    assert a.placement.accelerator == chosen
    assert len(a.placement.devices) == (counts or {}).get(chosen, 1)
