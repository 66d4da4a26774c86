"""JobService through the SDK against a real server on the test database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest
from prometheus_client import REGISTRY

from dojo import errors, specfile
from dojo.client import Client
from dojo.v1 import job_pb2, job_pb2_grpc
from dojocloud.jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)

SPEC = """
name: digits-mlp
model: {architecture: mlp, params: {hidden: 32, layers: 1}}
dataset: {name: digits}
training: {steps: 30, batch_size: 16, optimizer: adam, learning_rate: 0.003,
           precision: bf16, checkpoint_interval: 10, seed: 1}
resources: {accelerators: [dojo-tile], count: 1}
"""


def spec(**training: Any) -> job_pb2.JobSpec:
    s = specfile.parse_yaml(SPEC)
    for k, v in training.items():
        setattr(s.training, k, v)
    return s


def test_create_get_list_cancel(acme: Client) -> None:
    job = acme.create_job(spec())
    assert job.name.startswith("organizations/acme/jobs/")
    assert job.state == job_pb2.QUEUED
    assert job.spec.training.precision == "bf16"
    assert job.HasField("create_time") and job.creator.startswith("key:")
    got = acme.get_job(job.name)
    assert got.uid == job.uid
    assert acme.get_job(job.name.rsplit("/", 1)[-1]).name == job.name  # bare id works too
    assert [j.name for j in acme.list_jobs()] == [job.name]
    cancelled = acme.cancel_job(job.name, reason="changed my mind")
    assert cancelled.state == job_pb2.CANCELLED
    assert cancelled.state_reason == "changed my mind"
    assert [j.name for j in acme.list_jobs(state="CANCELLED")] == [job.name]
    assert list(acme.list_jobs(state="RUNNING")) == []


def test_list_pages(acme: Client) -> None:
    made = [acme.create_job(spec()).name for _ in range(5)]
    page = acme.list_jobs_page(page_size=2)
    assert len(page.jobs) == 2 and page.next_page_token
    assert [j.name for j in acme.list_jobs(page_size=2)] == made[::-1]  # newest first


def test_request_id_makes_one_job(acme: Client, globex: Client) -> None:
    first = acme.create_job(spec(), request_id="retry-me")
    again = acme.create_job(spec(), request_id="retry-me")
    other_org = globex.create_job(spec(), request_id="retry-me")
    assert again.name == first.name
    assert other_org.name != first.name
    assert Job.objects.filter(organization__slug="acme").count() == 1


def test_invalid_spec_names_every_field(acme: Client) -> None:
    with pytest.raises(errors.InvalidArgumentError) as info:
        acme.create_job(spec(learning_rate=-1.0, steps=0))
    fields = {v.field for v in info.value.field_violations}
    assert {"training.learning_rate", "training.steps"} <= fields
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.reason == "INVALID_ARGUMENT"
    assert "training.learning_rate" in info.value.message


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.get_job("organizations/acme/jobs/"), "name"),
        (lambda c: c.get_job(""), "name"),
        (lambda c: c.list_jobs_page(filter="colour=red"), "filter"),
        (lambda c: c.list_jobs_page(page_token="%%%"), "page_token"),
        (lambda c: c.list_jobs_page(parent="acme"), "parent"),
    ],
)
def test_bad_request_fields_are_named(
    acme: Client, call: Callable[[Client], Any], field: str
) -> None:
    with pytest.raises(errors.InvalidArgumentError) as info:
        call(acme)
    assert [v.field for v in info.value.field_violations] == [field]


def test_other_organization_gets_not_found(acme: Client, globex: Client) -> None:
    job = acme.create_job(spec())
    for call in (
        lambda: globex.get_job(job.name),
        lambda: globex.get_job(job.name.rsplit("/", 1)[-1]),
        lambda: globex.cancel_job(job.name),
        lambda: list(globex.watch_job(job.name)),
    ):
        with pytest.raises(errors.NotFoundError) as info:
            call()
        assert info.value.reason == "NOT_FOUND"
    assert list(globex.list_jobs()) == []
    with pytest.raises(errors.NotFoundError):
        globex.create_job(spec(), parent="organizations/acme")
    assert acme.get_job(job.name).state == job_pb2.QUEUED  # untouched


def test_cancelling_a_final_job_is_failed_precondition(acme: Client) -> None:
    job = acme.create_job(spec())
    acme.cancel_job(job.name)
    with pytest.raises(errors.FailedPreconditionError) as info:
        acme.cancel_job(job.name)
    assert "CANCELLED" in info.value.message
    assert not info.value.retryable


def test_viewer_reads_but_cannot_write(
    keys: Any, acme: Client, connect: Callable[[str], Client]
) -> None:
    job = acme.create_job(spec())
    viewer = connect(keys.acme_viewer)
    assert viewer.get_job(job.name).name == job.name
    with pytest.raises(errors.PermissionDeniedError):
        viewer.create_job(spec())
    with pytest.raises(errors.PermissionDeniedError):
        viewer.cancel_job(job.name)


def test_estimate_lists_options(acme: Client) -> None:
    s = spec()
    s.resources.accelerators[:] = ["dojo-tile", "gpu-a100"]
    options = acme.estimate_job(s)
    assert {o.accelerator for o in options} >= {"dojo-tile", "gpu-a100"}
    assert all(o.step_seconds > 0 and o.cost_usd > 0 for o in options)
    assert sum(o.cheapest for o in options) == 1 and sum(o.fastest for o in options) == 1
    # Memory per device beside time and cost: a small MLP fits every device.
    assert all(0 < o.peak_memory_bytes < o.device_memory_bytes and o.fits for o in options)
    with pytest.raises(errors.InvalidArgumentError):
        acme.estimate_job(spec(steps=-5))


def test_create_refuses_a_model_no_device_can_hold(acme: Client) -> None:
    """The 4.1e11-parameter GPT at batch 65,536 CreateJob used to accept: refused with the
    figures, by validation, before any estimate or row is made."""
    s = specfile.parse_yaml(SPEC)
    s.model.architecture = "gpt"
    s.model.params.clear()
    s.model.params.update({"d_model": 16384, "layers": 128, "heads": 128, "context": 8192})
    s.dataset.name = "tiny-shakespeare"
    s.training.batch_size, s.training.steps = 65_536, 10_000_000
    for call in (acme.create_job, acme.estimate_job):
        with pytest.raises(errors.InvalidArgumentError) as info:
            call(s)
        [v] = info.value.field_violations
        assert v.field == "model.params" and "GiB per device, has 109 GiB" in v.description
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    "metadata",
    [
        (),
        (("authorization", "Bearer dojo_nope_nope"),),
        (("authorization", "Basic abc"),),
        (("x-api-key", "garbage"),),
    ],
)
def test_unauthenticated(address: str, keys: Any, metadata: tuple[tuple[str, str], ...]) -> None:
    with grpc.insecure_channel(address) as channel:
        stub = job_pb2_grpc.JobServiceStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            stub.ListJobs(job_pb2.ListJobsRequest(), timeout=5, metadata=metadata)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_x_api_key_header_and_revoked_key(address: str, keys: Any) -> None:
    from dojocloud.tenancy.models import ApiKey

    with grpc.insecure_channel(address) as channel:
        stub = job_pb2_grpc.JobServiceStub(channel)
        md = (("x-api-key", keys.acme),)
        assert stub.ListJobs(job_pb2.ListJobsRequest(), timeout=5, metadata=md).jobs == []
        ApiKey.objects.filter(name="ci", organization__slug="acme").update(
            revoked_at="2024-01-01T00:00:00Z"
        )
        with pytest.raises(grpc.RpcError) as info:
            stub.ListJobs(job_pb2.ListJobsRequest(), timeout=5, metadata=md)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "revoked" in (info.value.details() or "")


def test_request_metrics_by_method_and_code(acme: Client) -> None:
    def count(code: str) -> float:
        return (
            REGISTRY.get_sample_value(
                "dojo_grpc_requests_total", {"method": "/dojo.v1.JobService/GetJob", "code": code}
            )
            or 0.0
        )

    ok, missing = count("OK"), count("NOT_FOUND")
    job = acme.create_job(spec())
    acme.get_job(job.name)
    with pytest.raises(errors.NotFoundError):
        acme.get_job("nosuchjob")
    assert count("OK") == ok + 1
    assert count("NOT_FOUND") == missing + 1
    assert (
        REGISTRY.get_sample_value(
            "dojo_grpc_request_duration_seconds_count",
            {"method": "/dojo.v1.JobService/GetJob", "code": "OK"},
        )
        or 0
    ) >= 1


def test_jobs_carry_what_the_ledger_billed_so_far(acme: Client) -> None:
    from dojocloud.billing.facade import UsageRecord, record_segment_usage, seed_prices
    from tests.unit.platform.test_platform_billing import usage

    seed_prices()  # a transactional test's flush took the migration's seed with it
    billed, idle = acme.create_job(spec()), acme.create_job(spec())
    job_id = billed.name.rsplit("/", 1)[-1]
    for segment in (0, 1):
        assert record_segment_usage(*usage(job_id, segment))
    amount = sum(r.amount for r in UsageRecord.objects.filter(job_id=job_id))
    assert amount > 0
    assert acme.get_job(billed.name).usage.cost_usd == str(amount)
    listed = {j.name: j.usage.cost_usd for j in acme.list_jobs()}
    assert listed == {billed.name: str(amount), idle.name: ""}  # no row yet: no figure
