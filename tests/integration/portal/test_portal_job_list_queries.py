"""The job list page's queries do not grow with the organization's jobs: the page shows 25
rows and reads them in a fixed number of queries, whether the organization has 3 jobs, 30 or
300 (an N+1 on any row field would add one per row shown)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dojocloud.jobs.models import Job
from dojocloud.tenancy.models import Organization
from dojocloud.tenancy.services import principal_for_user
from tests.support import many_jobs


def _page_queries(client: Client, url: str = "/jobs/") -> tuple[int, bytes]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response.content


def test_the_job_list_reads_a_fixed_number_of_queries(acme: Organization, alice: User) -> None:
    client = Client()
    client.force_login(alice)
    principal = principal_for_user(alice)
    counts = {}
    for total in (3, 30, 300):
        many_jobs.fill(principal, total - Job.objects.filter(organization=acme).count())
        _page_queries(client)  # warm: the session's first read, caches
        counts[total], page = _page_queries(client)
        assert page.count(b'href="/jobs/') >= min(total, 25)
    assert counts[3] == counts[30] == counts[300], counts
    # The second page costs the same.
    with CaptureQueriesContext(connection):
        first = client.get("/jobs/")
    token = first.context["next_token"]
    assert token
    assert _page_queries(client, f"/jobs/?page_token={token}")[0] == counts[300]
