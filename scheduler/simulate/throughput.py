"""Relative throughput per accelerator type: how the simulator sizes a job's alternatives.

A trace row gives `count` devices and `duration_s` on its first accelerator type. When the
core places the job on another type, or on a different number of devices, the simulator
needs its run time there. The model (a stand-in until the runtime's estimator supplies
per-model throughput):

    work      = duration_s * count * THROUGHPUT[first]        (V100-seconds)
    run time  = work / (devices * THROUGHPUT[placed type])

i.e. work is conserved and scales linearly with device count (data-parallel training at
the batch sizes these jobs ran with), and a device's speed is its achievable dense BF16/FP16
training rate relative to one V100.

Rationale for the figures (peak dense tensor FLOPS, then the fraction real training reaches):
  gpu-v100   125 TFLOPS FP16; the unit.                                       1.0
  gpu-a100   312 TFLOPS BF16; MLPerf-style training runs ~2.5x a V100.        2.5
  gpu-h100   989 TFLOPS BF16; ~2.5-3x an A100 in MLPerf training (FP8 aside). 6.5
  dojo-tile  9 PFLOPS BF16/CFP8 (25 D1 dies, ../shared/specs/dojo_hardware.yaml);
             peak is ~9x an H100, but with 11 GB of SRAM per tile and no local
             HBM, achievable utilisation is lower: we credit 55% of the H100
             ratio relative to its peak, i.e. about five H100s.               32.0
Unknown types count as one V100, so a trace naming a new type still replays.
"""

from __future__ import annotations

from collections.abc import Mapping

THROUGHPUT: Mapping[str, float] = {
    "gpu-v100": 1.0,
    "gpu-a100": 2.5,
    "gpu-h100": 6.5,
    "dojo-tile": 32.0,
}
DEFAULT_THROUGHPUT = 1.0


def throughput(accelerator: str) -> float:
    """Training speed of one device of this type, relative to one V100."""
    return THROUGHPUT.get(accelerator, DEFAULT_THROUGHPUT)


def work_units(duration_s: float, count: int, accelerator: str) -> float:
    """Total work of a job in V100-seconds."""
    return duration_s * count * throughput(accelerator)


def run_time(work: float, devices: int, accelerator: str) -> float:
    """Seconds to do `work` V100-seconds on `devices` devices of `accelerator`."""
    return work / (max(devices, 1) * throughput(accelerator))


def equivalent_count(count: int, first: str, alternative: str) -> int:
    """Devices of `alternative` that match `count` of `first` in speed (at least one)."""
    return max(1, round(count * throughput(first) / throughput(alternative)))


def duration_on(duration_s: float, count: int, first: str, alternative: str) -> float:
    """Run time on `alternative` when sized with `equivalent_count` devices."""
    n = equivalent_count(count, first, alternative)
    return run_time(work_units(duration_s, count, first), n, alternative)
