"""WatchJob (and the CLI's --wait on top of it) against a real server. The job's progress
is written through the jobs context's own transitions and event log, as a worker would."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from django.db import connection
from prometheus_client import REGISTRY

from dojo import cli, errors
from dojo.client import Client
from dojo.v1 import job_pb2, job_pb2_grpc
from dojocloud.api import event_stream
from dojocloud.jobs.models import Job, JobEvent
from dojocloud.jobs.transitions import transition

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = str(REPO / "examples" / "digits-mlp.yaml")


def job_id(job: job_pb2.Job) -> str:
    return job.name.rsplit("/", 1)[-1]


def drive(
    jid: str, final: str = "SUCCEEDED", *, reason: str = "", steps: int = 3, pause: float = 0.0
) -> None:
    """QUEUED → SCHEDULED → RUNNING, `steps` metric events, then `final`."""
    assert transition(jid, "SCHEDULED", "placed on dojo-tile") is not None
    assert transition(jid, "RUNNING", "segment 0 started") is not None
    for i in range(1, steps + 1):
        time.sleep(pause)
        data = {"step": i * 100, "loss": 2.0 / i, "accuracy": 0.3 * i}
        JobEvent.objects.create(job_id=jid, kind=JobEvent.KIND_METRIC, data=data)
        Job.objects.filter(id=jid).update(current_step=i * 100, latest_metrics=data)
    time.sleep(pause)
    assert transition(jid, final, reason or final.lower()) is not None


def in_thread(target: Callable[[], None]) -> threading.Thread:
    def run() -> None:
        try:
            target()
        finally:
            connection.close()  # this thread's own DB connection

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def kinds(events: list[job_pb2.JobEvent]) -> list[str]:
    return [
        job_pb2.JobState.Name(e.state_change.to_state)
        if e.HasField("state_change")
        else f"metric@{e.metric.step}"
        for e in events
    ]


FULL = ["QUEUED", "SCHEDULED", "RUNNING", "metric@100", "metric@200", "metric@300", "SUCCEEDED"]


def test_watch_streams_live_until_the_job_is_final(acme: Client) -> None:
    job = acme.create_job(_spec())
    worker = in_thread(lambda: drive(job_id(job), pause=0.1))
    events = list(acme.watch_job(job.name))  # returns only when the server ends the stream
    worker.join(10)
    assert kinds(events) == FULL
    ids = [e.id for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(e.job == job.name and e.HasField("time") for e in events)
    assert events[3].metric.loss == pytest.approx(2.0)
    assert events[-1].state_change.from_state == job_pb2.RUNNING


def test_watch_resumes_after_an_event_id(acme: Client) -> None:
    job = acme.create_job(_spec())
    drive(job_id(job))
    events = list(acme.watch_job(job.name))
    assert kinds(events) == FULL
    rest = list(acme.watch_job(job.name, after_event_id=events[3].id))
    assert [e.id for e in rest] == [e.id for e in events[4:]]
    assert list(acme.watch_job(job.name, after_event_id=events[-1].id)) == []


def test_client_reconnects_after_the_server_drops_the_stream(acme: Client) -> None:
    job = acme.create_job(_spec())
    jid = job_id(job)
    got: list[job_pb2.JobEvent] = []
    stream: Iterator[job_pb2.JobEvent] = acme.watch_job(job.name)
    got.append(next(stream))  # QUEUED: the stream is open

    def dropped() -> float:
        return _watch_calls("UNAVAILABLE")

    before = dropped()

    def server_side() -> None:
        event_stream.draining.set()  # what serve_grpc does on SIGTERM
        deadline = time.monotonic() + 10
        while dropped() == before and time.monotonic() < deadline:
            time.sleep(0.02)
        event_stream.draining.clear()
        drive(jid)

    try:
        worker = in_thread(server_side)
        got += list(stream)
        worker.join(10)
    finally:
        event_stream.draining.clear()
    assert dropped() > before
    assert kinds(got) == FULL  # nothing lost, nothing repeated


def test_server_stream_ends_at_the_deadline(address: str, keys: Any, acme: Client) -> None:
    job = acme.create_job(_spec())

    def count() -> float:
        return _watch_calls("DEADLINE_EXCEEDED")

    before = count()
    with grpc.insecure_channel(address) as channel:
        stub = job_pb2_grpc.JobServiceStub(channel)
        call = stub.WatchJob(
            job_pb2.WatchJobRequest(name=job.name),
            timeout=1.0,
            metadata=(("authorization", f"Bearer {keys.acme}"),),
        )
        with pytest.raises(grpc.RpcError) as info:
            list(call)
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    deadline = time.monotonic() + 5
    while count() == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert count() == before + 1  # the server's handler noticed and returned


def test_watch_of_a_missing_job_is_not_found(acme: Client) -> None:
    with pytest.raises(errors.NotFoundError):
        list(acme.watch_job("organizations/acme/jobs/nosuchjob"))


def _spec() -> job_pb2.JobSpec:
    from dojo import specfile

    return specfile.load(EXAMPLE)


def _env(monkeypatch: pytest.MonkeyPatch, address: str, key: str) -> None:
    monkeypatch.setenv("DOJO_SERVER", address)
    monkeypatch.setenv("DOJO_API_KEY", key)
    monkeypatch.setenv("DOJO_TIMEOUT", "60")


def _drive_first_job(final: str, reason: str = "") -> threading.Thread:
    def run() -> None:
        deadline = time.monotonic() + 60
        while not Job.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        drive(Job.objects.get().id, final, reason=reason, pause=0.05)

    return in_thread(run)


def test_cli_submit_wait_succeeds(
    address: str, keys: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _env(monkeypatch, address, keys.acme)
    worker = _drive_first_job("SUCCEEDED")
    code = cli.main(["jobs", "submit", EXAMPLE, "--wait"])
    worker.join(10)
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "SUCCEEDED" in out.out
    assert "RUNNING" in out.err and "loss=" in out.err


def test_cli_submit_wait_reports_failure(
    address: str, keys: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _env(monkeypatch, address, keys.acme)
    worker = _drive_first_job("FAILED", "tile t0 failed: uncorrectable SRAM error")
    code = cli.main(["jobs", "submit", EXAMPLE, "--wait"])
    worker.join(10)
    err = capsys.readouterr().err
    assert code == cli.EXIT_JOB_FAILED
    assert "FAILED: tile t0 failed: uncorrectable SRAM error" in err


def test_cli_bad_spec_gets_invalid_argument_naming_the_field(
    address: str,
    keys: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _env(monkeypatch, address, keys.acme)
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(EXAMPLE).read_text().replace("precision: bf16", "precision: fp4"))
    assert cli.main(["jobs", "submit", str(bad)]) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "was not submitted" in err and "training.precision: must be one of" in err
    assert not Job.objects.exists()


def _watch_calls(code: str) -> float:
    """WatchJob calls this process's gRPC metrics counted as ended with `code` so far."""
    labels = {"method": "/dojo.v1.JobService/WatchJob", "code": code}
    return REGISTRY.get_sample_value("dojo_grpc_requests_total", labels) or 0.0
