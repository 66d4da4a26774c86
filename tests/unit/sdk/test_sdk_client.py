"""The typed client against a fake JobService on a real gRPC server."""

import time
from typing import Any

import grpc
import pytest

import dojo.client
import dojo.retrying
from dojo import errors
from dojo.client import Client
from dojo.config import ClientConfig
from dojo.v1 import job_pb2
from tests.unit.sdk.conftest import API_KEY

FakeJobService = Any  # the fixture's fake (conftest.py); not importable by name


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dojo.retrying, "RETRY_BASE_DELAY", 0.001)


def spec(**training: object) -> job_pb2.JobSpec:
    values = {"steps": 30, "learning_rate": 0.01, **training}
    return job_pb2.JobSpec(name="t", training=job_pb2.TrainingSpec(**values))  # type: ignore[arg-type]


def test_create_sends_the_key_and_a_request_id(client: Client, service: FakeJobService) -> None:
    job = client.create_job(spec())
    assert job.state == job_pb2.QUEUED
    assert len(service.by_request) == 1
    assert next(iter(service.by_request))  # a non-empty generated id


def test_create_retries_unavailable_with_the_same_request_id(
    client: Client, service: FakeJobService
) -> None:
    first = client.create_job(spec(), request_id="r-1")
    service.unavailable_next = 2
    again = client.create_job(spec(), request_id="r-1")
    assert again.name == first.name
    assert service.calls.count("CreateJob") == 4
    assert len(service.jobs) == 1


def test_unavailable_beyond_the_retries_raises(client: Client, service: FakeJobService) -> None:
    service.unavailable_next = 99
    with pytest.raises(errors.UnavailableError) as info:
        client.get_job("x")
    assert info.value.retryable
    assert service.calls.count("GetJob") == dojo.retrying.RETRY_ATTEMPTS


def test_invalid_argument_carries_field_violations(client: Client) -> None:
    with pytest.raises(errors.InvalidArgumentError) as info:
        client.create_job(spec(learning_rate=0))
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in info.value.field_violations] == ["training.learning_rate"]
    assert not info.value.retryable


def test_quota_failure_and_retry_info(client: Client) -> None:
    s = spec()
    s.resources.count = 1000
    with pytest.raises(errors.ResourceExhaustedError) as info:
        client.create_job(s)
    assert info.value.retry_after == 30
    assert info.value.quota_violations[0].subject == "org:acme/dojo"
    assert info.value.retryable


def test_not_found_and_error_info(client: Client) -> None:
    with pytest.raises(errors.NotFoundError) as info:
        client.get_job("organizations/acme/jobs/nope")
    assert info.value.reason == "NOT_FOUND"
    assert info.value.metadata["resource"] == "organizations/acme/jobs/nope"


def test_wrong_key_is_unauthenticated(fake: tuple[FakeJobService, str]) -> None:
    with (
        Client(ClientConfig(server=fake[1], api_key="wrong", timeout=5)) as c,
        pytest.raises(errors.UnauthenticatedError),
    ):
        c.get_job("x")


def test_list_iterates_over_every_page(client: Client, service: FakeJobService) -> None:
    made = {client.create_job(spec()).name for _ in range(5)}
    listed = [j.name for j in client.list_jobs(page_size=2)]
    assert sorted(listed) == sorted(made)
    assert service.calls.count("ListJobs") == 3


def test_list_filters_by_state(client: Client, service: FakeJobService) -> None:
    a, _ = client.create_job(spec()), client.create_job(spec())
    client.cancel_job(a.name)
    assert [j.name for j in client.list_jobs(state="cancelled")] == [a.name]


def test_cancel_and_failed_precondition(client: Client) -> None:
    job = client.create_job(spec())
    assert client.cancel_job(job.name, reason="oops").state == job_pb2.CANCELLED
    with pytest.raises(errors.FailedPreconditionError) as info:
        client.cancel_job(job.name)
    assert info.value.reason == "JOB_FINAL"


def test_estimate(client: Client) -> None:
    options = client.estimate_job(spec())
    assert [o.accelerator for o in options] == ["dojo-tile", "gpu-h100", "gpu-a100"]
    assert options[0].cheapest and options[1].fastest
    assert [o.fits for o in options] == [True, True, False]
    assert options[2].peak_memory_bytes > options[2].device_memory_bytes


