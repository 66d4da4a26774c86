"""Privileges follow every change at once: a key acts with its creator's current role, so the
very next call after a removal, a deactivation, a demotion or an expiry answers differently,
on the same running server (no restart, no cache)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import grpc
import pytest
from django.utils import timezone

from dojo import specfile
from dojo.v1 import job_pb2, job_pb2_grpc, scheduler_pb2_grpc
from dojo.v1 import scheduler_pb2 as pb
from dojocloud.jobs import services as jobs
from dojocloud.tenancy.models import Membership, Role
from dojocloud.tenancy.services import create_api_key, principal_for_user
from tests.support.roles import World, caller, make_world

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_request_limits")]

SPEC = specfile.parse_yaml("""
name: stale
model: {architecture: mlp, params: {hidden: 8, layers: 1}}
dataset: {name: digits}
training: {steps: 6, batch_size: 8, optimizer: adam, learning_rate: 0.01, precision: fp32,
           checkpoint_interval: 2, seed: 1}
resources: {accelerators: [dojo-tile], count: 1}
""")

Call = Callable[..., object]


@pytest.fixture
def world(transactional_db: None) -> World:
    return make_world()


@pytest.fixture
def channel(address: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(address) as channel:
        yield channel


def keyed(channel: grpc.Channel, key: str) -> tuple[Callable[[str], Call], Callable[[str], Call]]:
    """(job RPC by name, scheduler RPC by name), each sending `key` with a deadline."""
    job_stub = job_pb2_grpc.JobServiceStub(channel)
    sched_stub = scheduler_pb2_grpc.SchedulerServiceStub(channel)
    md = [("authorization", f"Bearer {key}")]

    def on(stub: object) -> Callable[[str], Call]:
        return lambda name: lambda req: getattr(stub, name)(req, timeout=30, metadata=md)

    return on(job_stub), on(sched_stub)


def refused(rpc: Call, request: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        rpc(request)
    return err.value


def acme_job(world: World) -> str:
    job = jobs.create_job(principal_for_user(world.users["alice"], "acme"), SPEC)
    return f"organizations/acme/jobs/{job.id}"


def test_a_removed_members_key_is_unauthenticated_on_the_next_call(world, channel) -> None:
    job = acme_job(world)
    rpc, _ = keyed(channel, world.key(caller("member", "mia")))
    assert rpc("GetJob")(job_pb2.GetJobRequest(name=job)).name == job
    Membership.objects.filter(user=world.users["mia"], organization__slug="acme").delete()
    err = refused(rpc("GetJob"), job_pb2.GetJobRequest(name=job))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "no longer a member of 'acme'" in (err.details() or "")


def test_a_deactivated_users_key_is_unauthenticated(world, channel) -> None:
    job = acme_job(world)
    rpc, _ = keyed(channel, world.key(caller("owner", "alice")))
    assert rpc("GetJob")(job_pb2.GetJobRequest(name=job)).name == job
    world.users["alice"].is_active = False
    world.users["alice"].save(update_fields=["is_active"])
    err = refused(rpc("GetJob"), job_pb2.GetJobRequest(name=job))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED and "deactivated" in (err.details() or "")


def test_a_key_demoted_to_viewer_reads_but_cannot_submit(world, channel) -> None:
    job = acme_job(world)
    rpc, _ = keyed(channel, world.key(caller("member", "mia")))
    rpc("CreateJob")(job_pb2.CreateJobRequest(job_spec=SPEC))
    Membership.objects.filter(user=world.users["mia"]).update(role=Role.VIEWER)
    err = refused(rpc("CreateJob"), job_pb2.CreateJobRequest(job_spec=SPEC))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "role 'viewer' in 'acme' cannot submit jobs" in (err.details() or "")
    assert rpc("GetJob")(job_pb2.GetJobRequest(name=job)).name == job
    Membership.objects.filter(user=world.users["mia"]).update(role=Role.MEMBER)
    rpc("CreateJob")(job_pb2.CreateJobRequest(job_spec=SPEC))  # and promoted back, at once


def test_an_operator_demoted_in_the_operators_org_loses_the_scheduler_api(world, channel) -> None:
    _, sched = keyed(channel, world.key(caller("operator", "otto")))
    assert sched("ListQuotas")(pb.ListQuotasRequest()) is not None
    Membership.objects.filter(user=world.users["otto"]).update(role=Role.MEMBER)
    for name, request in (
        ("GetCapacity", pb.GetCapacityRequest()),
        ("ListQueue", pb.ListQueueRequest()),
        ("ListQuotas", pb.ListQuotasRequest()),
    ):
        err = refused(sched(name), request)
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED, name
        assert "the scheduler API is for operators" in (err.details() or "")


def test_an_operator_who_left_the_operators_org_is_refused(world, channel) -> None:
    """Leaving ends the membership the key acted through: like any removed member's key it no
    longer authenticates at all (stronger than PERMISSION_DENIED)."""
    _, sched = keyed(channel, world.key(caller("operator", "otto")))
    assert sched("GetCapacity")(pb.GetCapacityRequest()) is not None
    Membership.objects.filter(user=world.users["otto"], organization__slug="operators").delete()
    err = refused(sched("GetCapacity"), pb.GetCapacityRequest())
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "no longer a member of 'operators'" in (err.details() or "")


def test_an_expired_key_is_unauthenticated_naming_the_expiry(world, channel) -> None:
    job = acme_job(world)
    principal = principal_for_user(world.users["alice"], "acme")
    expires = timezone.now() + timedelta(seconds=1)
    _, raw = create_api_key(principal, name="short", expires_at=expires)
    rpc, _ = keyed(channel, raw)
    assert rpc("GetJob")(job_pb2.GetJobRequest(name=job)).name == job
    time.sleep(max(0.0, (expires - timezone.now()).total_seconds()) + 0.05)
    err = refused(rpc("GetJob"), job_pb2.GetJobRequest(name=job))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    assert f"API key expired at {expires.isoformat()}" in (err.details() or "")


def test_a_read_only_key_of_an_owner_cannot_cancel(world, channel) -> None:
    job = acme_job(world)
    rpc, _ = keyed(channel, world.key(caller("owner/read", "alice", "read")))
    err = refused(rpc("CancelJob"), job_pb2.CancelJobRequest(name=job))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "scope 'read' cannot cancel jobs" in (err.details() or "")


def test_a_watch_stream_ends_when_its_keys_creator_is_removed(world, channel) -> None:
    job = acme_job(world)
    rpc, _ = keyed(channel, world.key(caller("member", "mia")))
    stream = rpc("WatchJob")(job_pb2.WatchJobRequest(name=job))
    assert next(iter(stream)).HasField("state_change")  # "submitted": the stream is open
    Membership.objects.filter(user=world.users["mia"]).delete()
    with pytest.raises(grpc.RpcError) as err:
        for _ in stream:
            pass
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
