"""SchedulerService's requests, built once for `dojo.operator.OperatorClient` and
`dojo.async_operator.AsyncOperatorClient` (the same `dojo.rpcs.Unary` as the other
services'): reads are retried; drains, quotas and preemptions are actions, sent once (a
retry could act twice)."""

from __future__ import annotations

from dojo.rpcs import Unary
from dojo.v1 import scheduler_pb2 as pb
from dojo.v1 import scheduler_pb2_grpc

Scheduler = scheduler_pb2_grpc.SchedulerServiceStub


def get_capacity(pool: str) -> Unary[pb.Capacity]:
    request = pb.GetCapacityRequest(pool=pool)
    return Unary(Scheduler, "GetCapacity", request, pb.Capacity, read=True)


def list_queue(pool: str, page_size: int) -> Unary[pb.ListQueueResponse]:
    request = pb.ListQueueRequest(pool=pool, page_size=page_size)
    return Unary(Scheduler, "ListQueue", request, pb.ListQueueResponse, read=True)


def get_quota(tenant: str, pool: str) -> Unary[pb.Quota]:
    request = pb.GetQuotaRequest(tenant=tenant, pool=pool)
    return Unary(Scheduler, "GetQuota", request, pb.Quota, read=True)


def list_quotas(tenant: str) -> Unary[pb.ListQuotasResponse]:
    request = pb.ListQuotasRequest(tenant=tenant)
    return Unary(Scheduler, "ListQuotas", request, pb.ListQuotasResponse, read=True)


def drain(target: str, evict: bool, reason: str) -> Unary[pb.OperationResult]:
    request = pb.DrainRequest(target=target, evict=evict, reason=reason)
    return Unary(Scheduler, "Drain", request, pb.OperationResult, read=False)


def undrain(target: str, reason: str) -> Unary[pb.OperationResult]:
    request = pb.UndrainRequest(target=target, reason=reason)
    return Unary(Scheduler, "Undrain", request, pb.OperationResult, read=False)


def mark_failed(target: str, reason: str) -> Unary[pb.OperationResult]:
    request = pb.MarkFailedRequest(target=target, reason=reason)
    return Unary(Scheduler, "MarkFailed", request, pb.OperationResult, read=False)


def set_quota(quota: pb.Quota, reason: str) -> Unary[pb.Quota]:
    request = pb.SetQuotaRequest(quota=quota, reason=reason)
    return Unary(Scheduler, "SetQuota", request, pb.Quota, read=False)


def preempt_job(name: str, reason: str) -> Unary[pb.JobPlacement]:
    request = pb.PreemptJobRequest(name=name, reason=reason)
    return Unary(Scheduler, "PreemptJob", request, pb.JobPlacement, read=False)


def requeue_job(name: str, reason: str) -> Unary[pb.JobPlacement]:
    request = pb.RequeueJobRequest(name=name, reason=reason)
    return Unary(Scheduler, "RequeueJob", request, pb.JobPlacement, read=False)