def test_watch_streams_until_the_end(client: Client, service: FakeJobService) -> None:
    job = client.create_job(spec())
    service.finish(job, job_pb2.SUCCEEDED)
    events = list(client.watch_job(job.name))
    assert [e.id for e in events] == [1, 2, 3, 4, 5]
    assert events[-1].state_change.to_state == job_pb2.SUCCEEDED


def test_watch_resumes_after_the_last_event_on_disconnect(
    client: Client, service: FakeJobService, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = client.create_job(spec())
    service.finish(job, job_pb2.SUCCEEDED)
    service.cut_watch_after = 2
    events = list(client.watch_job(job.name))
    assert [e.id for e in events] == [1, 2, 3, 4, 5]  # no gap, no repeat
    assert [r.after_event_id for r in service.watch_requests] == [0, 2]


def test_watch_from_an_event_id(client: Client, service: FakeJobService) -> None:
    job = client.create_job(spec())
    service.finish(job, job_pb2.FAILED, reason="boom")
    assert [e.id for e in client.watch_job(job.name, after_event_id=3)] == [4, 5]


def test_every_unary_call_has_a_deadline(fake: tuple[FakeJobService, str]) -> None:
    seen: list[float | None] = []

    class Recorder(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
        def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
            seen.append(details.timeout)
            return continuation(details, request)

        def intercept_unary_stream(self, continuation, details, request):  # type: ignore[no-untyped-def]
            seen.append(details.timeout)
            return continuation(details, request)

    channel = grpc.intercept_channel(grpc.insecure_channel(fake[1]), Recorder())
    c = Client(ClientConfig(server=fake[1], api_key="dojo_test_key", timeout=7), channel=channel)
    job = c.create_job(spec())
    fake[0].finish(job, job_pb2.SUCCEEDED)
    c.get_job(job.name)
    list(c.list_jobs())
    c.estimate_job(spec())
    list(c.watch_job(job.name))
    c.cancel_job(c.create_job(spec()).name)
    channel.close()
    assert len(seen) == 7
    assert all(t is not None and t > 0 for t in seen)
    assert seen[0] == 7


def test_a_busy_server_is_asked_again_after_its_retry_info(
    client: Client, service: FakeJobService
) -> None:
    job = client.create_job(spec())
    service.busy_next = 2  # RESOURCE_EXHAUSTED with RetryInfo 0.05 s, twice
    started = time.monotonic()
    assert client.get_job(job.name).name == job.name
    assert service.calls.count("GetJob") == 3
    assert time.monotonic() - started >= 0.1  # it waited the server's delay each time


def test_resource_exhausted_without_retry_info_is_final(
    client: Client, service: FakeJobService
) -> None:
    job = client.create_job(spec())
    service.busy_next, service.busy_retry_after = 1, None  # a quota: waiting frees nothing
    with pytest.raises(errors.ResourceExhaustedError):
        client.get_job(job.name)
    assert service.calls.count("GetJob") == 1


def test_a_delay_past_the_retry_budget_is_raised_at_once(
    fake: tuple[FakeJobService, str],
) -> None:
    service, address = fake
    with Client(ClientConfig(server=address, api_key=API_KEY, retry_wait=0.5)) as patient:
        job = patient.create_job(spec())
        service.busy_next, service.busy_retry_after = 1, 60.0
        started = time.monotonic()
        with pytest.raises(errors.ResourceExhaustedError) as info:
            patient.get_job(job.name)
        assert info.value.retry_after == 60.0 and time.monotonic() - started < 5
    with Client(ClientConfig(server=address, api_key=API_KEY, retry_wait=0)) as hasty:
        service.busy_next, service.busy_retry_after = 1, 0.05
        with pytest.raises(errors.ResourceExhaustedError):
            hasty.get_job(job.name)


def test_a_watch_turned_away_by_a_full_stream_cap_waits_and_gets_every_event(
    client: Client, service: FakeJobService
) -> None:
    job = client.create_job(spec())
    service.finish(service.jobs[job.uid], job_pb2.SUCCEEDED, steps=3)
    service.busy_next = 3
    events = list(client.watch_job(job.name))
    assert [e.id for e in events] == [1, 2, 3, 4, 5]
    assert service.calls.count("WatchJob") == 4


def test_a_watch_gives_up_on_a_server_busy_past_its_patience(
    client: Client, service: FakeJobService
) -> None:
    job = client.create_job(spec())
    service.busy_next = 100
    with pytest.raises(errors.ResourceExhaustedError):
        list(client.watch_job(job.name, busy_patience=0.2))
    assert 2 <= service.calls.count("WatchJob") <= 5
