"""`python -m devstack up` (what `make up` runs) as a person runs it, on free ports: "is up"
comes after the children's banners went to log files, and its supervisor heals. A worker
SIGKILLed mid-segment is restarted; the job it was running resumes from its checkpoint and
finishes (on the only worker of its pool, so only the restarted one can finish it). SIGTERM
then stops every process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devstack import REPO, env_file_value, free_port
from dojo.client import Client
from dojo.config import ClientConfig
from dojo.v1 import job_pb2
from tests.integration.e2e.conftest import _drop_database, _fresh_database
from tests.support.driving import tiny_spec

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]

UP = "Dojo Cloud is up."
REDIS_DB = 13  # not the e2e stack's (14): two stacks must not share a worker queue


def wait_for(what: str, check: Callable[[], bool], timeout: float, why: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{why()}")
        time.sleep(0.5)


def children(pid: int) -> dict[int, str]:
    """pid -> command line of the processes whose parent is `pid`."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def worker_pid(devstack_pid: int, queue: str = "dojo") -> int | None:
    for pid, cmd in children(devstack_pid).items():
        if "celery" in cmd and f"-Q {queue} " in cmd:
            return pid
    return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def seconds_per_step() -> float:
    """The test model's step time here and now, on one thread as the workers train."""
    import torch

    from dojo_runtime.training import Trainer
    from dojocloud.jobs.runtime_config import train_config
    from dojocloud.jobs.validation import validate_spec

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        trainer = Trainer(train_config(validate_spec(tiny_spec(steps=80, interval=80))))
        state = trainer.train(trainer.initial_state(), 20)
        started = time.perf_counter()
        trainer.train(state, 80)
        return (time.perf_counter() - started) / 60
    finally:
        torch.set_num_threads(threads)


@pytest.fixture
def up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path, dict[str, str]]]:
    state = tmp_path / "state"
    db_url, db_name = _fresh_database(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOJO_")}
    env.update(
        DOJO_DATA_DIR=str(state),
        DATABASE_URL=db_url,
        DOJO_DEMO_ENV_FILE=str(tmp_path / "demo.env"),
        DOJO_WEB_PORT=str(free_port()),
        DOJO_GRPC_ADDR=f"127.0.0.1:{free_port()}",
        DOJO_GRPC_METRICS_PORT=str(free_port()),
        DOJO_WORKER_METRICS_PORT="0",
        DOJO_PROMETHEUS_URL=f"http://127.0.0.1:{free_port()}",
        DOJO_SCHED_INTERVAL_S="1",
        DOJO_HEARTBEAT_INTERVAL_S="0.5",
        DOJO_HEARTBEAT_TIMEOUT_S="4",
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if os.environ.get("REDIS_URL"):
        import redis

        url = os.environ["REDIS_URL"].rsplit("/", 1)[0] + f"/{REDIS_DB}"
        redis.Redis.from_url(url).flushdb()
        env["REDIS_URL"] = url
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen(
            [sys.executable, "-m", "devstack", "up"], cwd=REPO, env=env, stdout=o, stderr=e
        )
    try:
        yield proc, tmp_path, env
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in sorted((state / "log").glob("*.log")):  # shown only when the test failed
            print(f"----- {log.name} (last 40 lines)")
            print("\n".join(log.read_text(errors="replace").splitlines()[-40:]))
        if db_name:
            _drop_database(db_url, db_name)


def test_make_up_claims_last_and_restarts_a_killed_worker_whose_job_resumes(
    up: tuple[subprocess.Popen[bytes], Path, dict[str, str]],
) -> None:
    proc, base, env = up
    stdout, stderr = base / "stdout", base / "stderr"

    def said() -> str:
        return f"stdout:\n{stdout.read_text()}\nstderr:\n{stderr.read_text()}"

    wait_for("'is up'", lambda: UP in stdout.read_text() or proc.poll() is not None, 400, said)
    assert proc.poll() is None, said()
    before, after = stdout.read_text().split(UP, 1)
    # Readable: Celery's and Redis' start-up banners went to the log files, not the terminal.
    terminal = before + stderr.read_text()
    assert "[queues]" not in terminal and "-------------- " not in terminal
    logs = base / "state" / "log"
    # redis.log only where make up started its own Redis (REDIS_URL unset).
    expected = {"web.log", "api.log", "worker-dojo.log"} | (
        set() if env.get("REDIS_URL") else {"redis.log"}
    )
    assert expected <= {p.name for p in logs.glob("*.log")}
    assert "[queues]" in (logs / "worker-dojo.log").read_text()  # Celery's banner, on file
    assert f"http://127.0.0.1:{env['DOJO_WEB_PORT']}/console/" in after
    assert "source .venv/bin/activate" in after and "dojo jobs submit" in after

    key = env_file_value(base / "demo.env", "DOJO_API_KEY")
    assert key, (base / "demo.env").read_text()
    interval = max(20, min(int(8.0 / seconds_per_step()), 20_000))  # ~8 s a segment
    spec = tiny_spec(steps=3 * interval, interval=interval)
    config = ClientConfig(server=env["DOJO_GRPC_ADDR"], api_key=key, timeout=30)
    with Client(config) as client:
        job = client.create_job(spec)

        def mid_second_segment() -> bool:
            now = client.get_job(job.name)
            assert now.state not in (job_pb2.SUCCEEDED, job_pb2.FAILED), now.state_reason
            return now.current_step > interval

        wait_for("the second segment", mid_second_segment, 400, said)
        first = worker_pid(proc.pid)
        assert first is not None, children(proc.pid)
        os.kill(first, signal.SIGKILL)
        wait_for(
            "the restart",
            lambda: "worker-dojo restarted (pid" in stderr.read_text(),
            120,
            said,
        )
        assert "worker-dojo was killed by SIGKILL; restarting it in" in stderr.read_text()
        second = worker_pid(proc.pid)
        assert second is not None and second != first and not alive(first)
        assert proc.poll() is None  # the stack did not stop

        def final() -> bool:
            return client.get_job(job.name).state in (
                job_pb2.SUCCEEDED,
                job_pb2.FAILED,
                job_pb2.CANCELLED,
            )

        wait_for("the job to finish", final, 500, said)
        done = client.get_job(job.name)
    assert done.state == job_pb2.SUCCEEDED, done.state_reason
    assert done.current_step == 3 * interval

    # The ledger: the killed segment left no row; the rerun started from its checkpoint.
    res = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "import json; from dojocloud.billing.models import UsageRecord as U; "
            f"print(json.dumps([(r.start_step, r.end_step) for r in U.objects.filter(job_id="
            f"'{done.name.rsplit('/', 1)[1]}').order_by('start_step')]))",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    spans = json.loads(res.stdout.strip().splitlines()[-1])
    assert spans == [[0, interval], [interval, 2 * interval], [2 * interval, 3 * interval]]

    # Only a signal stops it, and then everything it started.
    pids = children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=90) == 0, said()
    time.sleep(0.5)
    assert not [pid for pid in pids if alive(pid)], pids
