"""The requests both clients send, built once: `dojo.Client` and `dojo.AsyncClient` differ
only in how they wait for the answer, never in what they ask.

Each builder returns a `Unary`: the generated stub class and method to call, the request,
the reply class the answer is checked against, and whether the call is a read (idempotent:
retried while waiting helps, see dojo.retrying) or an action (sent once). CreateJob counts
as a read: its request id makes a repeat create nothing new.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from google.protobuf.message import Message

from dojo.v1 import (
    artifact_pb2,
    artifact_pb2_grpc,
    audit_pb2,
    audit_pb2_grpc,
    dataset_pb2,
    dataset_pb2_grpc,
    job_pb2,
    job_pb2_grpc,
    model_pb2,
    model_pb2_grpc,
    webhook_pb2,
    webhook_pb2_grpc,
)

M = TypeVar("M", bound=Message)

Jobs = job_pb2_grpc.JobServiceStub
Audit = audit_pb2_grpc.AuditServiceStub
Datasets = dataset_pb2_grpc.DatasetServiceStub
Models = model_pb2_grpc.ModelServiceStub
Artifacts = artifact_pb2_grpc.ArtifactServiceStub
Webhooks = webhook_pb2_grpc.WebhookServiceStub


@dataclass(frozen=True)
class Unary(Generic[M]):
    """One unary call, ready to send on either kind of channel (the generated stubs take
    a sync channel and a grpc.aio one alike)."""

    service: type
    method: str
    request: Message
    reply: type[M]
    read: bool  # idempotent: retried; False: an action, sent once


# --- JobService -------------------------------------------------------------------------


def create_job(spec: job_pb2.JobSpec, parent: str, request_id: str | None) -> Unary[job_pb2.Job]:
    request = job_pb2.CreateJobRequest(
        parent=parent, job_spec=spec, request_id=request_id or str(uuid.uuid4())
    )
    return Unary(Jobs, "CreateJob", request, job_pb2.Job, read=True)


def get_job(name: str) -> Unary[job_pb2.Job]:
    return Unary(Jobs, "GetJob", job_pb2.GetJobRequest(name=name), job_pb2.Job, read=True)


def list_jobs(
    parent: str, page_size: int, page_token: str, filter: str
) -> Unary[job_pb2.ListJobsResponse]:
    request = job_pb2.ListJobsRequest(
        parent=parent, page_size=page_size, page_token=page_token, filter=filter
    )
    return Unary(Jobs, "ListJobs", request, job_pb2.ListJobsResponse, read=True)


def state_filter(state: str | None) -> str:
    """ListJobs' filter for a state name ("running" → "state=RUNNING"), "" for all."""
    return f"state={state.upper()}" if state else ""


def cancel_job(name: str, reason: str) -> Unary[job_pb2.Job]:
    request = job_pb2.CancelJobRequest(name=name, reason=reason)
    return Unary(Jobs, "CancelJob", request, job_pb2.Job, read=False)


def estimate_job(spec: job_pb2.JobSpec) -> Unary[job_pb2.EstimateJobResponse]:
    request = job_pb2.EstimateJobRequest(job_spec=spec)
    return Unary(Jobs, "EstimateJob", request, job_pb2.EstimateJobResponse, read=True)


# --- AuditService -----------------------------------------------------------------------


def list_audit_events(
    parent: str,
    page_size: int,
    page_token: str,
    action: str,
    actor: str,
    since: datetime | None,
    until: datetime | None,
) -> Unary[audit_pb2.ListAuditEventsResponse]:
    request = audit_pb2.ListAuditEventsRequest(
        parent=parent, page_size=page_size, page_token=page_token, action=action, actor=actor
    )
    if since is not None:
        request.since.FromDatetime(since)
    if until is not None:
        request.until.FromDatetime(until)
    return Unary(Audit, "ListAuditEvents", request, audit_pb2.ListAuditEventsResponse, read=True)


# --- DatasetService ---------------------------------------------------------------------


def get_upload_status(parent: str, upload_id: str) -> Unary[dataset_pb2.UploadStatus]:
    request = dataset_pb2.GetUploadStatusRequest(parent=parent, upload_id=upload_id)
    return Unary(Datasets, "GetUploadStatus", request, dataset_pb2.UploadStatus, read=True)


def get_dataset(name: str) -> Unary[dataset_pb2.Dataset]:
    request = dataset_pb2.GetDatasetRequest(name=name)
    return Unary(Datasets, "GetDataset", request, dataset_pb2.Dataset, read=True)


def list_datasets(
    parent: str, page_size: int, page_token: str
) -> Unary[dataset_pb2.ListDatasetsResponse]:
    request = dataset_pb2.ListDatasetsRequest(
        parent=parent, page_size=page_size, page_token=page_token
    )
    return Unary(Datasets, "ListDatasets", request, dataset_pb2.ListDatasetsResponse, read=True)


def delete_dataset(name: str) -> Unary[dataset_pb2.DeleteDatasetResponse]:
    request = dataset_pb2.DeleteDatasetRequest(name=name)
    return Unary(Datasets, "DeleteDataset", request, dataset_pb2.DeleteDatasetResponse, read=False)


# --- ModelService -----------------------------------------------------------------------


