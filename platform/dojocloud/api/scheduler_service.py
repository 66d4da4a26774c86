"""SchedulerService servicer: operators only. Authorise (each method's @rpc action,
dojocloud.api.auth), parse, call the scheduling services, map to the wire. DojoErrors
become gRPC statuses in dojocloud.api.interceptors.

Who is an operator: tenancy's operator grant, decided at each call: a key whose creator is
an owner or admin of settings.OPERATOR_ORG (DOJO_OPERATOR_ORG, default "operators") now;
reads need operator.read, changes operator.act (a read-only key of an operator only reads).
Actions are recorded on jobs as done by "<key label>@<org>", and in the audit trail as
the key ("key dojo_ab12cd34 (olga)") from the call's peer.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc
from google.protobuf import timestamp_pb2

from dojo.v1 import scheduler_pb2 as pb
from dojo.v1 import scheduler_pb2_grpc
from dojocloud.api.auth import rpc
from dojocloud.api.mappers import parse_job_name
from dojocloud.audit.facade import Actor
from dojocloud.common.errors import FieldViolation, InvalidArgument
from dojocloud.jobs.facade import Job
from dojocloud.scheduling import facade as scheduling
from dojocloud.scheduling.facade import OperationResult, QuotaSpec, QuotaView
from dojocloud.tenancy.facade import Action, Principal, actor_for

MAX_QUEUE_PAGE = 1000
READ, ACT = Action.OPERATOR_READ, Action.OPERATOR_ACT


def actor(principal: Principal) -> str:
    """The operator's label for the records."""
    return f"{principal.label}@{principal.organization.slug}"


def audited(principal: Principal, context: grpc.ServicerContext) -> Actor:
    """The operator as the audit trail names them, calling from the gRPC peer."""
    return actor_for(principal, context.peer() or "")


# --- mapper: scheduling read models and results -> wire ---------------------------------


def _ts(value: object) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value)  # type: ignore[arg-type]
    return out


def _name(tenant: str, job_id: str) -> str:
    return f"organizations/{tenant}/jobs/{job_id}"


def _holder(h: scheduling.Holder | None) -> pb.DeviceHolder | None:
    return (
        None
        if h is None
        else pb.DeviceHolder(job=_name(h.tenant, h.job_id), tenant=h.tenant, job_name=h.job_name)
    )


def capacity_to_proto(
    rows: list[scheduling.DeviceRow], pools: list[scheduling.PoolRow]
) -> pb.Capacity:
    out = pb.Capacity(
        pools=[
            pb.PoolCapacity(
                pool=p.pool,
                accelerator=p.accelerator,
                total=p.total,
                allocated=p.allocated,
                free=p.free,
                unavailable=p.unavailable,
                queued=p.queued,
            )
            for p in pools
        ]
    )
    nodes: dict[str, pb.GpuNodeCapacity] = {}
    for r in rows:
        d = r.device
        if d.kind == "tile":
            out.tiles.append(
                pb.TileSlot(
                    id=d.id,
                    pool=d.pool,
                    exapod=d.exapod,
                    cabinet=d.cabinet,
                    tray=d.tray,
                    row=d.row,
                    col=d.col,
                    state=r.state,
                    holder=_holder(r.holder),
                )
            )
        else:
            node_id = f"{d.pool}/{d.node}"
            if node_id not in nodes:
                nodes[node_id] = out.gpu_nodes.add(id=node_id, pool=d.pool)
            nodes[node_id].gpus.append(
                pb.GpuSlot(index=d.index, state=r.state, holder=_holder(r.holder))
            )
    return out


def queue_to_proto(rows: list[scheduling.QueueRow], size: int) -> pb.ListQueueResponse:
    return pb.ListQueueResponse(
        total=len(rows),
        jobs=[
            pb.QueuedJob(
                job=_name(r.tenant, r.job_id),
                tenant=r.tenant,
                pool=r.pool,
                position=r.position,
                pending_reason=r.pending_reason,
                priority=r.priority,
                accelerator=r.accelerator,
                count=r.count,
                create_time=_ts(r.created_at),
                state=r.state,
            )
            for r in rows[:size]
        ],
    )


def result_to_proto(result: OperationResult) -> pb.OperationResult:
    """An operator action's result, its jobs named in full (tenant looked up per job)."""
    tenants = dict(Job.objects.filter(id__in=result.jobs).values_list("id", "organization__slug"))
    return pb.OperationResult(
        target=result.target,
        devices=result.devices,
        jobs=[_name(tenants.get(j, ""), j) for j in result.jobs],
    )


def quota_to_proto(view: QuotaView) -> pb.Quota:
    s = view.spec
    return pb.Quota(
        tenant=s.tenant,
        pool=s.pool,
        nominal=s.nominal,
        borrowing_limit=s.borrowing_limit,
        lending_limit=s.lending_limit,
        cohort=s.cohort,
        weight=s.weight,
        decayed_usage=view.decayed_usage,
        update_time=_ts(view.updated_at),
        updated_by=view.updated_by,
    )


