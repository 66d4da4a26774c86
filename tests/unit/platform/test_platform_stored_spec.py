"""The stored spec's codec: the blob and the typed columns come from one spec, a job's spec
is decoded once per instance, old rows get their columns from the data migration, and the
readers that rank or list jobs stay at a flat number of queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from dojo.v1 import job_pb2
from dojocloud.jobs import services as jobs
from dojocloud.jobs import stored_spec
from dojocloud.jobs.models import Job
from dojocloud.scheduling import queries
from dojocloud.scheduling.snapshot import queued_requests
from tests.support.people import People, make_people, make_spec

BEFORE = [("jobs", "0002_jobevent_one_metric_per_step")]
AFTER = [("jobs", "0003_job_spec_columns")]


def test_encode_gives_the_blob_and_its_columns() -> None:
    spec = make_spec(
        resources={"accelerators": ["gpu-h100", "dojo-tile"], "count": 4},
        limits={"max_runtime_seconds": 900},
    )
    fields = stored_spec.encode(spec, priority=2)
    assert fields["accepted_accelerators"] == ["gpu-h100", "dojo-tile"]  # order kept
    assert (fields["device_count"], fields["priority"]) == (4, 2)
    assert (fields["total_steps"], fields["max_runtime_seconds"]) == (6, 900)
    assert stored_spec.spec_from_dict(fields["spec"]) == spec


def test_the_columns_defaults_are_the_codecs() -> None:
    columns = stored_spec.SpecColumns.of(job_pb2.JobSpec())
    assert columns.accepted_accelerators == [stored_spec.DEFAULT_ACCELERATOR] == ["dojo-tile"]
    assert columns.device_count == stored_spec.DEFAULT_DEVICE_COUNT == 1
    unsaved = Job()
    assert (unsaved.accepted_accelerators, unsaved.device_count) == (["dojo-tile"], 1)


def test_fields_a_release_does_not_know_are_skipped() -> None:
    blob = {**stored_spec.spec_to_dict(make_spec()), "retries": 3}
    assert stored_spec.spec_from_dict(blob) == make_spec()


@pytest.mark.django_db
def test_create_writes_the_columns_and_decode_reads_once_per_instance() -> None:
    people = make_people()
    job = jobs.create_job(
        people.owner,
        make_spec(
            resources={"accelerators": ["gpu-a100", "dojo-tile"], "count": 2}, priority_class="high"
        ),
    )
    job = Job.objects.get(id=job.id)
    assert (job.accepted_accelerators, job.device_count, job.priority) == (
        ["gpu-a100", "dojo-tile"],
        2,
        2,
    )
    first = stored_spec.decode(job)
    assert stored_spec.decode(job) is first and jobs.spec_of(job) is first
    assert first.resources.count == 2 and first.priority_class == "high"
    job.refresh_from_db()  # a fresh blob is decoded again
    assert stored_spec.decode(job) is not first and stored_spec.decode(job) == first


def _count_queries(read: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        read()
    return len(captured.captured_queries)


@pytest.mark.django_db
def test_queue_readers_take_a_flat_number_of_queries() -> None:
    people = make_people()
    readers = (
        lambda: queued_requests(),
        lambda: queries.queue(),
        queries.queued_per_pool,
        lambda: jobs.list_jobs(people.owner),
    )
    jobs.create_job(people.owner, make_spec(name="one"))
    few = [_count_queries(read) for read in readers]
    for i in range(5):
        jobs.create_job(
            people.member,
            make_spec(name=f"more-{i}", resources={"accelerators": ["gpu-a100"], "count": 2}),
        )
    assert [_count_queries(read) for read in readers] == few
    assert sorted(queries.queued_per_pool().items()) == [("dojo", 1), ("gpu-a100", 5)]
    [row] = [r for r in queries.queue() if r.name == "more-0"]
    assert (row.pool, row.accelerator, row.count) == ("gpu-a100", "gpu-a100", 2)


def _migrate(targets: list[tuple[str, str]]) -> Any:
    """Migrates to `targets`; AFTER means every app's latest (going back to BEFORE also
    unapplies the migrations of other apps that depend on jobs 0003, e.g. billing's)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    if targets == AFTER:
        targets = executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_data_migration_fills_the_columns_of_old_rows(people: People) -> None:
    old_apps = _migrate(BEFORE)
    try:
        old_job = old_apps.get_model("jobs", "Job")
        org = people.acme.id
        blobs = {
            "gpu": stored_spec.spec_to_dict(
                make_spec(resources={"accelerators": ["gpu-h100", "dojo-tile"], "count": 8})
            ),
            "bare": {"name": "bare", "training": {"steps": "3"}},  # no resources at all
            "broken": {"resources": {"count": "many"}},  # unreadable: defaults
        }
        for job_id, blob in blobs.items():
            old_job.objects.create(id=job_id, organization_id=org, name=job_id, spec=blob)
    finally:
        _migrate(AFTER)
    got = {j.id: (j.accepted_accelerators, j.device_count) for j in Job.objects.all()}
    assert got == {
        "gpu": (["gpu-h100", "dojo-tile"], 8),
        "bare": (["dojo-tile"], 1),
        "broken": (["dojo-tile"], 1),
    }
    # Backwards is a no-op for the data (the columns go), and forwards again is the same.
    _migrate(BEFORE)
    _migrate(AFTER)
    assert Job.objects.get(id="gpu").device_count == 8
