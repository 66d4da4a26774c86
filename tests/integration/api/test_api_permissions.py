"""The permission table, generated over the gRPC API: every RPC of JobService, DatasetService,
ArtifactService, SchedulerService and AuditService (taken from the protos, so a new RPC fails here until it has a recipe and
an @rpc action), called by every role and key scope (tests/support/roles.py) on a real server.

For each call the expected code follows from the table: PERMISSION_DENIED where it denies
the RPC's declared action; NOT_FOUND where it allows it but the request names acme's objects
and the caller is not in acme (another tenant's objects do not exist) unless the recipe lets
operators reach every tenant and the caller has the operator grant; else the recipe's code.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from django.utils import timezone

from dojo.v1 import (
    artifact_pb2,
    artifact_pb2_grpc,
    audit_pb2,
    audit_pb2_grpc,
    billing_pb2,
    billing_pb2_grpc,
    dataset_pb2,
    dataset_pb2_grpc,
    job_pb2,
    job_pb2_grpc,
    model_pb2,
    model_pb2_grpc,
    scheduler_pb2,
    scheduler_pb2_grpc,
    webhook_pb2,
    webhook_pb2_grpc,
)
from dojo.v1 import billing_pb2 as bpb
from dojo.v1 import scheduler_pb2 as pb
from dojocloud.api.artifact_service import ArtifactService
from dojocloud.api.audit_service import AuditService
from dojocloud.api.billing_service import BillingService
from dojocloud.api.dataset_service import DatasetService
from dojocloud.api.job_service import JobService
from dojocloud.api.model_service import ModelService
from dojocloud.api.scheduler_service import SchedulerService
from dojocloud.api.webhook_service import WebhookService
from dojocloud.artifacts.facade import record_artifact
from dojocloud.billing.services import record_segment_usage
from dojocloud.common.errors import FailedPrecondition, InvalidArgument
from dojocloud.common.inventory import inventory
from dojocloud.datasets import facade as datasets
from dojocloud.jobs import services as jobs
from dojocloud.jobs.ports import Outcome, SegmentEnded, SegmentRun
from dojocloud.scheduling import capacity
from dojocloud.scheduling.facade import QuotaSpec, set_quota
from dojocloud.tenancy.permissions import Action
from dojocloud.tenancy.services import principal_for_user
from dojocloud.webhooks import facade as webhooks
from tests.support.onnx_models import tiny_onnx
from tests.support.people import admit, make_spec
from tests.support.roles import KEY_CALLERS, Caller, World, expected_allowed, make_world

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_request_limits")]

OK, DENIED, MISSING = (
    grpc.StatusCode.OK,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.NOT_FOUND,
)


class Fixtures:
    """Fresh acme objects for each call, so one caller's success does not change the next
    caller's answer (a cancelled job, a preempted one)."""

    def __init__(self, world: World) -> None:
        self.acme = principal_for_user(world.users["alice"], "acme")
        self.tiles = itertools.cycle([t.id for t in inventory().tiles])
        self.placed: list[str] = []
        self.uploads = 0

    def spec(self) -> job_pb2.JobSpec:
        return make_spec("perm")

    def job(self, *, placed: bool = False, final: bool = False) -> str:
        job = jobs.create_job(self.acme, self.spec())
        if placed:
            self._release_earlier()
            self.placed.append(job.id)
            admit(job, (next(self.tiles),), reason="test")
        if final:
            jobs.cancel_job(self.acme, job.id, reason="done")
        return f"organizations/acme/jobs/{job.id}"

    def job_with_artifact(self) -> str:
        """An acme job with one artifact; returns the artifact's resource name."""
        job = jobs.create_job(self.acme, self.spec())
        return record_artifact(job, "spec.json", b"{}", "application/json").resource_name

    def upload_messages(self) -> Iterator[dataset_pb2.CreateDatasetRequest]:
        self.uploads += 1
        meta = dataset_pb2.UploadMetadata(
            parent="organizations/acme",
            dataset_id=f"up{self.uploads}",
            format=dataset_pb2.TEXT,
            size=len(TEXT),
            sha256=hashlib.sha256(TEXT).hexdigest(),
            upload_id=f"perm{self.uploads}",
        )
        return iter(
            [
                dataset_pb2.CreateDatasetRequest(metadata=meta),
                dataset_pb2.CreateDatasetRequest(chunk=TEXT),
            ]
        )

    def dataset(self) -> str:
        self.uploads += 1
        request = datasets.UploadRequest(
            dataset_id=f"ds{self.uploads}",
            format=datasets.TEXT,
            size=len(TEXT),
            sha256=hashlib.sha256(TEXT).hexdigest(),
            upload_id=f"fixture{self.uploads}",
        )
        return datasets.upload(self.acme, request, [TEXT]).resource_name

    def model_messages(self) -> Iterator[model_pb2.CreateModelRequest]:
        self.uploads += 1
        meta = model_pb2.ModelUploadMetadata(
            parent="organizations/acme",
            model_id=f"mup{self.uploads}",
            size=len(ONNX),
            sha256=hashlib.sha256(ONNX).hexdigest(),
            upload_id=f"mperm{self.uploads}",
        )
        return iter(
            [
                model_pb2.CreateModelRequest(metadata=meta),
                model_pb2.CreateModelRequest(chunk=ONNX),
            ]
        )

    def model(self, *, partial: bool = False) -> str:
        """An uploaded model of acme's (its name), or a half-sent upload's id."""
        self.uploads += 1
        request = datasets.UploadRequest(
            dataset_id=f"m{self.uploads}",
            format=datasets.ONNX,
            size=len(ONNX),
            sha256=hashlib.sha256(ONNX).hexdigest(),
            upload_id=f"mfixture{self.uploads}",
            kind=datasets.MODEL,
        )
        if partial:
            with contextlib.suppress(InvalidArgument):  # truncated, as intended
                datasets.upload_model(self.acme, request, [ONNX[:10]])
            return request.upload_id
        return datasets.upload_model(self.acme, request, [ONNX]).resource_name

    def partial_upload(self) -> str:
        """An upload of acme's with half its bytes committed."""
        self.uploads += 1
        upload_id = f"partial{self.uploads}"
        request = datasets.UploadRequest(
            dataset_id=f"part{self.uploads}",
            format=datasets.TEXT,
            size=len(TEXT),
            sha256=hashlib.sha256(TEXT).hexdigest(),
            upload_id=upload_id,
        )
        with contextlib.suppress(InvalidArgument):  # truncated, as intended
            datasets.upload(self.acme, request, [TEXT[:10]])
        return upload_id

    def month_with_usage(self) -> str:
        """This month, in which acme has a rated ledger row (so its invoice exists)."""
        job = jobs.create_job(self.acme, self.spec())
        now = timezone.now()
        run = SegmentRun(0, 1, 8, 2.0, 0.5, now, now)
        event = SegmentEnded(
            job.id, "w", 1, 0, "dojo", "dojo-tile", 1, Outcome.NEXT_SEGMENT, "", run
        )
        record_segment_usage(event, run)
        return f"{now:%Y-%m}"

    def _release_earlier(self) -> None:
        """Cancelling the previous placed job frees its tile (the inventory has six)."""
        for job_id in self.placed:
            with contextlib.suppress(FailedPrecondition):
                jobs.cancel_job(self.acme, job_id, reason="next caller")
        self.placed.clear()


