"""Command line: replay a trace (`python -m scheduler.simulate --trace ...`) or write a
synthetic one (`python -m scheduler.simulate generate ...`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from scheduler.inventory import load_inventory
from scheduler.simulate.generate import WorkloadSpec, generate
from scheduler.simulate.replay import (
    DEFAULT_ESTIMATE_SIGMA,
    ESTIMATE_MODES,
    ReplayOptions,
    replay,
)
from scheduler.simulate.report import format_table, write_report
from scheduler.simulate.state import ReplayResult
from scheduler.simulate.trace import (
    TraceError,
    default_philly_path,
    detect_format,
    load_trace,
    write_native,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
CLUSTERS = REPO_ROOT / "deploy" / "clusters"
POLICIES = ("fifo", "las", "default")


def replay_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m scheduler.simulate",
        description="Replay a job trace through the scheduling core in virtual time. "
        "`python -m scheduler.simulate generate -h` writes synthetic traces.",
    )
    p.add_argument(
        "--trace",
        type=Path,
        default=None,
        help="native CSV or Philly CSV (default: the shared Philly trace)",
    )
    p.add_argument(
        "--cluster",
        type=Path,
        default=None,
        help="inventory YAML (default: philly.yaml for Philly, exapod.yaml else)",
    )
    p.add_argument(
        "--policy",
        default="default",
        help=f"policy name, or several comma-separated to compare ({', '.join(POLICIES)})",
    )
    p.add_argument("--out", type=Path, required=True, help="report directory")
    p.add_argument(
        "--cap",
        type=int,
        default=None,
        help="cap job sizes at this many devices (default 8 for Philly, none else; 0: none)",
    )
    p.add_argument(
        "--checkpoint-interval",
        type=float,
        default=1800.0,
        help="seconds between a running job's checkpoints (work lost on preemption)",
    )
    p.add_argument(
        "--grace",
        type=float,
        default=60.0,
        help="preemption grace period in seconds (the victim checkpoints within it)",
    )
    p.add_argument(
        "--quotas",
        choices=("equal", "none"),
        default="equal",
        help="equal guaranteed slices per tenant (Kueue nominal quota), or none",
    )
    p.add_argument(
        "--driver",
        choices=("incremental", "snapshot"),
        default="incremental",
        help="core API: incremental Scheduler, or a full Snapshot per pass",
    )
    p.add_argument(
        "--estimates",
        default="hidden",
        help="what the core knows of run times, or several comma-separated to compare:"
        " hidden (nothing), noisy (the trace's run time times a seeded lognormal error),"
        " oracle (the trace's run time); default hidden",
    )
    p.add_argument(
        "--estimate-sigma",
        type=float,
        default=DEFAULT_ESTIMATE_SIGMA,
        help=f"noisy: sigma of ln(estimate / run time) (default {DEFAULT_ESTIMATE_SIGMA})",
    )
    p.add_argument("--estimate-seed", type=int, default=0, help="noisy: the error's seed")
    p.add_argument(
        "--no-estimates",
        action="store_true",
        help="hide run times from the core (the same as --estimates hidden)",
    )
    p.add_argument(
        "--preemptible-fraction",
        type=float,
        default=0.0,
        help="this fraction of the jobs is preemptible (spot: the first victims), seeded",
    )
    p.add_argument("--preemptible-seed", type=int, default=0, help="which jobs are preemptible")
    p.add_argument("--limit", type=int, default=None, help="replay only the first N jobs")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def generate_parser() -> argparse.ArgumentParser:
    d = WorkloadSpec()
    p = argparse.ArgumentParser(
        prog="python -m scheduler.simulate generate",
        description="Write a seeded synthetic trace in native CSV.",
    )
    p.add_argument("--out", type=Path, required=True, help="CSV file to write")
    p.add_argument("--jobs", type=int, default=d.jobs)
    p.add_argument("--tenants", type=int, default=d.tenants)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--mean-interarrival", type=float, default=d.mean_interarrival_s)
    p.add_argument("--dojo-fraction", type=float, default=d.dojo_fraction)
    p.add_argument("--flexible-fraction", type=float, default=d.flexible_fraction)
    p.add_argument("--gpu-pools", default=",".join(d.gpu_pools))
    p.add_argument("--median-duration", type=float, default=d.median_duration_s)
    return p


def main_generate(argv: Sequence[str]) -> int:
    a = generate_parser().parse_args(argv)
    spec = WorkloadSpec(
        jobs=a.jobs,
        tenants=a.tenants,
        seed=a.seed,
        mean_interarrival_s=a.mean_interarrival,
        dojo_fraction=a.dojo_fraction,
        flexible_fraction=a.flexible_fraction,
        gpu_pools=tuple(p for p in a.gpu_pools.split(",") if p),
        median_duration_s=a.median_duration,
    )
    jobs = generate(spec)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    write_native(a.out, jobs)
    print(f"wrote {len(jobs)} jobs to {a.out}")
    return 0


def _defaults(a: argparse.Namespace) -> tuple[Path, Path, int | None]:
    trace = a.trace or default_philly_path()
    philly = detect_format(trace) == "philly"
    cluster = a.cluster or CLUSTERS / ("philly.yaml" if philly else "exapod.yaml")
    cap = a.cap if a.cap is not None else (8 if philly else None)
    return trace, cluster, (cap or None)


def estimate_modes(a: argparse.Namespace) -> list[str]:
    modes = [m.strip() for m in a.estimates.split(",") if m.strip()]
    unknown = [m for m in modes if m not in ESTIMATE_MODES]
    if unknown or not modes:
        raise ValueError(
            f"unknown estimate mode {', '.join(unknown) or repr(a.estimates)}"
            f" (known: {', '.join(ESTIMATE_MODES)})"
        )
    if a.no_estimates and modes != ["hidden"]:
        raise ValueError("--no-estimates means --estimates hidden; do not combine it with others")
    return modes


def run_policies(
    trace: Path,
    cluster: Path,
    policies: Sequence[str],
    options: ReplayOptions,
    cap: int | None,
    limit: int | None,
    progress: bool,
    modes: Sequence[str] = ("hidden",),
) -> list[ReplayResult]:
    """Every policy under every estimate mode, modes outermost."""
    jobs = load_trace(trace, cap_count=cap)[:limit]
    capacity = load_inventory(cluster)
    results = []
    for mode in modes:
        for policy in policies:
            opts = replace(options, policy=policy, estimates=mode)
            label = policy if len(modes) == 1 else f"{policy}/{mode}"
            with tqdm(
                total=len(jobs),
                desc=label,
                unit="job",
                disable=not progress,
                mininterval=0.5,
                dynamic_ncols=True,
            ) as bar:
                result = replay(jobs, capacity, opts, on_finish=bar.update)
            result.label = label
            results.append(result)
    return results


def main_replay(argv: Sequence[str]) -> int:
    a = replay_parser().parse_args(argv)
    policies = [p.strip() for p in a.policy.split(",") if p.strip()]
    try:
        modes = estimate_modes(a)
        trace, cluster, cap = _defaults(a)
        options = ReplayOptions(
            checkpoint_interval_s=a.checkpoint_interval,
            quotas=a.quotas,
            grace_period_s=a.grace,
            driver=a.driver,
            estimate_sigma=a.estimate_sigma,
            estimate_seed=a.estimate_seed,
            preemptible_fraction=a.preemptible_fraction,
            preemptible_seed=a.preemptible_seed,
        )
        results = run_policies(
            trace, cluster, policies, options, cap, a.limit, not a.no_progress, modes
        )
    except (TraceError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    extra = {
        "trace": str(trace),
        "cluster": str(cluster),
        "cap": cap,
        "quotas": a.quotas,
        "grace_period_s": a.grace,
        "estimate_seed": a.estimate_seed,
    }
    top = write_report(results, a.out, extra)
    summaries = (
        [top["modes"][r.estimates][r.policy] for r in results] if len(results) > 1 else [top]
    )
    print(format_table(summaries))
    print(f"report: {a.out}/summary.json, plots: {', '.join(top['plots'])}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "generate":
        return main_generate(args[1:])
    return main_replay(args)
