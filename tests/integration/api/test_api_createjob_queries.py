"""The queries one CreateJob makes on the API side (the key's check, the service, the answer),
pinned: a new query per submit is a deliberate change to this number, not a drift. The
servicer runs in this test's thread, where its queries can be counted; the wire adds none."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dojo import specfile
from dojo.v1 import job_pb2
from dojocloud.api.job_service import JobService
from tests.integration.api.conftest import Keys

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "digits-mlp.yaml"
# The key (1), the request_id's first use (1), then one transaction (BEGIN, the budget, the
# job, its first event, COMMIT: 5), and nothing for the answer: a job never admitted has no
# cost to read. (Served, each call adds Django's health check of a kept connection.)
QUERIES_PER_SUBMIT = 7


class Context:
    def __init__(self, key: str) -> None:
        self.metadata = (("authorization", f"Bearer {key}"),)

    def invocation_metadata(self) -> Iterable[tuple[str, Any]]:
        return self.metadata


def submit(service: JobService, key: str) -> job_pb2.Job:
    request = job_pb2.CreateJobRequest(
        job_spec=specfile.load(str(EXAMPLE)), request_id=str(uuid.uuid4())
    )
    job: job_pb2.Job = service.CreateJob(request, Context(key))  # type: ignore[call-arg]
    return job


def test_a_submit_takes_a_fixed_number_of_queries(keys: Keys) -> None:
    service = JobService()
    submit(service, keys.acme)  # the first: the key's last_used_at is written once a minute
    counts = []
    for _ in range(3):
        with CaptureQueriesContext(connection) as captured:
            job = submit(service, keys.acme)
        counts.append(len(captured.captured_queries))
        assert job.state == job_pb2.QUEUED and job.usage.cost_usd == ""
    assert counts == [QUERIES_PER_SUBMIT] * 3, [q["sql"][:100] for q in captured]