@dataclass(frozen=True)
class Recipe:
    request: Callable[[Fixtures], Any]
    acme_objects: bool = True  # names acme's objects: NOT_FOUND for other tenants
    streaming: bool = False  # the answer is a stream (the request is one when it is an iterator)
    operators_reach: bool = False  # ... but operators (operator.read) read them too


TILE = "dojo/e0/c0/t0/r0c0"
TEXT = b"a small corpus for the permission table\n" * 4
ONNX = tiny_onnx()
RECIPES: dict[str, Recipe] = {
    "/dojo.v1.ArtifactService/ListArtifacts": Recipe(
        lambda f: artifact_pb2.ListArtifactsRequest(parent=f.job_with_artifact().split("/art")[0])
    ),
    "/dojo.v1.ArtifactService/DownloadArtifact": Recipe(
        lambda f: artifact_pb2.DownloadArtifactRequest(name=f.job_with_artifact()),
        streaming=True,
    ),
    "/dojo.v1.ModelService/CreateModel": Recipe(lambda f: f.model_messages()),
    "/dojo.v1.ModelService/GetUploadStatus": Recipe(
        lambda f: model_pb2.GetModelUploadStatusRequest(
            parent="organizations/acme", upload_id=f.model(partial=True)
        )
    ),
    "/dojo.v1.ModelService/GetModel": Recipe(lambda f: model_pb2.GetModelRequest(name=f.model())),
    "/dojo.v1.ModelService/ListModels": Recipe(
        lambda f: model_pb2.ListModelsRequest(parent="organizations/acme")
    ),
    "/dojo.v1.ModelService/DeleteModel": Recipe(
        lambda f: model_pb2.DeleteModelRequest(name=f.model())
    ),
    "/dojo.v1.DatasetService/CreateDataset": Recipe(lambda f: f.upload_messages()),
    "/dojo.v1.DatasetService/GetUploadStatus": Recipe(
        lambda f: dataset_pb2.GetUploadStatusRequest(
            parent="organizations/acme", upload_id=f.partial_upload()
        )
    ),
    "/dojo.v1.DatasetService/GetDataset": Recipe(
        lambda f: dataset_pb2.GetDatasetRequest(name=f.dataset())
    ),
    "/dojo.v1.DatasetService/ListDatasets": Recipe(
        lambda f: dataset_pb2.ListDatasetsRequest(parent="organizations/acme")
    ),
    "/dojo.v1.DatasetService/DeleteDataset": Recipe(
        lambda f: dataset_pb2.DeleteDatasetRequest(name=f.dataset())
    ),
    "/dojo.v1.JobService/CreateJob": Recipe(
        lambda f: job_pb2.CreateJobRequest(parent="organizations/acme", job_spec=f.spec())
    ),
    "/dojo.v1.JobService/GetJob": Recipe(lambda f: job_pb2.GetJobRequest(name=f.job())),
    "/dojo.v1.JobService/ListJobs": Recipe(
        lambda f: job_pb2.ListJobsRequest(parent="organizations/acme")
    ),
    "/dojo.v1.JobService/CancelJob": Recipe(lambda f: job_pb2.CancelJobRequest(name=f.job())),
    "/dojo.v1.JobService/WatchJob": Recipe(
        lambda f: job_pb2.WatchJobRequest(name=f.job(final=True)), streaming=True
    ),
    "/dojo.v1.JobService/StreamJobLogs": Recipe(
        lambda f: job_pb2.StreamJobLogsRequest(name=f.job(final=True), follow=True), streaming=True
    ),
    "/dojo.v1.JobService/EstimateJob": Recipe(
        lambda f: job_pb2.EstimateJobRequest(job_spec=f.spec()), acme_objects=False
    ),
    # Operators reach every tenant: nothing here is another tenant's object to them.
    "/dojo.v1.SchedulerService/GetCapacity": Recipe(
        lambda f: pb.GetCapacityRequest(), acme_objects=False
    ),
    "/dojo.v1.SchedulerService/ListQueue": Recipe(
        lambda f: pb.ListQueueRequest(), acme_objects=False
    ),
    "/dojo.v1.SchedulerService/Drain": Recipe(
        lambda f: pb.DrainRequest(target=TILE, reason="t"), acme_objects=False
    ),
    "/dojo.v1.SchedulerService/Undrain": Recipe(
        lambda f: pb.UndrainRequest(target=TILE, reason="t"), acme_objects=False
    ),
    "/dojo.v1.SchedulerService/MarkFailed": Recipe(
        lambda f: pb.MarkFailedRequest(target=TILE, reason="t"), acme_objects=False
    ),
    "/dojo.v1.SchedulerService/GetQuota": Recipe(
        lambda f: pb.GetQuotaRequest(tenant="acme", pool="dojo"), acme_objects=False
    ),
    "/dojo.v1.SchedulerService/ListQuotas": Recipe(
        lambda f: pb.ListQuotasRequest(), acme_objects=False
    ),
    "/dojo.v1.SchedulerService/SetQuota": Recipe(
        lambda f: pb.SetQuotaRequest(
            quota=pb.Quota(tenant="acme", pool="dojo", nominal=2), reason="t"
        ),
        acme_objects=False,
    ),
    "/dojo.v1.SchedulerService/PreemptJob": Recipe(
        lambda f: pb.PreemptJobRequest(name=f.job(placed=True)), acme_objects=False
    ),
    "/dojo.v1.SchedulerService/RequeueJob": Recipe(
        lambda f: pb.RequeueJobRequest(name=f.job(placed=True)), acme_objects=False
    ),
    # An organization's audit log: its owners and admins, and operators (any organization).
    "/dojo.v1.AuditService/ListAuditEvents": Recipe(
        lambda f: audit_pb2.ListAuditEventsRequest(parent="organizations/acme"),
        operators_reach=True,
    ),
    "/dojo.v1.BillingService/ListPrices": Recipe(
        lambda f: bpb.ListPricesRequest(), acme_objects=False
    ),
    "/dojo.v1.BillingService/SetPrice": Recipe(
        lambda f: bpb.SetPriceRequest(
            price=bpb.Price(
                pool="gpu-a100",
                on_demand_usd_per_device_second="0.0012",
                preemptible_usd_per_device_second="0.0004",
                hardware="emulated",
            ),
            reason="t",
        ),
        acme_objects=False,
    ),
    "/dojo.v1.BillingService/GetUsage": Recipe(
        lambda f: bpb.GetUsageRequest(parent="organizations/acme")
    ),
    "/dojo.v1.BillingService/ListInvoices": Recipe(
        lambda f: bpb.ListInvoicesRequest(parent="organizations/acme")
    ),
    "/dojo.v1.BillingService/GetInvoice": Recipe(
        lambda f: bpb.GetInvoiceRequest(parent="organizations/acme", month=f.month_with_usage())
    ),
    "/dojo.v1.BillingService/ExportInvoice": Recipe(
        lambda f: bpb.GetInvoiceRequest(parent="organizations/acme", month=f.month_with_usage())
    ),
    "/dojo.v1.WebhookService/CreateWebhook": Recipe(
        lambda f: webhook_pb2.CreateWebhookRequest(
            parent="organizations/acme", url="https://hooks.example.com/dojo"
        )
    ),
    "/dojo.v1.WebhookService/ListWebhooks": Recipe(
        lambda f: webhook_pb2.ListWebhooksRequest(parent="organizations/acme")
    ),
    "/dojo.v1.WebhookService/DeleteWebhook": Recipe(
        lambda f: webhook_pb2.DeleteWebhookRequest(name=_webhook(f))
    ),
    "/dojo.v1.WebhookService/TestWebhook": Recipe(
        lambda f: webhook_pb2.TestWebhookRequest(name=_webhook(f))
    ),
    "/dojo.v1.WebhookService/ListWebhookDeliveries": Recipe(
        lambda f: webhook_pb2.ListWebhookDeliveriesRequest(name=_webhook(f))
    ),
    "/dojo.v1.BillingService/GetBudget": Recipe(
        lambda f: bpb.GetBudgetRequest(parent="organizations/acme"), operators_reach=True
    ),
    "/dojo.v1.BillingService/SetBudget": Recipe(
        lambda f: bpb.SetBudgetRequest(parent="organizations/acme", monthly_usd="100"),
        operators_reach=True,
    ),
    # Operators credit any tenant: acme is no foreign object to them.
    "/dojo.v1.BillingService/AdjustInvoice": Recipe(
        lambda f: bpb.AdjustInvoiceRequest(
            organization="acme", month=f.month_with_usage(), amount_usd="-1.00", reason="t"
        ),
        acme_objects=False,
    ),
}
SERVICES = {
    "ArtifactService": (artifact_pb2, ArtifactService, artifact_pb2_grpc.ArtifactServiceStub),
    "JobService": (job_pb2, JobService, job_pb2_grpc.JobServiceStub),
    "DatasetService": (dataset_pb2, DatasetService, dataset_pb2_grpc.DatasetServiceStub),
    "ModelService": (model_pb2, ModelService, model_pb2_grpc.ModelServiceStub),
    "SchedulerService": (scheduler_pb2, SchedulerService, scheduler_pb2_grpc.SchedulerServiceStub),
    "AuditService": (audit_pb2, AuditService, audit_pb2_grpc.AuditServiceStub),
    "BillingService": (billing_pb2, BillingService, billing_pb2_grpc.BillingServiceStub),
    "WebhookService": (webhook_pb2, WebhookService, webhook_pb2_grpc.WebhookServiceStub),
}


