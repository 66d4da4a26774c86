"""JobService servicer: authorize (each method's @rpc action, dojocloud.api.auth), parse,
call the jobs facade, map. DojoErrors raised here become gRPC statuses in
dojocloud.api.interceptors."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc

from dojo.v1 import job_pb2, job_pb2_grpc
from dojocloud.api import mappers
from dojocloud.api.auth import authorize, rpc
from dojocloud.api.event_stream import draining, follow_events
from dojocloud.api.log_stream import follow_log
from dojocloud.billing import facade as billing
from dojocloud.common.errors import ResourceExhausted
from dojocloud.jobs import facade as services
from dojocloud.tenancy.facade import Action, Principal

STREAM_RETRY_S = 5.0


class JobService(job_pb2_grpc.JobServiceServicer):
    def __init__(self, *, max_streams: int = 8) -> None:
        # Each WatchJob holds a server thread while it runs; capping them keeps threads free
        # for unary calls. Past the cap a watcher gets RESOURCE_EXHAUSTED with RetryInfo.
        self._streams = threading.BoundedSemaphore(max_streams)

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
        return _with_cost(job)

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

    @rpc(Action.JOBS_READ)
    def WatchJob(
        self,
        request: job_pb2.WatchJobRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> Iterator[job_pb2.JobEvent]:
        job = _resolve(principal, request.name)  # NotFound before streaming
        job_id, name = job.id, job.resource_name
        if not self._streams.acquire(blocking=False):
            raise ResourceExhausted(
                "too many watch streams on this server",
                subject="WatchJob",
                retry_after_s=STREAM_RETRY_S,
            )
        try:
            yield from self._stream(principal, job_id, name, request.after_event_id, context)
        finally:
            self._streams.release()

    def _stream(
        self,
        principal: Principal,
        job_id: str,
        name: str,
        after_id: int,
        context: grpc.ServicerContext,
    ) -> Iterator[job_pb2.JobEvent]:
        last = after_id
        # Each poll decides the key again: a key whose creator left stops the stream there.
        events = follow_events(
            principal,
            job_id,
            after_id=last,
            active=context.is_active,
            refresh=lambda: authorize(context, Action.JOBS_READ),
        )
        for event in events:
            last = event.id
            yield mappers.event_to_proto(event, name)
        if draining.is_set():
            context.abort(
                grpc.StatusCode.UNAVAILABLE, f"server shutting down; resume after event {last}"
            )

    @rpc(Action.JOBS_READ)
    def StreamJobLogs(
        self,
        request: job_pb2.StreamJobLogsRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> Iterator[job_pb2.JobLogChunk]:
        job_id = _resolve(principal, request.name).id  # NotFound before streaming
        if not request.follow:
            yield from _log_chunks(follow_log(principal, job_id, offset=request.offset))
            return
        if not self._streams.acquire(blocking=False):  # a follower holds a thread, as a watch
            raise ResourceExhausted(
                "too many streams on this server",
                subject="StreamJobLogs",
                retry_after_s=STREAM_RETRY_S,
            )
        try:
            reads = follow_log(
                principal,
                job_id,
                offset=request.offset,
                follow=True,
                active=context.is_active,
                refresh=lambda: authorize(context, Action.JOBS_READ),
            )
            last = request.offset
            for chunk in _log_chunks(reads):
                last = chunk.next_offset
                yield chunk
            if draining.is_set():
                context.abort(
                    grpc.StatusCode.UNAVAILABLE, f"server shutting down; resume at offset {last}"
                )
        finally:
            self._streams.release()

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


def _log_chunks(reads: Iterator[services.LogRead]) -> Iterator[job_pb2.JobLogChunk]:
    for read in reads:
        yield job_pb2.JobLogChunk(offset=read.offset, data=read.data, next_offset=read.next_offset)


def _resolve(principal: Principal, name: str) -> services.Job:
    """`organizations/{org}/jobs/{ref}` or a bare `ref` (an id, a name unique in the
    organization, or a unique id prefix) → the caller's job."""
    return services.resolve_job(principal, mappers.job_id_from_name(principal, name))


def add_job_service(server: grpc.Server, *, max_streams: int = 8) -> None:
    job_pb2_grpc.add_JobServiceServicer_to_server(JobService(max_streams=max_streams), server)


def _with_cost(job: services.Job) -> job_pb2.Job:
    return mappers.job_to_proto(job, billing.job_costs([job.id]).get(job.id))
