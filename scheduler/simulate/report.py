"""Writes a replay report: summary.json, per-job CSV, PNG plots, and a text table."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scheduler.simulate.plots import write_plots
from scheduler.simulate.state import ReplayResult
from scheduler.simulate.summary import summarize

HEADLINE = (
    "jobs",
    "unfinished",
    "avg_jct_s",
    "p50_jct_s",
    "p99_jct_s",
    "avg_queue_s",
    "utilization",
    "makespan_s",
    "preemptions",
    "jain_index",
)


def write_jobs_csv(result: ReplayResult, path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(
            [
                "job_id",
                "tenant",
                "count",
                "submit_s",
                "first_start_s",
                "finish_s",
                "jct_s",
                "queue_s",
                "run_s",
                "lost_s",
                "preemptions",
                "accelerator",
            ]
        )
        for j in result.jobs:
            jct = j.finish - j.trace.submit_s if j.finish is not None else None
            w.writerow(
                [
                    j.trace.job_id,
                    j.trace.tenant,
                    j.trace.count,
                    j.trace.submit_s,
                    _fmt(j.first_start),
                    _fmt(j.finish),
                    _fmt(jct),
                    _fmt(jct - j.run_s if jct is not None else None),
                    _fmt(j.run_s),
                    _fmt(j.lost_s),
                    j.preemptions,
                    j.accelerator,
                ]
            )


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:.1f}"


def write_report(
    results: Sequence[ReplayResult], out: Path, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One run: out/summary.json. Several: out/<policy>/summary.json for each (with several
    estimate modes out/<policy>/<mode>/summary.json), and out/summary.json holding the first
    run's figures, every policy's first mode under `policies` and every run under
    `modes` (mode -> policy -> summary). Plots overlay every run. Returns the top-level
    summary."""
    out.mkdir(parents=True, exist_ok=True)
    several_modes = len({r.estimates for r in results}) > 1
    policies: dict[str, dict[str, Any]] = {}
    modes: dict[str, dict[str, dict[str, Any]]] = {}
    for r in results:
        s = summarize(r) | (extra or {})
        policies.setdefault(r.policy, s)
        modes.setdefault(r.estimates, {})[r.policy] = s
        where = out if len(results) == 1 else out / r.policy
        if several_modes:
            where = where / r.estimates
        where.mkdir(parents=True, exist_ok=True)
        write_jobs_csv(r, where / "jobs.csv")
        if len(results) > 1:
            _dump(s, where / "summary.json")
    first = results[0]
    top = dict(modes[first.estimates][first.policy])
    if len(results) > 1:
        top["policies"] = policies
        top["modes"] = modes
    top["plots"] = [p.name for p in write_plots(results, out)]
    _dump(top, out / "summary.json")
    return top


def _dump(doc: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def format_table(summaries: Sequence[dict[str, Any]]) -> str:
    """A plain-text table of the headline figures, one column per policy."""
    names = [s.get("label") or s["policy"] for s in summaries]
    width = max(12, *(len(n) for n in names))
    lines = [f"{'':14}" + "".join(f"{n:>{width}}" for n in names)]
    for key in HEADLINE:
        cells = "".join(f"{_cell(s.get(key)):>{width}}" for s in summaries)
        lines.append(f"{key:14}{cells}")
    return "\n".join(lines)


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 10 else f"{v:,.0f}"
    return str(v)
