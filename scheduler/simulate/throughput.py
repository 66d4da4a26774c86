"""How long a job runs where the core placed it: the simulator's ground truth.

A trace row gives `count` devices and `duration_s` on its first accelerator type. When the
core places the job on another type (or on a different number of devices) the simulator
needs its run time there. It uses the figures the core sizes alternatives with
(Capacity.figures: peak dense BF16 throughput per device, from dojo_runtime.specs), so the
simulated world and the scheduler's estimates agree, plus one assumption of its own:

    work      = duration_s * count * throughput(first)          (FLOP at peak)
    run time  = work / (devices * throughput(placed type))

i.e. work is conserved and scales linearly with the device count (data-parallel training
at the batch sizes the jobs ran with). A type without figures follows the core's one rule
(scheduler.core.figures: it counts as the slowest known type), so a trace naming a new type
still replays.
"""

from __future__ import annotations

from scheduler.core.figures import Figures

__all__ = ["run_time", "work_units"]


def work_units(duration_s: float, count: int, accelerator: str, figures: Figures) -> float:
    """Total work of a job: device-seconds on its first type times that type's speed."""
    return duration_s * count * figures.throughput(accelerator)


def run_time(work: float, devices: int, accelerator: str, figures: Figures) -> float:
    """Seconds to do `work` on `devices` devices of `accelerator`."""
    return work / (max(devices, 1) * figures.throughput(accelerator))
