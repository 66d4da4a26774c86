"""ApiInterceptor: raised DojoErrors become statuses with details; metrics by final code."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from prometheus_client import REGISTRY

from dojo import errors as sdk_errors
from dojo.client import Client
from dojo.config import ClientConfig
from dojo.v1 import job_pb2, job_pb2_grpc
from dojocloud.api.interceptors import ApiInterceptor
from dojocloud.common import errors
from scheduler.server import build_server
from tests.support.grpc_server import serving


class Raising(job_pb2_grpc.JobServiceServicer):
    def GetJob(self, request, context):
        if request.name == "missing":
            raise errors.NotFound("organizations/a/jobs/missing")
        if request.name == "aborts":
            context.abort(grpc.StatusCode.ALREADY_EXISTS, "handler's own abort")
        raise RuntimeError("bug")

    def WatchJob(self, request, context) -> Iterator[job_pb2.JobEvent]:
        yield job_pb2.JobEvent(id=1)
        raise errors.FailedPrecondition("job was deleted")


@pytest.fixture
def client() -> Iterator[Client]:
    built = build_server(
        lambda s: job_pb2_grpc.add_JobServiceServicer_to_server(Raising(), s),
        "127.0.0.1:0",
        max_workers=2,
        interceptors=[ApiInterceptor()],
    )
    with (
        serving(built) as address,
        Client(ClientConfig(server=address, api_key="k", timeout=5)) as c,
    ):
        yield c


def count(method: str, code: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "dojo_grpc_requests_total", {"method": f"/dojo.v1.JobService/{method}", "code": code}
        )
        or 0.0
    )


@pytest.mark.parametrize(
    ("name", "error", "code"),
    [
        ("missing", sdk_errors.NotFoundError, "NOT_FOUND"),
        ("aborts", sdk_errors.AlreadyExistsError, "ALREADY_EXISTS"),
        ("bug", sdk_errors.InternalError, "INTERNAL"),
    ],
)
def test_unary_errors(client: Client, name: str, error: type[Exception], code: str) -> None:
    before = count("GetJob", code)
    with pytest.raises(error):
        client.get_job(name)
    assert count("GetJob", code) == before + 1


def test_a_bug_does_not_leak_its_message(client: Client) -> None:
    with pytest.raises(sdk_errors.InternalError) as info:
        client.get_job("bug")
    assert "bug" not in info.value.message


def test_not_found_carries_error_info(client: Client) -> None:
    with pytest.raises(sdk_errors.NotFoundError) as info:
        client.get_job("missing")
    assert info.value.metadata["resource"] == "organizations/a/jobs/missing"


def test_error_mid_stream_after_events(client: Client) -> None:
    before = count("WatchJob", "FAILED_PRECONDITION")
    got = []
    with pytest.raises(sdk_errors.FailedPreconditionError, match="deleted"):
        for event in client.watch_job("x"):
            got.append(event.id)
    assert got == [1]
    assert count("WatchJob", "FAILED_PRECONDITION") == before + 1
