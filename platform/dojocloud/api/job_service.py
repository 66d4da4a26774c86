"""JobService servicer: authorize (each method's @rpc action, dojocloud.api.auth), parse,
call the jobs facade, map. DojoErrors raised here become gRPC statuses in
dojocloud.api.interceptors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing
from typing import Any

import grpc

from dojo.v1 import job_pb2, job_pb2_grpc
from dojocloud.api import mappers
from dojocloud.api.auth import rpc
from dojocloud.api.event_stream import draining
from dojocloud.api.log_stream import follow_log
from dojocloud.api.offload import InFlight, in_stream_thread
from dojocloud.api.stream_auth import Decisions
from dojocloud.api.watch_hub import WatchHub
from dojocloud.billing import facade as billing
from dojocloud.common.errors import Unavailable
from dojocloud.jobs import facade as services
from dojocloud.tenancy.facade import Action, Principal


class JobService(job_pb2_grpc.JobServiceServicer):
    """Unary methods are sync (the interceptor runs them in the server's thread pool); the
    streams are async generators on the server's loop: a stream costs a coroutine, and the
    WatchJob streams of one job share one follower of its events (watch_hub)."""

    def __init__(self, *, hub: WatchHub | None = None) -> None:
        self.hub = hub or WatchHub()
        self.decisions = Decisions()
        # WatchJob streams opening at once on one job share the read of which job it is.
        self._resolving: InFlight[tuple[int, str], services.Job] = InFlight()

    @rpc(Action.JOBS_SUBMIT)
    def CreateJob(
        self,
        request: job_pb2.CreateJobRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> job_pb2.Job:
        bad_parent = mappers.parent_violations(principal, request.parent)
        job = services.create_job(
            principal, request.job_spec, request_id=request.request_id, also_invalid=bad_parent
        )
        return _created(job)

    @rpc(Action.JOBS_READ)
    def GetJob(
        self,
        request: job_pb2.GetJobRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> job_pb2.Job:
        return _with_cost(_resolve(principal, request.name))

    @rpc(Action.JOBS_READ)
    def ListJobs(
        self,
        request: job_pb2.ListJobsRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> job_pb2.ListJobsResponse:
        mappers.check_parent(principal, request.parent)
        jobs, token = services.list_jobs(
            principal,
            page_size=request.page_size,
            page_token=request.page_token,
            state=mappers.state_from_filter(request.filter),
        )
        costs = billing.job_costs(j.id for j in jobs)
        return job_pb2.ListJobsResponse(
            jobs=[mappers.job_to_proto(j, costs.get(j.id)) for j in jobs], next_page_token=token
        )

    @rpc(Action.JOBS_CANCEL)
    def CancelJob(
        self,
        request: job_pb2.CancelJobRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> job_pb2.Job:
        job_id = _resolve(principal, request.name).id
        return _with_cost(services.cancel_job(principal, job_id, reason=request.reason))

    # The stub says JobEvent messages; this yields them serialized (once for all watchers of
    # a job), which the interceptor sends as they are (interceptors.sent_as_is).
    @rpc(Action.JOBS_READ)
    async def WatchJob(  # type: ignore[override]
        self,
        request: job_pb2.WatchJobRequest,
        context: grpc.aio.ServicerContext[Any, Any],
        principal: Principal,
    ) -> AsyncIterator[bytes]:  # serialized job_pb2.JobEvent messages
        ref = mappers.job_id_from_name(principal, request.name)
        name = self.hub.followed(principal, ref)
        if name is None:  # not followed here yet: the database says which job (NotFound)
            job = await self._resolving.get(
                (principal.organization.pk, ref),
                lambda: in_stream_thread(services.resolve_job, principal, ref),
            )
            job_id, name = job.id, job.resource_name
        else:
            job_id = ref  # a job this server follows for the caller's organization
        metadata = context.invocation_metadata()

        def hold(queue: asyncio.Queue[Any]) -> Callable[[], None]:
            # A key whose creator left stops the stream within stream_auth.REAUTH_S.
            return self.decisions.hold(metadata, Action.JOBS_READ, queue)

        def encode(batch: Sequence[services.JobEvent]) -> list[tuple[int, bytes]]:
            # Once per event for every watcher of the job (in a stream thread): the stream
            # sends these bytes as they are (interceptors: a bytes answer is not serialized).
            return [(e.id, mappers.event_to_proto(e, name).SerializeToString()) for e in batch]

        events = self.hub.watch(principal, job_id, name, request.after_event_id, hold, encode)
        async with aclosing(events):
            async for data in events:
                yield data

    @rpc(Action.JOBS_READ)
    async def StreamJobLogs(
        self,
        request: job_pb2.StreamJobLogsRequest,
        context: grpc.aio.ServicerContext[Any, Any],
        principal: Principal,
    ) -> AsyncIterator[job_pb2.JobLogChunk]:
        job = await in_stream_thread(_resolve, principal, request.name)  # NotFound first
        metadata = context.invocation_metadata()

        async def refresh() -> Principal:
            return await self.decisions.decide(metadata, Action.JOBS_READ)

        reads = follow_log(
            principal,
            job.id,
            offset=request.offset,
            follow=request.follow,
            refresh=refresh if request.follow else None,
        )
        last = request.offset
        async with aclosing(reads):
            async for read in reads:
                last = read.next_offset
                yield job_pb2.JobLogChunk(
                    offset=read.offset, data=read.data, next_offset=read.next_offset
                )
        if request.follow and draining.is_set():
            raise Unavailable(f"server shutting down; resume at offset {last}")

    @rpc(Action.JOBS_ESTIMATE)  # estimates are free, but only for customers
    def EstimateJob(
        self,
        request: job_pb2.EstimateJobRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> job_pb2.EstimateJobResponse:
        # The price book's rates, as the bill will be.
        return mappers.estimate_to_proto(
            services.estimate_job(
                principal,
                request.job_spec,
                prices=billing.accelerator_prices(preemptible=request.job_spec.preemptible),
            )
        )


def _resolve(principal: Principal, name: str) -> services.Job:
    """`organizations/{org}/jobs/{ref}` or a bare `ref` (an id, a name unique in the
    organization, or a unique id prefix) → the caller's job."""
    return services.resolve_job(principal, mappers.job_id_from_name(principal, name))


def add_job_service(server: grpc.Server, *, hub: WatchHub | None = None) -> None:
    job_pb2_grpc.add_JobServiceServicer_to_server(JobService(hub=hub), server)


def _with_cost(job: services.Job) -> job_pb2.Job:
    return mappers.job_to_proto(job, billing.job_costs([job.id]).get(job.id))


def _created(job: services.Job) -> job_pb2.Job:
    """CreateJob's answer: a job never admitted (attempt 0: the new one, or a retry's of one
    still queued) has run no segment, so there are no ledger rows to read for its cost."""
    return _with_cost(job) if job.attempt else mappers.job_to_proto(job, None)