def get_model_upload_status(parent: str, upload_id: str) -> Unary[model_pb2.ModelUploadStatus]:
    request = model_pb2.GetModelUploadStatusRequest(parent=parent, upload_id=upload_id)
    return Unary(Models, "GetUploadStatus", request, model_pb2.ModelUploadStatus, read=True)


def get_model(name: str) -> Unary[model_pb2.Model]:
    return Unary(Models, "GetModel", model_pb2.GetModelRequest(name=name), model_pb2.Model, True)


def list_models(
    parent: str, page_size: int, page_token: str
) -> Unary[model_pb2.ListModelsResponse]:
    request = model_pb2.ListModelsRequest(parent=parent, page_size=page_size, page_token=page_token)
    return Unary(Models, "ListModels", request, model_pb2.ListModelsResponse, read=True)


def delete_model(name: str) -> Unary[model_pb2.DeleteModelResponse]:
    request = model_pb2.DeleteModelRequest(name=name)
    return Unary(Models, "DeleteModel", request, model_pb2.DeleteModelResponse, read=False)


# --- ArtifactService --------------------------------------------------------------------


def list_artifacts(
    job: str, page_size: int, page_token: str
) -> Unary[artifact_pb2.ListArtifactsResponse]:
    request = artifact_pb2.ListArtifactsRequest(
        parent=job, page_size=page_size, page_token=page_token
    )
    return Unary(Artifacts, "ListArtifacts", request, artifact_pb2.ListArtifactsResponse, read=True)


# --- WebhookService ---------------------------------------------------------------------


def create_webhook(
    url: str, event_types: Sequence[str], description: str, parent: str
) -> Unary[webhook_pb2.CreateWebhookResponse]:
    request = webhook_pb2.CreateWebhookRequest(
        parent=parent, url=url, event_types=list(event_types), description=description
    )
    return Unary(Webhooks, "CreateWebhook", request, webhook_pb2.CreateWebhookResponse, read=False)


def list_webhooks(parent: str) -> Unary[webhook_pb2.ListWebhooksResponse]:
    request = webhook_pb2.ListWebhooksRequest(parent=parent)
    return Unary(Webhooks, "ListWebhooks", request, webhook_pb2.ListWebhooksResponse, read=True)


def delete_webhook(name: str) -> Unary[webhook_pb2.DeleteWebhookResponse]:
    request = webhook_pb2.DeleteWebhookRequest(name=name)
    return Unary(Webhooks, "DeleteWebhook", request, webhook_pb2.DeleteWebhookResponse, read=False)


def test_webhook(name: str) -> Unary[webhook_pb2.WebhookDelivery]:
    request = webhook_pb2.TestWebhookRequest(name=name)
    return Unary(Webhooks, "TestWebhook", request, webhook_pb2.WebhookDelivery, read=False)


def list_webhook_deliveries(
    name: str, page_size: int
) -> Unary[webhook_pb2.ListWebhookDeliveriesResponse]:
    request = webhook_pb2.ListWebhookDeliveriesRequest(name=name, page_size=page_size)
    return Unary(
        Webhooks,
        "ListWebhookDeliveries",
        request,
        webhook_pb2.ListWebhookDeliveriesResponse,
        read=True,
    )


# --- pages and resumable streams ----------------------------------------------------------
# A page's items and the next page's token, for the clients' paged lists.


def jobs_of(page: job_pb2.ListJobsResponse) -> tuple[Iterable[job_pb2.Job], str]:
    return page.jobs, page.next_page_token


def events_of(
    page: audit_pb2.ListAuditEventsResponse,
) -> tuple[Iterable[audit_pb2.AuditEvent], str]:
    return page.events, page.next_page_token


def datasets_of(
    page: dataset_pb2.ListDatasetsResponse,
) -> tuple[Iterable[dataset_pb2.Dataset], str]:
    return page.datasets, page.next_page_token


def models_of(page: model_pb2.ListModelsResponse) -> tuple[Iterable[model_pb2.Model], str]:
    return page.models, page.next_page_token


def artifacts_of(
    page: artifact_pb2.ListArtifactsResponse,
) -> tuple[Iterable[artifact_pb2.Artifact], str]:
    return page.artifacts, page.next_page_token


class WatchResume:
    """A WatchJob request that resumes after the last event seen."""

    def __init__(self, name: str, after_event_id: int) -> None:
        self.name, self.last_id = name, after_event_id

    def request(self) -> job_pb2.WatchJobRequest:
        return job_pb2.WatchJobRequest(name=self.name, after_event_id=self.last_id)

    def seen(self, event: job_pb2.JobEvent) -> None:
        self.last_id = max(self.last_id, event.id)


class LogResume:
    """A StreamJobLogs request that resumes at the offset after the last chunk seen."""

    def __init__(self, name: str, offset: int, follow: bool) -> None:
        self.name, self.offset, self.follow = name, offset, follow

    def request(self) -> job_pb2.StreamJobLogsRequest:
        return job_pb2.StreamJobLogsRequest(name=self.name, offset=self.offset, follow=self.follow)

    def seen(self, chunk: job_pb2.JobLogChunk) -> None:
        self.offset = chunk.next_offset
