"""The CLI end to end on a tiny trace: generate, replay several policies, read the report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from scheduler.simulate.cli import CLUSTERS, main

REQUIRED = (
    "jobs",
    "avg_jct_s",
    "p50_jct_s",
    "p99_jct_s",
    "avg_queue_s",
    "utilization",
    "makespan_s",
    "preemptions",
    "jain_index",
)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_generate_then_replay_three_policies(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    trace = tmp_path / "syn.csv"
    assert (
        main(["generate", "--out", str(trace), "--jobs", "60", "--seed", "4", "--tenants", "3"])
        == 0
    )
    assert trace.read_text().startswith("job_id,submit_s,tenant,accelerators,count,")
    out = tmp_path / "report"
    assert (
        main(
            [
                "--trace",
                str(trace),
                "--cluster",
                str(CLUSTERS / "dev.yaml"),
                "--policy",
                "fifo,las,default",
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    for key in REQUIRED:
        assert key in summary, key
    assert summary["policy"] == "fifo" and summary["jobs"] == 60
    assert set(summary["policies"]) == {"fifo", "las", "default"}
    assert 0.0 < summary["utilization"] <= 1.0
    assert 0.0 < summary["jain_index"] <= 1.0
    assert summary["p50_jct_s"] <= summary["p99_jct_s"]
    assert len(summary["tenants"]) == 3
    for policy in ("fifo", "las", "default"):
        assert json.loads((out / policy / "summary.json").read_text())["policy"] == policy
        assert (out / policy / "jobs.csv").read_text().count("\n") == 61
    for png in ("utilization.png", "queue.png", "jct_cdf.png"):
        assert (out / png).read_bytes()[:8] == PNG_MAGIC
    printed = capsys.readouterr().out
    assert "avg_jct_s" in printed and "default" in printed


def test_module_entry_point_reports_bad_trace(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("what,is,this\n1,2,3\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scheduler.simulate",
            "--trace",
            str(bad),
            "--out",
            str(tmp_path / "r"),
            "--cluster",
            str(CLUSTERS / "dev.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "unknown trace header" in proc.stderr
