"""Trace simulator: replays job traces through the scheduling core in virtual time.

Edges (files in, reports out) around the pure core: trace readers (trace.py), a synthetic
workload generator (generate.py), the event-driven replay (engine.py) that drives
`scheduler.core` through driver.py, report math (metrics.py, summary.py) and output
(report.py, plots.py). The CLI is cli.py; usage in README.md.
"""

from scheduler.simulate.generate import WorkloadSpec, generate
from scheduler.simulate.replay import ReplayOptions, SimulationError, replay
from scheduler.simulate.report import write_report
from scheduler.simulate.summary import summarize
from scheduler.simulate.trace import TraceJob, load_trace, read_native, read_philly, write_native

__all__ = [
    "ReplayOptions",
    "SimulationError",
    "TraceJob",
    "WorkloadSpec",
    "generate",
    "load_trace",
    "read_native",
    "read_philly",
    "replay",
    "summarize",
    "write_native",
    "write_report",
]
