"""Trace readers: native CSV, the Philly-derived format, and the writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.simulate.trace import (
    TraceError,
    TraceJob,
    detect_format,
    load_trace,
    read_native,
    read_philly,
    write_native,
)

NATIVE = """job_id,submit_s,tenant,accelerators,count,duration_s,priority
b,10,acme,dojo-tile|gpu-h100,4,600,high
a,0,globex,gpu-a100,8,120.5,normal
c,10,acme,gpu-h100,1,30,low
"""

PHILLY = """timestamp,duration,num_gpus,gpu_time,cluster
2017-10-09 07:01:55,66.0,1,66.0,11cb48
2017-10-09 06:13:03,2951.0,16,47216.0,6214e9
2017-10-09 06:13:03,100.0,4,400.0,6c71a0
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_native_reader_parses_and_sorts_by_submit_then_id(tmp_path: Path) -> None:
    jobs = read_native(_write(tmp_path, "t.csv", NATIVE))
    assert [j.job_id for j in jobs] == ["a", "b", "c"]
    assert jobs[1] == TraceJob("b", 10.0, "acme", ("dojo-tile", "gpu-h100"), 4, 600.0, "high")
    assert jobs[0].duration_s == 120.5


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("x,0,t,gpu-a100,0,10,normal", "count must be >= 1"),
        ("x,0,t,,1,10,normal", "accelerators is empty"),
        ("x,-1,t,gpu-a100,1,10,normal", "must be >= 0"),
        ("x,zero,t,gpu-a100,1,10,normal", "could not convert"),
    ],
)
def test_native_reader_names_the_bad_line(tmp_path: Path, row: str, message: str) -> None:
    path = _write(tmp_path, "bad.csv", NATIVE.splitlines()[0] + "\n" + row + "\n")
    with pytest.raises(TraceError, match=rf"bad.csv:2: .*{message}"):
        read_native(path)


def test_native_reader_rejects_duplicate_ids(tmp_path: Path) -> None:
    path = _write(tmp_path, "dup.csv", NATIVE + "a,5,x,gpu-a100,1,1,normal\n")
    with pytest.raises(TraceError, match="duplicate job_id 'a'"):
        read_native(path)


def test_writer_round_trips(tmp_path: Path) -> None:
    jobs = read_native(_write(tmp_path, "t.csv", NATIVE))
    out = tmp_path / "out.csv"
    write_native(out, jobs)
    assert read_native(out) == jobs
    assert "b,10,acme,dojo-tile|gpu-h100,4,600,high" in out.read_text()


def test_philly_reader_relative_times_tenants_and_cap(tmp_path: Path) -> None:
    path = _write(tmp_path, "philly.csv", PHILLY)
    jobs = read_philly(path, cap_count=8)
    # Sorted by time; ties keep file order; times relative to the first submission.
    assert [(j.job_id, j.submit_s, j.tenant, j.count) for j in jobs] == [
        ("philly-0", 0.0, "6214e9", 8),
        ("philly-1", 0.0, "6c71a0", 4),
        ("philly-2", 48 * 60 + 52.0, "11cb48", 1),
    ]
    assert jobs[0].accelerators == ("gpu-v100",)
    assert jobs[0].duration_s == 2951.0
    assert read_philly(path, cap_count=None)[0].count == 16


def test_detect_format_and_load_trace(tmp_path: Path) -> None:
    native = _write(tmp_path, "n.csv", NATIVE)
    philly = _write(tmp_path, "p.csv", PHILLY)
    assert detect_format(native) == "native"
    assert detect_format(philly) == "philly"
    assert max(j.count for j in load_trace(native, cap_count=2)) == 2
    assert max(j.count for j in load_trace(philly, cap_count=None)) == 16
    with pytest.raises(TraceError, match="unknown trace header"):
        detect_format(_write(tmp_path, "x.csv", "a,b\n1,2\n"))