def _webhook(f: Fixtures) -> str:
    """A fresh endpoint of acme's (its resource name), added by its owner."""
    return webhooks.create_endpoint(f.acme, "https://hooks.example.com/x").endpoint.resource_name


def split(rpc: str) -> tuple[str, str]:
    """ "/dojo.v1.JobService/GetJob" → ("JobService", "GetJob")."""
    service, method = rpc.removeprefix("/dojo.v1.").split("/")
    return service, method


def all_rpcs() -> list[str]:
    return [
        f"/dojo.v1.{service}/{m.name}"
        for service, (module, _, _) in SERVICES.items()
        for m in module.DESCRIPTOR.services_by_name[service].methods
    ]


def test_every_rpc_has_a_recipe_and_declares_its_action() -> None:
    assert sorted(RECIPES) == sorted(all_rpcs())
    for rpc in all_rpcs():
        service, method = split(rpc)
        assert getattr(getattr(SERVICES[service][1], method), "action", None), rpc


def expected_code(c: Caller, rpc: str) -> grpc.StatusCode:
    service, method = split(rpc)
    action = getattr(SERVICES[service][1], method).action
    if not expected_allowed(c, action):
        return DENIED
    recipe = RECIPES[rpc]
    if not recipe.acme_objects or c.in_acme:
        return OK
    return OK if recipe.operators_reach and expected_allowed(c, Action.OPERATOR_READ) else MISSING


