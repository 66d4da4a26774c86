"""Job services: scoping, idempotent create, listing, cancel, events, conditional moves."""

from __future__ import annotations

import pytest

from dojocloud.common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from dojocloud.jobs import lifecycle
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job
from dojocloud.jobs.transitions import transition
from dojocloud.scheduling import capacity
from dojocloud.scheduling.models import Allocation
from tests.support.people import People, make_spec


def test_create_stores_the_validated_spec_and_a_queued_event(people: People) -> None:
    job = jobs.create_job(people.member, make_spec())
    assert job.state == "QUEUED" and job.organization == people.acme
    assert job.resource_name == f"organizations/acme/jobs/{job.id}"
    assert job.creator == people.member.user and job.total_steps == 6
    assert jobs.spec_of(job).training.optimizer == "adam"
    [event] = jobs.job_events(people.member, job.id)
    assert event.kind == "state" and event.data == {
        "from": None,
        "to": "QUEUED",
        "reason": "submitted",
    }


def test_invalid_spec_creates_nothing(people: People) -> None:
    with pytest.raises(InvalidArgument) as info:
        jobs.create_job(
            people.owner, make_spec(training={"steps": 6, "batch_size": 8, "learning_rate": -1})
        )
    assert [v.field for v in info.value.violations] == ["training.learning_rate"]
    assert Job.objects.count() == 0


def test_request_id_makes_a_retry_return_the_first_job(people: People) -> None:
    first = jobs.create_job(people.owner, make_spec(), request_id="r-1")
    again = jobs.create_job(people.member, make_spec(), request_id="r-1")
    assert again.id == first.id and Job.objects.count() == 1
    # AIP-155: the same request id with a different spec is not a retry, and not the old job.
    with pytest.raises(AlreadyExists, match=r"request_id 'r-1' was already used for .*"):
        jobs.create_job(people.member, make_spec(name="renamed"), request_id="r-1")
    assert Job.objects.count() == 1
    # The key is per organization: another tenant's identical id is a different job.
    theirs = jobs.create_job(people.outsider, make_spec(), request_id="r-1")
    assert theirs.id != first.id


def test_another_orgs_job_is_not_found(people: People) -> None:
    job = jobs.create_job(people.owner, make_spec())
    for call in (
        lambda: jobs.get_job(people.outsider, job.id),
        lambda: jobs.cancel_job(people.outsider, job.id),
        lambda: jobs.job_events(people.outsider, job.id),
    ):
        with pytest.raises(NotFound):
            call()
    assert jobs.list_jobs(people.outsider) == ([], "")
    assert jobs.get_job(people.viewer, job.id).id == job.id


def test_list_pages_newest_first_and_filters_by_state(people: People) -> None:
    made = [jobs.create_job(people.owner, make_spec(name=f"j{i}")) for i in range(5)]
    jobs.cancel_job(people.owner, made[0].id)
    page1, token = jobs.list_jobs(people.owner, page_size=2)
    page2, token2 = jobs.list_jobs(people.owner, page_size=2, page_token=token)
    page3, token3 = jobs.list_jobs(people.owner, page_size=2, page_token=token2)
    seen = [j.id for j in page1 + page2 + page3]
    assert seen == [j.id for j in reversed(made)] and token3 == ""
    cancelled, _ = jobs.list_jobs(people.owner, state="CANCELLED")
    assert [j.id for j in cancelled] == [made[0].id]
    with pytest.raises(InvalidArgument):
        jobs.list_jobs(people.owner, state="BOGUS")
    with pytest.raises(InvalidArgument):
        jobs.list_jobs(people.owner, page_token="!!not-a-token")


def test_cancel_releases_hardware_and_is_final(people: People) -> None:
    capacity.sync_inventory(_inventory())
    job = jobs.create_job(people.owner, make_spec())
    transition(job.id, lifecycle.SCHEDULED, "test")
    assert capacity.hold(job.id, 1, ["dojo/e0/c0/t0/r0c0"])
    cancelled = jobs.cancel_job(people.member, job.id, reason="no longer needed")
    assert cancelled.state == "CANCELLED" and cancelled.ended_at is not None
    assert cancelled.state_reason == "no longer needed"
    assert not Allocation.objects.filter(job=job, released_at__isnull=True).exists()
    with pytest.raises(FailedPrecondition):
        jobs.cancel_job(people.owner, job.id)
    kinds = [(e.data["from"], e.data["to"]) for e in jobs.job_events(people.owner, job.id)]
    assert kinds == [(None, "QUEUED"), ("QUEUED", "SCHEDULED"), ("SCHEDULED", "CANCELLED")]


def test_events_resume_after_an_id(people: People) -> None:
    job = jobs.create_job(people.owner, make_spec())
    transition(job.id, lifecycle.SCHEDULED, "placed")
    transition(job.id, lifecycle.RUNNING, "started")
    events = jobs.job_events(people.owner, job.id)
    later = jobs.job_events(people.owner, job.id, after_id=events[0].id)
    assert [e.id for e in later] == [e.id for e in events[1:]]


def test_transition_is_conditional(people: People) -> None:
    job = jobs.create_job(people.owner, make_spec())
    assert transition(job.id, lifecycle.RUNNING, "skip") is None  # not in the table
    assert transition(job.id, lifecycle.SCHEDULED, "a") == "QUEUED"
    # A second mover expecting QUEUED loses: zero rows updated, no event.
    assert transition(job.id, lifecycle.SCHEDULED, "b", expect=[lifecycle.QUEUED]) is None
    assert len(jobs.job_events(people.owner, job.id)) == 2


def _inventory():  # type: ignore[no-untyped-def]
    from dojocloud.common.inventory import inventory

    return inventory()


def test_a_job_is_found_by_id_unique_name_or_id_prefix(people: People) -> None:
    solo = jobs.create_job(people.owner, make_spec(name="solo"))
    twins = [jobs.create_job(people.owner, make_spec(name="twin")) for _ in range(2)]
    assert jobs.resolve_job(people.owner, solo.id).id == solo.id
    assert jobs.resolve_job(people.viewer, "solo").id == solo.id  # a name unique in the org
    assert jobs.resolve_job(people.owner, solo.id[:6]).id == solo.id  # a short id
    with pytest.raises(InvalidArgument) as err:
        jobs.resolve_job(people.owner, "twin")
    (violation,) = err.value.violations
    assert violation.field == "name" and violation.description.startswith("2 jobs are named")
    assert all(t.id in violation.description for t in twins)
    with pytest.raises(NotFound):
        jobs.resolve_job(people.owner, solo.id[:3])  # too short to be taken as an id prefix
    for ref in ("solo", solo.id, solo.id[:6]):  # another tenant's job does not exist for them
        with pytest.raises(NotFound):
            jobs.resolve_job(people.outsider, ref)
