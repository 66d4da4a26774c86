"""A job's durable log: lines scrubbed of server paths and secrets, appended as numbered
chunks in object storage with byte offsets in the database, read back from any offset
exactly; failure codes mapped from how a job process ended."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from dojo_runtime.failures import Diverged, InvalidData, UnsupportedModel
from dojocloud.api.mappers import failure_to_proto
from dojocloud.common.errors import InvalidArgument, NotFound
from dojocloud.common.storage import blob_store
from dojocloud.execution import failure_codes, log_lines
from dojocloud.execution.joblog import JobLogWriter, server_roots
from dojocloud.jobs import services as jobs
from dojocloud.jobs.job_logs import append_log, prune_expired_logs, read_job_log
from dojocloud.jobs.models import Job, JobLogChunk
from dojocloud.jobs.ports import Failure, FailureReason, record_from_reason
from tests.support.people import People, make_spec

ROOTS = [("/srv/dojo/var", "<data>"), ("/srv/dojo", "<platform>"), ("/opt/py/site", "<sp>")]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("loaded /srv/dojo/var/cache/ab/data", "loaded <data>/cache/ab/data"),
        ('File "/srv/dojo/platform/x.py", line 3', 'File "<platform>/platform/x.py", line 3'),
        ("in /opt/py/site/torch/nn/f.py", "in <sp>/torch/nn/f.py"),
        ("see /home/bob/secret/plans.txt", "see …/secret/plans.txt"),
        ("key dojo_0a1b2c3d_abcdefghijklmnopqrstuvwxyz0123", "key [redacted]"),
        ("AKIAABCDEFGHIJKLMNOP used", "[redacted] used"),
        ("password=hunter2 and token: 'abc def'", "password=[redacted] and token: [redacted]"),
        ("Authorization Bearer abc.def.ghi.jkl", "Authorization Bearer [redacted]"),
        ("s3 https://me:pw@minio:9000/b", "s3 https://[redacted]@minio:9000/b"),
        ("step 10: loss 2.3, 1/2 a/b", "step 10: loss 2.3, 1/2 a/b"),
    ],
)
def test_scrub(text: str, shown: str) -> None:
    assert log_lines.scrub(text, ROOTS) == shown


def test_format_line_is_utc_with_level_and_one_line() -> None:
    assert log_lines.format_line(0.5, "WARNING", "a\nb") == "1970-01-01T00:00:00.500Z WARNING a | b"
    assert log_lines.format_line(0.0, "bogus", "") == "1970-01-01T00:00:00.000Z INFO -"


def test_error_lines_keep_the_last_frames_function_and_line() -> None:
    def inner() -> None:
        raise ValueError("bad")

    try:
        inner()
    except ValueError as exc:
        lines = log_lines.error_lines(exc)
    assert lines[0] == "ValueError: bad"
    assert lines[-1].startswith("  at platform/test_platform_job_logs.py:")
    assert lines[-1].endswith(" in inner")
    assert all(str(Path(__file__).parent.parent) not in line for line in lines)


def test_failure_codes_from_the_runtime_errors_and_the_supervisor() -> None:
    assert failure_codes.code_of(Diverged(7, float("nan"))) == ("DIVERGED", 7)
    assert failure_codes.code_of(InvalidData("x")) == ("INVALID_DATA", None)
    assert failure_codes.code_of(UnsupportedModel("x")) == ("UNSUPPORTED_MODEL", None)
    assert failure_codes.code_of(KeyError("x")) == ("INTERNAL", None)
    assert failure_codes.reason_of("OUT_OF_MEMORY", None) == "OUT_OF_MEMORY"
    assert failure_codes.reason_of("TRAINING_ERROR", "DIVERGED") == "DIVERGED"
    assert failure_codes.reason_of("TRAINING_ERROR", None) == "INTERNAL"
    assert failure_codes.reason_of("PROCESS_CRASHED", None) == "INTERNAL"
    for code in ("INVALID_DATA", "UNSUPPORTED_MODEL", "DIVERGED", "OUT_OF_MEMORY", "INTERNAL"):
        assert FailureReason(code)  # every code the worker makes is the enum's


def test_old_failure_codes_map_onto_the_customer_ones() -> None:
    assert FailureReason.parse("PROCESS_CRASHED") == FailureReason.INTERNAL
    assert FailureReason.parse("TRAINING_ERROR") == FailureReason.INTERNAL
    assert FailureReason.parse("MAX_RUNTIME_EXCEEDED") == FailureReason.MAX_RUNTIME
    assert FailureReason.parse("OUT_OF_MEMORY") == FailureReason.OUT_OF_MEMORY
    assert FailureReason.parse("something else") == FailureReason.INTERNAL
    assert record_from_reason("OUT_OF_MEMORY: over 2 GiB") == {
        "reason": "OUT_OF_MEMORY",
        "message": "over 2 GiB",
    }
    assert record_from_reason("MAX_RUNTIME_EXCEEDED: late")["reason"] == "MAX_RUNTIME"
    assert record_from_reason("tile t0 failed: SRAM error") == {
        "reason": "INTERNAL",
        "message": "tile t0 failed: SRAM error",
    }


def test_failure_on_the_wire() -> None:
    record = Failure(FailureReason.DIVERGED, "nan", step=7, last_log_lines=("a", "b")).record()
    wire = failure_to_proto(record)
    assert wire is not None and wire.step == 7 and wire.HasField("step")
    assert wire.Reason.Name(wire.reason) == "DIVERGED"
    assert list(wire.last_log_lines) == ["a", "b"]
    no_step = failure_to_proto(Failure(FailureReason.MAX_RUNTIME, "late").record())
    assert no_step is not None and not no_step.HasField("step")
    assert failure_to_proto(None) is None


@pytest.fixture
def store(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    settings.STORAGE_URL = (tmp_path / "storage").as_uri()
    return tmp_path / "storage"


def test_appended_chunks_read_back_exactly_from_any_offset(people: People, store: Path) -> None:
    job = jobs.create_job(people.owner, make_spec())
    pieces = [b"first line\n", b"second\nthird\n", b"fourth line\n"]
    offsets = [append_log(job.id, p) for p in pieces]
    whole = b"".join(pieces)
    assert offsets == [0, len(pieces[0]), len(pieces[0]) + len(pieces[1])]
    assert [c.seq for c in JobLogChunk.objects.filter(job=job)] == [0, 1, 2]
    for offset in range(len(whole) + 1):
        read = read_job_log(people.owner, job.id, offset=offset)
        assert read.data == whole[offset:] and read.next_offset == len(whole)
    # A small limit still returns whole chunks past the first, and resumes exactly.
    got, offset = b"", 3
    while offset < len(whole):
        read = read_job_log(people.owner, job.id, offset=offset, limit=1)
        assert read.offset == offset and read.data
        got, offset = got + read.data, read.next_offset
    assert got == whole[3:]


def test_logs_of_jobs_ended_past_the_retention_are_pruned_rows_and_objects(
    people: People, store: Path, settings
) -> None:  # type: ignore[no-untyped-def]
    ended = timezone.now()
    old, recent, running = (jobs.create_job(people.owner, make_spec()) for _ in range(3))
    for job in (old, recent, running):
        for line in (b"one\n", b"two\n"):
            append_log(job.id, line)
    Job.objects.filter(id=old.id).update(state="SUCCEEDED", ended_at=ended - timedelta(days=31))
    Job.objects.filter(id=recent.id).update(state="FAILED", ended_at=ended - timedelta(days=29))
    Job.objects.filter(id=running.id).update(state="RUNNING", ended_at=ended - timedelta(days=99))
    old_keys = list(JobLogChunk.objects.filter(job=old).values_list("key", flat=True))
    settings.LOG_RETENTION_DAYS = 0  # kept until the job is deleted
    assert prune_expired_logs(now=lambda: ended) == 0
    settings.LOG_RETENTION_DAYS = 30
    call_command("prune_logs")  # the real clock: only the job that ended 31 days ago
    assert not JobLogChunk.objects.filter(job=old).exists()
    assert all(blob_store().stat(key) is None for key in old_keys)
    assert read_job_log(people.owner, old.id).data == b""
    for job in (recent, running):  # not past the retention, or not ended at all
        assert read_job_log(people.owner, job.id).data == b"one\ntwo\n"
    assert prune_expired_logs(now=lambda: ended + timedelta(days=2)) == 2  # now `recent` too
    assert read_job_log(people.owner, running.id).data == b"one\ntwo\n"


def test_reads_past_the_end_or_of_another_tenant_are_refused(people: People, store: Path) -> None:
    job = jobs.create_job(people.owner, make_spec())
    append_log(job.id, b"one\n")
    with pytest.raises(InvalidArgument) as info:
        read_job_log(people.owner, job.id, offset=5)
    assert info.value.violations[0].field == "offset"
    with pytest.raises(InvalidArgument):
        read_job_log(people.owner, job.id, offset=-1)
    with pytest.raises(NotFound):
        read_job_log(people.outsider, job.id)
    empty = jobs.create_job(people.owner, make_spec())
    assert read_job_log(people.owner, empty.id).data == b""


def test_the_writer_scrubs_buffers_and_keeps_the_tail(
    people: People, store: Path, settings
) -> None:  # type: ignore[no-untyped-def]
    job = jobs.create_job(people.owner, make_spec())
    writer = JobLogWriter(job.id, flush_every_s=3600)
    data_dir = str(settings.DATA_DIR)
    for i in range(25):
        writer.line(0.0, "INFO", f"line {i} in {data_dir}/cache/x")
    assert read_job_log(people.owner, job.id).data == b""  # buffered until a flush
    failure = writer.failed(Failure(FailureReason.DIVERGED, f"nan at {data_dir}/y", step=4))
    text = read_job_log(people.owner, job.id).data.decode()
    assert text.count("\n") == 26 and data_dir not in text
    assert "line 3 in <data>/cache/x" in text
    assert failure.step == 4 and data_dir not in failure.message
    assert len(failure.last_log_lines) == 20
    assert failure.last_log_lines[-1].endswith(
        "ERROR job failed at step 4: DIVERGED: nan at <data>/y"
    )
    assert any(shown == "<site-packages>" for _, shown in server_roots())