def call(channel: grpc.Channel, rpc: str, request: Any, key: str) -> grpc.StatusCode:
    service, method = split(rpc)
    stub = getattr(SERVICES[service][2](channel), method)
    try:
        answer = stub(request, timeout=30, metadata=[("authorization", f"Bearer {key}")])
        if RECIPES[rpc].streaming:
            list(answer)
    except grpc.RpcError as err:
        return err.code()
    return OK


@pytest.fixture(autouse=True)
def storage(settings: Any, tmp_path: Any) -> None:
    settings.STORAGE_URL = (tmp_path / "storage").as_uri()


@pytest.fixture
def world(transactional_db: None) -> World:
    world = make_world()
    capacity.sync_inventory(inventory())
    set_quota(QuotaSpec(tenant="acme", pool="dojo", nominal=1), actor="test", reason="")
    return world


@pytest.fixture
def channel(address: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(address) as channel:
        yield channel


@pytest.mark.parametrize("rpc", sorted(RECIPES))
def test_rpc_answers_every_caller_as_the_table_says(
    rpc: str, world: World, channel: grpc.Channel
) -> None:
    fixtures = Fixtures(world)
    got, want = {}, {}
    for c in KEY_CALLERS:
        want[c.name] = expected_code(c, rpc)
        got[c.name] = call(channel, rpc, RECIPES[rpc].request(fixtures), world.key(c))
    got["no key"] = call(channel, rpc, RECIPES[rpc].request(fixtures), "")
    got["unknown key"] = call(channel, rpc, RECIPES[rpc].request(fixtures), "dojo_ab_cd")
    want["no key"] = want["unknown key"] = grpc.StatusCode.UNAUTHENTICATED
    assert got == want
