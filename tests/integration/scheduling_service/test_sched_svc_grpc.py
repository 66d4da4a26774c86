"""SchedulerService over a real gRPC server on the test database: operators only, errors
through the shared mapping, actions reaching the database."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sched_svc_grpc_support import Callers, Stub

from dojo.v1 import scheduler_pb2 as pb
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job
from dojocloud.scheduling.models import Device
from tests.support.people import admit, make_spec

TILE = "dojo/e0/c0/t0/r0c0"


def _job(callers: Callers, name: str, place_on: str | None = None) -> Job:
    job = jobs.create_job(callers.acme, make_spec(name))
    if place_on:
        admit(job, (place_on,), reason="test")
    return job


def _violations(err: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    out = []
    for detail in status.details if status else []:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            out += [v.field for v in bad.field_violations]
    return out


@pytest.mark.parametrize("who", ["customer", "operator_viewer"])
def test_only_operators_may_call(
    callers: Callers, stub_for: Callable[[str], Stub], who: str
) -> None:
    with pytest.raises(grpc.RpcError) as err:
        stub_for(getattr(callers, who)).GetCapacity(pb.GetCapacityRequest())
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as err:
        stub_for("dojo_bogus_key").Drain(pb.DrainRequest(target=TILE))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert Device.objects.get(id=TILE).status == "free"


def test_capacity_and_queue(callers: Callers, stub_for: Callable[[str], Stub]) -> None:
    running = _job(callers, "running", place_on=TILE)
    waiting = _job(callers, "waiting")
    Job.objects.filter(id=waiting.id).update(queue_position=1, pending_reason="no room")
    ops = stub_for(callers.operator)
    cap = ops.GetCapacity(pb.GetCapacityRequest())
    tile = next(t for t in cap.tiles if t.id == TILE)
    assert (tile.state, tile.holder.tenant, tile.row, tile.col) == ("busy", "acme", 0, 0)
    assert tile.holder.job == f"organizations/acme/jobs/{running.id}"
    assert [len(n.gpus) for n in cap.gpu_nodes] == [8, 8, 8]
    dojo = next(p for p in cap.pools if p.pool == "dojo")
    assert (dojo.total, dojo.allocated, dojo.free, dojo.queued) == (6, 1, 5, 1)
    queue = ops.ListQueue(pb.ListQueueRequest(pool="dojo"))
    assert [(q.job, q.position, q.pending_reason) for q in queue.jobs] == [
        (f"organizations/acme/jobs/{waiting.id}", 1, "no room")
    ]
    assert ops.ListQueue(pb.ListQueueRequest(pool="gpu-a100")).total == 0


def test_drain_mark_failed_undrain(callers: Callers, stub_for: Callable[[str], Stub]) -> None:
    job = _job(callers, "victim", place_on=TILE)
    ops = stub_for(callers.operator)
    result = ops.Drain(pb.DrainRequest(target="dojo/e0/c0/t0", evict=True, reason="swap"))
    assert result.devices == 6 and list(result.jobs) == [f"organizations/acme/jobs/{job.id}"]
    job.refresh_from_db()
    assert job.preempt_requested and "swap (by key:" in job.preempt_reason
    ops.MarkFailed(pb.MarkFailedRequest(target=TILE, reason="dead"))
    job.refresh_from_db()
    assert job.state == "QUEUED" and Device.objects.get(id=TILE).status == "failed"
    assert ops.Undrain(pb.UndrainRequest(target="dojo/e0/c0/t0")).devices == 6
    with pytest.raises(grpc.RpcError) as err:
        ops.Drain(pb.DrainRequest(target="dojo/e7"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        ops.Drain(pb.DrainRequest(target=""))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(err.value) == ["target"]


def test_quotas(callers: Callers, stub_for: Callable[[str], Stub]) -> None:
    ops = stub_for(callers.operator)
    q = ops.SetQuota(
        pb.SetQuotaRequest(
            quota=pb.Quota(
                tenant="acme", pool="dojo", nominal=4, borrowing_limit=0, cohort="research"
            ),
            reason="contract",
        )
    )
    assert (q.nominal, q.borrowing_limit, q.HasField("lending_limit"), q.weight) == (
        4,
        0,
        False,
        1.0,
    )
    assert q.updated_by.endswith("@operators")
    got = ops.GetQuota(pb.GetQuotaRequest(tenant="acme", pool="dojo"))
    assert got.cohort == "research"
    assert [x.pool for x in ops.ListQuotas(pb.ListQuotasRequest()).quotas] == ["dojo"]
    with pytest.raises(grpc.RpcError) as err:
        ops.SetQuota(pb.SetQuotaRequest(quota=pb.Quota(tenant="acme", pool="tpu")))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(err.value) == ["pool"]
    with pytest.raises(grpc.RpcError) as err:
        ops.GetQuota(pb.GetQuotaRequest(tenant="acme", pool="gpu-h100"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_preempt_and_requeue(callers: Callers, stub_for: Callable[[str], Stub]) -> None:
    job = _job(callers, "j", place_on=TILE)
    ops = stub_for(callers.operator)
    name = f"organizations/acme/jobs/{job.id}"
    out = ops.PreemptJob(pb.PreemptJobRequest(name=name, reason="rebalance"))
    assert out.preempt_requested and out.state == "SCHEDULED"
    with pytest.raises(grpc.RpcError) as err:
        ops.PreemptJob(pb.PreemptJobRequest(name=name))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    out = ops.RequeueJob(pb.RequeueJobRequest(name=name, reason="now"))
    assert out.state == "QUEUED" and not out.devices
    with pytest.raises(grpc.RpcError) as err:
        ops.RequeueJob(pb.RequeueJobRequest(name=f"organizations/other/jobs/{job.id}"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        ops.RequeueJob(pb.RequeueJobRequest(name="jobs/x"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_operators_name_a_tenants_job_by_its_name_or_id_prefix(
    callers: Callers, stub_for: Callable[[str], Stub]
) -> None:
    job = _job(callers, "j", place_on=TILE)
    ops = stub_for(callers.operator)
    out = ops.PreemptJob(pb.PreemptJobRequest(name=f"organizations/acme/jobs/{job.name}"))
    assert out.job.endswith(job.id) and out.preempt_requested
    out = ops.RequeueJob(pb.RequeueJobRequest(name=f"organizations/acme/jobs/{job.id[:6]}"))
    assert out.job.endswith(job.id) and out.state == "QUEUED"
    with pytest.raises(grpc.RpcError) as err:  # the name is acme's: not another tenant's
        ops.RequeueJob(pb.RequeueJobRequest(name=f"organizations/other/jobs/{job.name}"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