def quota_from_proto(q: pb.Quota) -> QuotaSpec:
    return QuotaSpec(
        tenant=q.tenant.strip(),
        pool=q.pool.strip(),
        nominal=q.nominal,
        borrowing_limit=q.borrowing_limit if q.HasField("borrowing_limit") else None,
        lending_limit=q.lending_limit if q.HasField("lending_limit") else None,
        cohort=q.cohort.strip() or "default",
        weight=q.weight or 1.0,
    )


def job_to_proto(job: Job) -> pb.JobPlacement:
    return pb.JobPlacement(
        job=job.resource_name,
        state=job.state,
        pool=job.pool,
        devices=list(job.devices),
        preempt_requested=job.preempt_requested,
        state_reason=job.state_reason,
    )


def _operator_job_name(name: str) -> tuple[str, str]:
    """(tenant, job id). Operators reach every tenant's jobs, yet they name one in full: the
    tenant in the name guards against a mistyped id landing on another tenant's job."""
    tenant, job_id = parse_job_name(name, bare_id=False)
    return tenant or "", job_id


# --- servicer ------------------------------------------------------------------------------


class SchedulerService(scheduler_pb2_grpc.SchedulerServiceServicer):
    @rpc(READ)
    def GetCapacity(
        self,
        request: pb.GetCapacityRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> pb.Capacity:
        rows = scheduling.devices(request.pool.strip())
        return capacity_to_proto(rows, scheduling.pools(rows, scheduling.queued_per_pool()))

    @rpc(READ)
    def ListQueue(
        self,
        request: pb.ListQueueRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> pb.ListQueueResponse:
        if request.page_size < 0:
            raise InvalidArgument([FieldViolation("page_size", "must be zero or more")])
        size = min(request.page_size or 100, MAX_QUEUE_PAGE)
        return queue_to_proto(scheduling.queue(request.pool.strip()), size)

    @rpc(ACT)
    def Drain(
        self,
        request: pb.DrainRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> pb.OperationResult:
        return result_to_proto(
            scheduling.drain(
                request.target,
                evict=request.evict,
                actor=actor(principal),
                reason=request.reason,
                audit_actor=audited(principal, context),
            )
        )

    @rpc(ACT)
    def Undrain(
        self,
        request: pb.UndrainRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> pb.OperationResult:
        return result_to_proto(
            scheduling.undrain(
                request.target,
                actor=actor(principal),
                reason=request.reason,
                audit_actor=audited(principal, context),
            )
        )

    @rpc(ACT)
    def MarkFailed(
        self,
        request: pb.MarkFailedRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> pb.OperationResult:
        return result_to_proto(
            scheduling.mark_failed(
                request.target,
                actor=actor(principal),
                reason=request.reason,
                audit_actor=audited(principal, context),
            )
        )

    @rpc(READ)
    def GetQuota(
        self,
        request: pb.GetQuotaRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> pb.Quota:
        return quota_to_proto(scheduling.get_quota(request.tenant.strip(), request.pool.strip()))

    @rpc(READ)
    def ListQuotas(
        self,
        request: pb.ListQuotasRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> pb.ListQuotasResponse:
        return pb.ListQuotasResponse(
            quotas=[quota_to_proto(v) for v in scheduling.list_quotas(request.tenant.strip())]
        )

    @rpc(ACT)
    def SetQuota(
        self,
        request: pb.SetQuotaRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> pb.Quota:
        view = scheduling.set_quota(
            quota_from_proto(request.quota),
            actor=actor(principal),
            reason=request.reason,
            audit_actor=audited(principal, context),
        )
        return quota_to_proto(view)

    @rpc(ACT)
    def PreemptJob(
        self,
        request: pb.PreemptJobRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> pb.JobPlacement:
        return _job_action(scheduling.preempt_job, request, principal, context)

    @rpc(ACT)
    def RequeueJob(
        self,
        request: pb.RequeueJobRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> pb.JobPlacement:
        return _job_action(scheduling.requeue_job, request, principal, context)


def _job_action(
    action: Callable[..., Job],
    request: pb.PreemptJobRequest | pb.RequeueJobRequest,
    principal: Principal,
    context: grpc.ServicerContext,
) -> pb.JobPlacement:
    """An operator's action on one job, named in full: preempt or requeue."""
    tenant, job_id = _operator_job_name(request.name)
    return job_to_proto(
        action(
            job_id,
            actor=actor(principal),
            reason=request.reason,
            tenant=tenant,
            audit_actor=audited(principal, context),
        )
    )


def add_scheduler_service(server: grpc.Server) -> None:
    scheduler_pb2_grpc.add_SchedulerServiceServicer_to_server(SchedulerService(), server)
