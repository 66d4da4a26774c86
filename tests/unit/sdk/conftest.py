"""An in-process fake JobService on a real gRPC server (port 0), for SDK and CLI unit tests.

It stands in for the network edge only: real channel, real metadata, real status details.
Knobs let a test drop calls with UNAVAILABLE or cut a WatchJob stream part-way.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from dojo.client import Client
from dojo.config import ClientConfig
from dojo.v1 import job_pb2, job_pb2_grpc
from tests.support.grpc_server import serving_fake

API_KEY = "dojo_test_key"


def _retry_info(seconds: float) -> error_details_pb2.RetryInfo:
    info = error_details_pb2.RetryInfo()
    info.retry_delay.FromNanoseconds(int(seconds * 1e9))
    return info


def abort(context: grpc.ServicerContext, code: int, message: str, *details: object) -> None:
    packed = []
    for d in details:
        a = any_pb2.Any()
        a.Pack(d)  # type: ignore[arg-type]
        packed.append(a)
    context.abort_with_status(
        rpc_status.to_status(status_pb2.Status(code=code, message=message, details=packed))
    )


class FakeJobService(job_pb2_grpc.JobServiceServicer):
    def __init__(self) -> None:
        self.jobs: dict[str, job_pb2.Job] = {}
        self.by_request: dict[str, str] = {}
        self.events: dict[str, list[job_pb2.JobEvent]] = {}
        self.calls: list[str] = []
        self.unavailable_next = 0  # fail this many coming calls with UNAVAILABLE
        self.busy_next = 0  # turn away this many coming calls with RESOURCE_EXHAUSTED ...
        self.busy_retry_after: float | None = 0.05  # ... and this RetryInfo (None: none)
        self.cut_watch_after: int | None = None  # first WatchJob drops after N events
        self.watch_requests: list[job_pb2.WatchJobRequest] = []
        self.finish_on_create: int | None = None  # give each new job a finished history
        self.lock = threading.Lock()

    def _enter(self, method: str, context: grpc.ServicerContext) -> None:
        with self.lock:
            self.calls.append(method)
            if self.unavailable_next > 0:
                self.unavailable_next -= 1
                context.abort(grpc.StatusCode.UNAVAILABLE, "try again")
            busy = self.busy_next > 0
            self.busy_next -= busy
        if busy:
            after = self.busy_retry_after
            details = [] if after is None else [_retry_info(after)]
            abort(context, code_pb2.RESOURCE_EXHAUSTED, "too many streams", *details)
        md = dict(context.invocation_metadata())
        if md.get("authorization") != f"Bearer {API_KEY}":
            abort(context, code_pb2.UNAUTHENTICATED, "bad API key")

    def _job(self, name: str, context: grpc.ServicerContext) -> job_pb2.Job:
        key = name.rsplit("/", 1)[-1]
        if key not in self.jobs:
            abort(
                context,
                code_pb2.NOT_FOUND,
                f"job {name} not found",
                error_details_pb2.ErrorInfo(
                    reason="NOT_FOUND", domain="dojo.cloud", metadata={"resource": name}
                ),
            )
        return self.jobs[key]

    def CreateJob(self, request, context):
        self._enter("CreateJob", context)
        if request.job_spec.training.learning_rate <= 0:
            abort(
                context,
                code_pb2.INVALID_ARGUMENT,
                "training.learning_rate: must be > 0",
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field="training.learning_rate", description="must be > 0"
                        )
                    ]
                ),
            )
        if request.job_spec.resources.count > 100:
            abort(
                context,
                code_pb2.RESOURCE_EXHAUSTED,
                "quota exceeded",
                error_details_pb2.QuotaFailure(
                    violations=[
                        error_details_pb2.QuotaFailure.Violation(
                            subject="org:acme/dojo", description="6 tiles max"
                        )
                    ]
                ),
                error_details_pb2.RetryInfo(retry_delay={"seconds": 30}),
            )
        if request.request_id in self.by_request:
            return self.jobs[self.by_request[request.request_id]]
        job_id = uuid.uuid4().hex[:12]
        job = job_pb2.Job(
            name=f"organizations/acme/jobs/{job_id}",
            uid=job_id,
            spec=request.job_spec,
            state=job_pb2.QUEUED,
        )
        self.jobs[job_id] = job
        self.by_request[request.request_id] = job_id
        if self.finish_on_create is not None:
            self.finish(job, self.finish_on_create)
        return self.jobs[job_id]

    def GetJob(self, request, context):
        self._enter("GetJob", context)
        return self._job(request.name, context)

    def ListJobs(self, request, context):
        self._enter("ListJobs", context)
        jobs = list(self.jobs.values())
        if request.filter:
            want = job_pb2.JobState.Value(request.filter.split("=", 1)[1])
            jobs = [j for j in jobs if j.state == want]
        start = int(request.page_token or 0)
        end = start + (request.page_size or 50)
        return job_pb2.ListJobsResponse(
            jobs=jobs[start:end], next_page_token=str(end) if end < len(jobs) else ""
        )

    def CancelJob(self, request, context):
        self._enter("CancelJob", context)
        job = self._job(request.name, context)
        if job.state in (job_pb2.SUCCEEDED, job_pb2.FAILED, job_pb2.CANCELLED):
            abort(
                context,
                code_pb2.FAILED_PRECONDITION,
                "job is already final",
                error_details_pb2.ErrorInfo(reason="JOB_FINAL", domain="dojo.cloud"),
            )
        job.state, job.state_reason = job_pb2.CANCELLED, request.reason or "cancelled"
        return job

    def WatchJob(self, request, context) -> Iterator[job_pb2.JobEvent]:
        self._enter("WatchJob", context)
        job = self._job(request.name, context)
        first = not self.watch_requests
        self.watch_requests.append(request)
        sent = 0
        for event in self.events.get(job.uid, []):
            if event.id <= request.after_event_id:
                continue
            if first and self.cut_watch_after is not None and sent >= self.cut_watch_after:
                context.abort(grpc.StatusCode.UNAVAILABLE, "connection reset")
            sent += 1
            yield event

    def EstimateJob(self, request, context):
        self._enter("EstimateJob", context)
        return job_pb2.EstimateJobResponse(
            options=[
                _option("dojo-tile", 0.001, 0.3, 0.01, 6, 117_560_000_000, cheapest=True),
                _option("gpu-h100", 0.0005, 0.15, 0.02, 6, 80_000_000_000, fastest=True),
                _option("gpu-a100", 0.002, 0.6, 0.005, 50, 40_000_000_000),
            ]
        )

    # --- test helpers ---
    def finish(self, job: job_pb2.Job, state: int, *, steps: int = 3, reason: str = "") -> None:
        """Gives the job a history: QUEUED→RUNNING, `steps` metrics, then `state`."""
        events = [
            job_pb2.JobEvent(
                id=1,
                job=job.name,
                state_change=job_pb2.StateChange(
                    from_state=job_pb2.QUEUED, to_state=job_pb2.RUNNING, reason="placed"
                ),
            )
        ]
        for i in range(steps):
            events.append(
                job_pb2.JobEvent(
                    id=2 + i,
                    job=job.name,
                    metric=job_pb2.MetricPoint(step=(i + 1) * 10, loss=2.0 - i * 0.5, accuracy=0.5),
                )
            )
        events.append(
            job_pb2.JobEvent(
                id=2 + steps,
                job=job.name,
                state_change=(
                    job_pb2.StateChange(from_state=job_pb2.RUNNING, to_state=state, reason=reason)
                ),
            )
        )
        self.events[job.uid] = events
        stored = self.jobs[job.uid]
        stored.state, stored.state_reason = state, reason
        stored.current_step = steps * 10


@pytest.fixture
def fake() -> Iterator[tuple[FakeJobService, str]]:
    service = FakeJobService()
    with serving_fake(job_pb2_grpc.add_JobServiceServicer_to_server, service) as address:
        yield service, address


@pytest.fixture
def client(fake: tuple[FakeJobService, str]) -> Iterator[Client]:
    with Client(ClientConfig(server=fake[1], api_key=API_KEY, timeout=5)) as c:
        yield c


@pytest.fixture
def service(fake: tuple[FakeJobService, str]) -> FakeJobService:
    return fake[0]


def _option(
    accelerator: str,
    step_s: float,
    total_s: float,
    cost_usd: float,
    peak_gib: int,
    device_bytes: int,
    **best: bool,
) -> job_pb2.EstimateOption:
    """One row of the fake estimate table, one device of `accelerator`; `best`: cheapest or
    fastest. It fits where the peak is at most the device's memory."""
    peak = peak_gib * 2**30
    return job_pb2.EstimateOption(
        accelerator=accelerator,
        count=1,
        step_seconds=step_s,
        total_seconds=total_s,
        cost_usd=cost_usd,
        peak_memory_bytes=peak,
        device_memory_bytes=device_bytes,
        fits=peak <= device_bytes,
        **best,
    )
