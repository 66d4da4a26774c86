"""Bad input through a real server: every bad field in one INVALID_ARGUMENT whose details fit
the transport's metadata limits, and requests over the size limit named as such."""

from __future__ import annotations

import grpc
import pytest

from dojo import errors
from dojo.client import Client
from dojo.v1 import job_pb2, job_pb2_grpc
from tests.integration.api.test_api_jobs import spec

pytestmark = pytest.mark.django_db(transaction=True)


def fields(info: pytest.ExceptionInfo[errors.InvalidArgumentError]) -> set[str]:
    return {v.field for v in info.value.field_violations}


def test_a_huge_echoed_value_still_comes_back_as_field_violations(acme: Client) -> None:
    s = spec()
    s.resources.accelerators[:] = ["x" * 20_000]
    for call in (acme.create_job, acme.estimate_job):
        with pytest.raises(errors.InvalidArgumentError) as info:
            call(s)
        (v,) = info.value.field_violations
        assert v.field == "resources.accelerators[0]"
        assert "is not in this cluster; available: " in v.description
        assert len(v.description) < 400 and len(info.value.message) < 1000


def test_many_bad_fields_are_summarized_not_dropped(acme: Client) -> None:
    s = spec()
    for i in range(50):
        s.model.params[f"unknown_{i:02d}_" + "k" * 200] = 1
    with pytest.raises(errors.InvalidArgumentError) as info:
        acme.create_job(s)
    listed = info.value.field_violations
    assert 5 < len(listed) < 50
    assert all(v.field.startswith("model.params.unknown_") for v in listed[:-1])
    assert listed[-1].description == f"and {51 - len(listed)} more violations not listed"


def test_unknown_architecture_does_not_hide_unknown_dataset(acme: Client) -> None:
    s = spec()
    s.model.architecture, s.dataset.name = "transformer-xxl", "imagenet-99"
    with pytest.raises(errors.InvalidArgumentError) as info:
        acme.estimate_job(s)
    assert {"model.architecture", "dataset.name"} <= fields(info)


def test_bad_parent_and_request_id_come_with_the_spec_violations(acme: Client) -> None:
    s = spec(steps=0)
    with pytest.raises(errors.InvalidArgumentError) as info:
        acme.create_job(s, parent="orgs/acme", request_id="r" * 101)
    assert {"parent", "request_id", "training.steps"} <= fields(info)
    with pytest.raises(errors.NotFoundError):  # another organization's parent: not found
        acme.create_job(s, parent="organizations/globex")


@pytest.mark.parametrize("size", [2 * 1024 * 1024, 5 * 1024 * 1024])
def test_a_request_over_the_limit_names_the_limit(
    acme: Client, keys: object, address: str, size: int
) -> None:
    s = spec()
    s.dataset.name = "u" * size
    with pytest.raises(errors.InvalidArgumentError) as info:
        acme.create_job(s)
    (v,) = info.value.field_violations
    assert v.field == "request" and "at most 1048576 bytes" in v.description
    with grpc.insecure_channel(address) as channel:  # the same before any authentication
        with pytest.raises(grpc.RpcError) as raw:
            job_pb2_grpc.JobServiceStub(channel).EstimateJob(
                job_pb2.EstimateJobRequest(job_spec=s), timeout=30
            )
        assert raw.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_request_just_under_the_limit_is_judged_on_its_fields(acme: Client) -> None:
    s = spec()
    s.dataset.name = "u" * 1_000_000
    with pytest.raises(errors.InvalidArgumentError) as info:
        acme.create_job(s)
    assert [v.field for v in info.value.field_violations] == ["dataset.name"]


def test_nul_characters_are_named_not_internal(acme: Client) -> None:
    """PostgreSQL cannot store NUL in text or jsonb: it is refused at the edge, by field, on
    every RPC (the fuzz test found CreateJob's request_id reaching the database with one)."""
    s = spec()
    s.model.params["hidden\x00"] = 8
    with pytest.raises(errors.InvalidArgumentError) as info:
        acme.create_job(s, request_id="\x00")
    assert {"request_id", "job_spec.model.params (a key)"} <= fields(info)
    with pytest.raises(errors.InvalidArgumentError) as info:
        acme.get_job("organizations/acme/jobs/\x00")
    assert fields(info) == {"name"}
    job = acme.create_job(spec())
    with pytest.raises(errors.InvalidArgumentError) as info:
        acme.cancel_job(job.name, reason="stop\x00")
    assert fields(info) == {"reason"}
