"""scheduler.server.build_server: port 0, health, reflection, graceful stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from dojo.v1 import job_pb2, job_pb2_grpc
from scheduler.server import BindError, build_server, stop_gracefully
from tests.support.grpc_server import serving


class SlowJobs(job_pb2_grpc.JobServiceServicer):
    started = threading.Event()

    def GetJob(self, request, context):
        self.started.set()
        time.sleep(0.5)
        return job_pb2.Job(name=request.name)


@pytest.fixture
def server() -> Iterator[tuple[grpc.Server, str]]:
    built = build_server(
        lambda s: job_pb2_grpc.add_JobServiceServicer_to_server(SlowJobs(), s),
        "127.0.0.1:0",
        max_workers=4,
    )
    with serving(built, grace=0) as address:
        yield built[0], address


def test_binds_a_free_port_and_reports_serving(server: tuple[grpc.Server, str]) -> None:
    with grpc.insecure_channel(server[1]) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        for name in ("", "dojo.v1.JobService"):
            reply = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as info:
            stub.Check(health_pb2.HealthCheckRequest(service="nope.Service"), timeout=5)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND


def test_reflection_lists_the_services(server: tuple[grpc.Server, str]) -> None:
    with grpc.insecure_channel(server[1]) as ch:
        db = ProtoReflectionDescriptorDatabase(ch)
        assert set(db.get_services()) == {
            "dojo.v1.JobService",
            "grpc.health.v1.Health",
            "grpc.reflection.v1alpha.ServerReflection",
        }
        method = db.FindFileContainingSymbol("dojo.v1.JobService")
        assert method.name == "dojo/v1/job.proto"


def test_graceful_stop_finishes_in_flight_calls(server: tuple[grpc.Server, str]) -> None:
    srv, address = server
    with grpc.insecure_channel(address) as ch:
        future = job_pb2_grpc.JobServiceStub(ch).GetJob.future(
            job_pb2.GetJobRequest(name="a"), timeout=10
        )
        assert SlowJobs.started.wait(5)
        stop_gracefully(srv, 5.0)
        assert future.result().name == "a"  # finished within the grace period


def test_bad_address_raises_bind_error() -> None:
    with pytest.raises(BindError, match="256.1.1.1"):
        build_server(lambda s: None, "256.1.1.1:5")
