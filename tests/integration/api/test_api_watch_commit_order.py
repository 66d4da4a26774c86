"""WatchJob resumes "after the last event id seen"; that is only sound if a job's events
become visible in id order. On PostgreSQL two transactions writing events of one job can
commit out of id order unless the writers serialise on the job; these tests interleave two
real connections deterministically and check the watcher still gets every event once.

SQLite is skipped: it has one writer at a time (IMMEDIATE transactions), so an id handed out
is committed before any other writer can take the next one, and the race cannot exist there.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction

from dojo.v1 import job_pb2
from dojocloud.api import mappers
from dojocloud.api.event_stream import follow_events
from dojocloud.execution.progress import ProgressRecorder
from dojocloud.jobs import lifecycle
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job, JobEvent
from dojocloud.jobs.transitions import transition
from dojocloud.tenancy.services import Principal, create_organization, principal_for_user
from tests.support.people import step_metrics

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "digits-mlp.yaml"


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: events cannot commit out of id order there")


def make_spec() -> job_pb2.JobSpec:
    from dojo import specfile

    return specfile.load(str(EXAMPLE))


def _principal() -> Principal:
    alice = User.objects.create_user("alice")
    create_organization("acme", "Acme", alice)
    return principal_for_user(alice)


class Watcher:
    """One WatchJob connection per `poll()`: reads what is committed, then ends, and the next
    poll resumes after the last id delivered, exactly as the SDK does with after_event_id."""

    def __init__(self, principal: Principal, job: Job) -> None:
        self.principal, self.job_id, self.name = principal, job.id, job.resource_name
        self.token = 0
        self.seen: list[JobEvent] = []

    def poll(self) -> list[JobEvent]:
        passes = iter([True])
        got = list(
            follow_events(
                self.principal,
                self.job_id,
                after_id=self.token,
                active=lambda: next(passes, False),
                poll_s=0,
            )
        )
        for event in got:
            self.token = max(self.token, mappers.event_to_proto(event, self.name).id)
        self.seen += got
        return got


def _in_thread(target: Callable[[], None]) -> threading.Thread:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=run, daemon=True)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread


def _backend_pid() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return int(cur.fetchone()[0])


def _committed_or_waiting(thread: threading.Thread, pid: list[int]) -> str:
    """Waits until the writer thread has finished, or its backend waits on a lock."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if not thread.is_alive():
            return "done"
        if pid:
            with connection.cursor() as cur:
                cur.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid[0]])
                row = cur.fetchone()
            if row and row[0] == "Lock":
                return "waiting"
        time.sleep(0.01)
    pytest.fail("the second writer neither finished nor waited on a lock")


def _flush(job: Job, step: int) -> None:
    recorder = ProgressRecorder(job.id, every=1, last_step=10)
    recorder.record(step_metrics(step))
    recorder.flush()


def _race(
    watcher: Watcher, write_a: Callable[[], None], write_b: Callable[[], None]
) -> tuple[str, list[JobEvent]]:
    """A runs `write_a` in a transaction it holds open; B runs `write_b` meanwhile and commits
    or waits on A's lock; the watcher polls in between; then A commits. Returns what B did
    and what that poll saw."""
    a_wrote, a_commit = threading.Event(), threading.Event()

    def writer_a() -> None:
        with transaction.atomic():
            write_a()
            a_wrote.set()
            assert a_commit.wait(30)

    b_pid: list[int] = []

    def writer_b() -> None:
        b_pid.append(_backend_pid())
        write_b()

    a = _in_thread(writer_a)
    assert a_wrote.wait(20)
    b = _in_thread(writer_b)
    outcome = _committed_or_waiting(b, b_pid)
    during = watcher.poll()  # A is still open; B has committed or is waiting for A
    a_commit.set()
    a.join(20)
    b.join(20)
    assert not a.errors and not b.errors, (a.errors, b.errors)  # type: ignore[attr-defined]
    return outcome, during


def test_an_event_committed_after_a_higher_id_is_still_delivered() -> None:
    """A: a long transaction that moves the job (and writes its state event) stays open.
    B: a worker's metric flush for the same job commits meanwhile. The watcher polls, then A
    commits. Whatever ids the two got, the watcher must end up with both events."""
    principal = _principal()
    job = jobs.create_job(principal, make_spec())
    assert transition(job.id, lifecycle.SCHEDULED, "placed") is not None
    watcher = Watcher(principal, job)
    assert [e.data["to"] for e in watcher.poll()] == ["QUEUED", "SCHEDULED"]

    def move() -> None:
        assert transition(job.id, lifecycle.RUNNING, "segment 0 started") is not None

    outcome, during = _race(watcher, move, lambda: _flush(job, 1))
    after = watcher.poll()

    kinds = [
        e.data["to"] if e.kind == "state" else f"metric@{e.data['step']}" for e in watcher.seen
    ]
    assert kinds.count("RUNNING") == 1 and kinds.count("metric@1") == 1, (outcome, kinds)
    assert kinds == ["QUEUED", "SCHEDULED", "RUNNING", "metric@1"], (outcome, during, after)
    stored = list(JobEvent.objects.filter(job=job).order_by("id"))
    assert [e.id for e in watcher.seen] == [e.id for e in stored]


def test_two_flushes_of_one_job_commit_in_id_order() -> None:
    """Two workers' metric flushes (a zombie and the new lease, say), one held open inside a
    longer transaction: the later flush cannot become visible before the earlier one."""
    principal = _principal()
    job = jobs.create_job(principal, make_spec())
    watcher = Watcher(principal, job)
    watcher.poll()
    _race(watcher, lambda: _flush(job, 1), lambda: _flush(job, 2))
    watcher.poll()
    steps = [e.data["step"] for e in watcher.seen if e.kind == "metric"]
    assert steps == [1, 2]
