"""PNG plots of one or more replays (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from scheduler.simulate import metrics as m  # noqa: E402
from scheduler.simulate.state import ReplayResult  # noqa: E402

TIMELINE_BINS = 400
HOUR = 3600.0


def _time_axis(start: float, end: float) -> tuple[float, str]:
    span = end - start
    if span >= 4 * 86400:
        return 86400.0, "days"
    if span >= 4 * HOUR:
        return HOUR, "hours"
    return 60.0, "minutes"


def _span(results: Sequence[ReplayResult]) -> tuple[float, float]:
    spans = [m.makespan(r.jobs) for r in results]
    return min(s[0] for s in spans), max(s[1] for s in spans)


def plot_timelines(results: Sequence[ReplayResult], out: Path) -> list[Path]:
    """utilization.png and queue.png: time-averaged per bin, one line per policy."""
    start, end = _span(results)
    unit, unit_name = _time_axis(start, end)
    paths = []
    for name, title, ylabel in (
        ("utilization", "Utilization over time", "allocated / usable devices (%)"),
        ("queue", "Queue length over time", "jobs waiting"),
    ):
        fig, ax = plt.subplots(figsize=(10, 4), dpi=110)
        for r in results:
            tl = r.timeline
            values = tl.busy if name == "utilization" else tl.queued
            x, y = m.binned(tl.times, values, start, max(end, start + 1), TIMELINE_BINS)
            if name == "utilization":
                y = 100.0 * y / max(tl.capacity, 1)
            ax.plot((x - start) / unit, y, label=r.name, linewidth=1.2)
        ax.set(title=title, xlabel=f"time since first submit ({unit_name})", ylabel=ylabel)
        if name == "utilization":
            ax.set_ylim(0, 105)
        ax.grid(alpha=0.3)
        ax.legend(title="policy / run times")
        fig.tight_layout()
        path = out / f"{name}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


def plot_jct_cdf(results: Sequence[ReplayResult], out: Path) -> Path:
    """jct_cdf.png: fraction of jobs finished within x seconds, log x axis, per policy."""
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for r in results:
        jcts = np.sort([m.jct(j) for j in m.finished(r.jobs)])
        if jcts.size == 0:
            continue
        frac = np.arange(1, jcts.size + 1) / jcts.size
        label = f"{r.name} (mean {jcts.mean():,.0f} s)"
        ax.step(np.maximum(jcts, 1.0), frac, where="post", label=label, linewidth=1.4)
    ax.set_xscale("log")
    ax.set(
        title="Job completion time CDF",
        xlabel="job completion time (s, log scale)",
        ylabel="fraction of jobs",
        ylim=(0, 1.02),
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(title="policy / run times", loc="upper left")
    fig.tight_layout()
    path = out / "jct_cdf.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def write_plots(results: Sequence[ReplayResult], out: Path) -> list[Path]:
    if not results:
        return []
    return [*plot_timelines(results, out), plot_jct_cdf(results, out)]
