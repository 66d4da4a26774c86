"""Request parsing and row → proto mapping (unsaved model instances, no database)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from dojo.v1 import job_pb2
from dojocloud.api import mappers
from dojocloud.common.errors import InvalidArgument, NotFound
from dojocloud.jobs.models import Job, JobEvent
from dojocloud.tenancy.models import Organization
from dojocloud.tenancy.services import Principal

ACME = Principal(Organization(slug="acme", name="Acme"), None, 1, "owner")


@pytest.mark.parametrize(
    ("name", "job_id"),
    [
        ("organizations/acme/jobs/abc123", "abc123"),
        ("abc123", "abc123"),
        (" organizations/acme/jobs/x ", "x"),
    ],
)
def test_job_names(name: str, job_id: str) -> None:
    assert mappers.job_id_from_name(ACME, name) == job_id


def test_another_organizations_name_is_not_found() -> None:
    with pytest.raises(NotFound):
        mappers.job_id_from_name(ACME, "organizations/globex/jobs/abc")
    with pytest.raises(NotFound):
        mappers.check_parent(ACME, "organizations/globex")
    mappers.check_parent(ACME, "organizations/acme")
    mappers.check_parent(ACME, "")


@pytest.mark.parametrize("name", ["", "organizations/acme/jobs/", "jobs/a/b", "a b"])
def test_bad_names_are_invalid_argument_on_name(name: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        mappers.job_id_from_name(ACME, name)
    assert [v.field for v in info.value.violations] == ["name"]


@pytest.mark.parametrize(
    ("name", "parsed"),
    [("organizations/acme/jobs/abc", ("acme", "abc")), (" organizations/x/jobs/y ", ("x", "y"))],
)
def test_the_full_name_form_gives_organization_and_id(name: str, parsed: tuple[str, str]) -> None:
    assert mappers.parse_job_name(name, bare_id=False) == parsed
    assert mappers.parse_job_name(name) == parsed


@pytest.mark.parametrize(
    "name",
    [
        "",
        "abc123",
        "jobs/x",
        "organizations/acme/jobs/",
        "organizations//jobs/x",
        "organizations/a/jobs/b/c",
    ],
)
def test_the_full_name_form_refuses_the_rest_on_its_field(name: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        mappers.parse_job_name(name, "job", bare_id=False)
    assert [v.field for v in info.value.violations] == ["job"]


@pytest.mark.parametrize(
    ("text", "state"), [("", None), ("state=RUNNING", "RUNNING"), (" state = queued ", "QUEUED")]
)
def test_filter(text: str, state: str | None) -> None:
    assert mappers.state_from_filter(text) == state


@pytest.mark.parametrize("text", ["state=DONE", "owner=me", "RUNNING"])
def test_bad_filter(text: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        mappers.state_from_filter(text)
    assert info.value.violations[0].field == "filter"


def test_job_to_proto() -> None:
    now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    job = Job(
        id="abc",
        organization=ACME.organization,
        state="RUNNING",
        state_reason="go",
        spec={"name": "x", "training": {"steps": "300"}},
        created_at=now,
        started_at=now,
        attempt=2,
        current_step=120,
        pool="dojo",
        accelerator="dojo-tile",
        devices=["t0", "t1"],
        allocated_seconds=12.5,
        latest_metrics={"step": 120, "loss": 0.5, "accuracy": None},
        creator_label="key:1",
    )
    p = mappers.job_to_proto(job)
    assert p.name == "organizations/acme/jobs/abc"
    assert p.state == job_pb2.RUNNING and p.spec.training.steps == 300
    assert p.create_time.ToDatetime(tzinfo=UTC) == now and not p.HasField("end_time")
    assert list(p.placement.devices) == ["t0", "t1"] and p.usage.allocated_seconds == 12.5
    assert p.latest_metrics.loss == 0.5 and math.isnan(p.latest_metrics.accuracy)
    assert p.creator == "key:1"


def test_events_to_proto() -> None:
    state = JobEvent(
        id=7,
        kind="state",
        data={"from": None, "to": "QUEUED", "reason": "new"},
        time=datetime(2025, 1, 1, tzinfo=UTC),
    )
    e = mappers.event_to_proto(state, "organizations/acme/jobs/abc")
    assert e.id == 7 and e.job.endswith("/abc")
    assert e.state_change.from_state == job_pb2.JOB_STATE_UNSPECIFIED
    assert e.state_change.to_state == job_pb2.QUEUED and e.state_change.reason == "new"
    metric = JobEvent(
        id=8,
        kind="metric",
        data={"step": 10, "loss": 1.5, "accuracy": 0.25},
        time=datetime(2025, 1, 1, tzinfo=UTC),
    )
    m = mappers.event_to_proto(metric, "n").metric
    assert (m.step, m.loss, m.accuracy) == (10, 1.5, 0.25)
