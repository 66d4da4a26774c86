"""Job list, detail, live events and cancel: scoped to the caller's organization, with the
viewer role read-only."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from dojocloud.billing import facade as billing
from dojocloud.jobs.models import Job, JobEvent
from dojocloud.tenancy import services as tenancy
from dojocloud.tenancy.models import Organization
from tests.support.ledger_rows import orm_rows

pytestmark = pytest.mark.django_db


def test_list_shows_own_jobs_with_state_and_pending_reason(
    alice_client, alice, bob, submit
) -> None:
    mine = submit(alice, "mine")
    Job.objects.filter(id=mine.id).update(queue_position=3, pending_reason="no free dojo tile")
    submit(bob, "theirs")
    page = alice_client.get("/jobs/").content.decode()
    assert "mine" in page and "theirs" not in page
    assert 'class="badge state-queued"' in page
    assert "#3 in queue" in page and "no free dojo tile" in page


def test_list_paginates_and_filters_by_state(alice_client, alice, submit) -> None:
    for i in range(27):
        submit(alice, f"job-{i:02d}")
    first = alice_client.get("/jobs/")
    page = first.content.decode()
    assert page.count('class="job-name"') == 25 and "job-26" in page and "job-01" not in page
    token = first.context["next_token"]
    assert token
    second = alice_client.get("/jobs/", {"page_token": token}).content.decode()
    assert second.count('class="job-name"') == 2 and "job-01" in second and "job-00" in second
    assert "First page" in second
    assert alice_client.get("/jobs/?state=RUNNING").content.decode().count('class="job-name"') == 0


def test_detail_shows_state_timeline_usage_and_spec(alice_client, alice, submit) -> None:
    job = submit(alice)
    Job.objects.filter(id=job.id).update(
        wall_seconds=12.5, device_seconds=0.42, allocated_seconds=12.5
    )
    page = alice_client.get(f"/jobs/{job.id}/").content.decode()
    assert job.resource_name in page and "QUEUED" in page
    assert "Wall time" in page and "12.5s" in page
    assert "Modelled device time" in page and "420 ms" in page and "0.034× wall" in page
    assert "submitted" in page  # the QUEUED state event's reason
    assert "architecture: mlp" in page  # the spec as YAML
    assert 'id="loss-chart"' in page and "chart.umd.min.js" in page


def test_detail_shows_what_the_ledger_has_billed_the_job_so_far(
    alice_client, alice, submit
) -> None:
    job = submit(alice)
    page = alice_client.get(f"/jobs/{job.id}/").content.decode()
    assert "Cost so far" in page and '<dd id="job-cost">—</dd>' in page
    # Two rated segments of 0.179012 USD each (tests/support/ledger_rows.py), and another
    # job's row that must not count.
    other = submit(alice)
    orm_rows(job.organization, [job.id], per_job=2, month=date(2026, 11, 1))
    orm_rows(other.organization, [other.id], per_job=5, month=date(2026, 11, 1))
    assert billing.job_costs([job.id])[job.id] == Decimal("0.358024")
    page = alice_client.get(f"/jobs/{job.id}/").content.decode()
    assert '<dd id="job-cost">$0.36</dd>' in page
    # The list says the same, row by row; a job with no rated usage shows a dash.
    listing = alice_client.get("/jobs/").content.decode()
    rows = {r.split("</tr>")[0] for r in listing.split("<tr>")[1:]}
    (mine,) = [r for r in rows if job.id in r]
    (theirs,) = [r for r in rows if other.id in r]
    assert '<td data-label="Cost so far">$0.36</td>' in mine
    assert '<td data-label="Cost so far">$0.90</td>' in theirs  # 5 x 0.179012
    fresh = submit(alice)
    listing = alice_client.get("/jobs/").content.decode()
    (new_row,) = [r.split("</tr>")[0] for r in listing.split("<tr>")[1:] if fresh.id in r]
    assert '<td data-label="Cost so far"><span class="muted">—</span></td>' in new_row


def test_detail_shows_the_held_out_evaluation_once_there_is_one(
    alice_client, alice, submit
) -> None:
    job = submit(alice)
    page = alice_client.get(f"/jobs/{job.id}/").content.decode()
    assert "Held-out evaluation" not in page
    Job.objects.filter(id=job.id).update(
        evaluation={
            "step": 40,
            "loss": 0.31234,
            "accuracy": 0.9124,
            "samples": 360.0,
            "loss_function": "cross_entropy",
        }
    )
    page = alice_client.get(f"/jobs/{job.id}/").content.decode()
    assert 'id="job-evaluation"' in page and "(cross_entropy)" in page
    assert "0.3123" in page and "0.912" in page and "360 held-out samples, at step 40" in page
    # A regression has no accuracy: the page says MSE and shows no accuracy row.
    Job.objects.filter(id=job.id).update(
        evaluation={
            "step": 40,
            "loss": 2.5,
            "accuracy": None,
            "samples": 100.0,
            "loss_function": "mse",
        }
    )
    page = alice_client.get(f"/jobs/{job.id}/").content.decode()
    section = page[page.index('id="job-evaluation"') :]
    section = section[: section.index("</section>")]
    assert "(mse)" in section and "2.5000" in section and "Accuracy" not in section


def test_events_json_returns_events_after_an_id(alice_client, alice, submit) -> None:
    job = submit(alice)
    JobEvent.objects.create(
        job=job, kind="metric", data={"step": 10, "loss": 2.1, "accuracy": None}
    )
    body = alice_client.get(f"/jobs/{job.id}/events.json").json()
    kinds = [e["kind"] for e in body["events"]]
    assert kinds == ["state", "metric"]
    assert body["events"][1]["data"] == {"step": 10, "loss": 2.1, "accuracy": None}
    assert body["job"]["state"] == "QUEUED" and body["job"]["final"] is False
    last = body["events"][-1]["id"]
    assert alice_client.get(f"/jobs/{job.id}/events.json?after={last}").json()["events"] == []


def test_other_organizations_job_is_not_found(alice_client, bob, submit) -> None:
    theirs = submit(bob, "theirs")
    for url in (
        f"/jobs/{theirs.id}/",
        f"/jobs/{theirs.id}/events.json",
        f"/jobs/new/?from={theirs.id}",
    ):
        assert alice_client.get(url).status_code == 404, url
    assert alice_client.post(f"/jobs/{theirs.id}/cancel/").status_code == 404
    assert Job.objects.get(id=theirs.id).state == "QUEUED"


def test_cancel_moves_the_job_to_cancelled(alice_client, alice, submit) -> None:
    job = submit(alice)
    assert alice_client.get(f"/jobs/{job.id}/cancel/").status_code == 405
    response = alice_client.post(f"/jobs/{job.id}/cancel/", follow=True)
    job.refresh_from_db()
    assert job.state == "CANCELLED" and "alice" in job.state_reason
    page = response.content.decode()
    assert "Cancel requested." in page and "state-cancelled" in page
    assert "Cancel job" not in page  # no cancel button on a final job
    again = alice_client.post(f"/jobs/{job.id}/cancel/", follow=True).content.decode()
    assert "already CANCELLED" in again


def test_cancel_needs_the_csrf_token(alice, submit) -> None:
    job = submit(alice)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(f"/jobs/{job.id}/cancel/").status_code == 403
    assert Job.objects.get(id=job.id).state == "QUEUED"
    page = client.get(f"/jobs/{job.id}/").content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    client.post(f"/jobs/{job.id}/cancel/", {"csrfmiddlewaretoken": token})
    assert Job.objects.get(id=job.id).state == "CANCELLED"


def test_viewer_can_read_but_not_submit_or_cancel(
    client_for, victor, alice, submit, form_post
) -> None:
    job = submit(alice)
    viewer = client_for(victor)
    listing = viewer.get("/jobs/").content.decode()
    assert job.name in listing and "New job" not in listing
    detail = viewer.get(f"/jobs/{job.id}/").content.decode()
    assert "Cancel job" not in detail
    assert viewer.get("/jobs/new/").status_code == 403
    assert viewer.post("/jobs/new/", form_post).status_code == 403
    assert Job.objects.count() == 1
    assert viewer.post(f"/jobs/{job.id}/cancel/").status_code == 403
    assert Job.objects.get(id=job.id).state == "QUEUED"


def test_user_without_organization_gets_a_clear_page(client_for, operator) -> None:
    response = client_for(operator).get("/jobs/")
    assert response.status_code == 403 and "No organization" in response.content.decode()


def test_member_of_two_organizations_switches_between_them(
    alice_client, alice, bob, submit
) -> None:
    tenancy.add_member(Organization.objects.get(slug="globex"), alice, "viewer")
    submit(bob, "globex-job")
    assert "globex-job" not in alice_client.get("/jobs/").content.decode()
    alice_client.post("/org/", {"org": "globex"})
    page = alice_client.get("/jobs/").content.decode()
    assert "globex-job" in page and "New job" not in page  # a viewer there
    outsider = alice_client.post("/org/", {"org": "initech"})
    assert outsider.status_code == 403


def test_bad_page_token_or_state_filter_says_so(alice_client) -> None:
    response = alice_client.get("/jobs/?page_token=garbage", follow=True)
    assert "not a valid page token" in response.content.decode()
    response = alice_client.get("/jobs/?state=bogus", follow=True)
    assert "state must be one of" in response.content.decode()
