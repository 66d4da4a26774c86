"""Storage benchmarks over the real processes of `make up` (SQLite + embedded Redis, free
ports, a temporary state folder; storage is the default folder under DOJO_DATA_DIR).

upload_throughput  MB/s of a 64 MiB .npz through the SDK's chunked gRPC upload
                   (`Client.create_dataset`: chunks of just under 1 MiB, the server's parts,
                   sha256 and format validation, the final object) over a local file copy
                   of the same bytes (shutil.copyfile), same run. The ratio is what the
                   upload keeps of the machine's raw copy speed.
artifact_download_throughput
                   MB/s of a 64 MiB job artifact through the gRPC `DownloadArtifact`
                   stream (`Client.download_artifact`: a header, chunks of 1 MiB read from
                   the store, the client's sha256 check, the file renamed into place) over
                   a local file copy of the same bytes, same run. The artifact is recorded
                   on a demo job by a `manage.py shell` against the stack's database and
                   store, as a worker would record one.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.live_stack import live_stack
from benchmarks.report import bench
from devstack import REPO
from dojo.client import Client

MIB = 1024 * 1024
SIZE_MIB = 64


def _payload(path: Path) -> int:
    rng = np.random.default_rng(0)
    n = SIZE_MIB * MIB // (4 * 1024)
    buffer = io.BytesIO()
    np.savez(
        buffer,
        x=rng.standard_normal((n, 1024), dtype=np.float32),
        y=(np.arange(n) % 10).astype(np.int64),
    )
    path.write_bytes(buffer.getvalue())
    return path.stat().st_size


def _copy_mb_s(src: Path, dst: Path, size: int) -> float:
    best = 0.0
    for _ in range(3):  # the best of three: page cache warm, like the upload's reads
        started = time.perf_counter()
        shutil.copyfile(src, dst)
        best = max(best, size / MIB / (time.perf_counter() - started))
        dst.unlink()
    return best


# Run by `manage.py shell` in the stack's environment: a demo job and a 64 MiB artifact.
_RECORD = """
from django.contrib.auth.models import User
from dojo import specfile
from dojocloud.artifacts.facade import record_artifact
from dojocloud.jobs.facade import create_job
from dojocloud.tenancy.facade import principal_for_user
principal = principal_for_user(User.objects.get(username="demo"))
job = create_job(principal, specfile.load("examples/digits-mlp.yaml"))
data = open(PATH, "rb").read()
print(record_artifact(job, "bench.bin", data, "application/octet-stream").resource_name)
"""


def _record_artifact(env: dict[str, str], src: Path) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", _RECORD.replace("PATH", repr(str(src)))],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def main() -> None:
    with live_stack("dojo-bench-storage-", timeout=120) as live, Client(live.client_config) as c:
        base = live.base
        src = base / "upload.npz"
        size = _payload(src)
        started = time.perf_counter()
        dataset = c.create_dataset(src, "bench-upload")
        upload = size / MIB / (time.perf_counter() - started)
        assert dataset.size_bytes == size
        copy = _copy_mb_s(src, base / "copy.npz", size)
        bench(
            "upload_throughput",
            upload,
            "MB/s",
            baseline=copy,
            ratio=upload / copy,
            bytes=size,
        )
        name = _record_artifact(live.env, src)
        started = time.perf_counter()
        header = c.download_artifact(name, base / "download.bin")
        download = size / MIB / (time.perf_counter() - started)
        assert header.size_bytes == size and (base / "download.bin").stat().st_size == size
    bench(
        "artifact_download_throughput",
        download,
        "MB/s",
        baseline=copy,
        ratio=download / copy,
        bytes=size,
    )
