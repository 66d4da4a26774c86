"""What customers see: times in their own zone (a profile setting, UTC by default) with the
zone named; the job page's live parts carry what the script updates."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.test import Client

from dojocloud.jobs.models import Job
from dojocloud.portal.models import Profile

pytestmark = pytest.mark.django_db

WINTER = datetime(2025, 1, 15, 12, 30, 5, tzinfo=UTC)
SUMMER = datetime(2025, 7, 15, 12, 30, 5, tzinfo=UTC)


def _dated(job: Job) -> Job:
    Job.objects.filter(id=job.id).update(created_at=WINTER, started_at=SUMMER)
    job.refresh_from_db()
    return job


def test_times_are_utc_with_the_zone_by_default(alice_client: Client, submit, alice) -> None:
    job = _dated(submit(alice))
    page = alice_client.get(f"/jobs/{job.id}/").content.decode()
    assert '<time datetime="2025-01-15T12:30:05+00:00">2025-01-15 12:30:05 UTC</time>' in page
    assert ">2025-07-15 12:30:05 UTC</time>" in page


def test_the_profile_sets_the_zone_every_page_uses(alice_client: Client, submit, alice) -> None:
    job = _dated(submit(alice))
    assert "UTC" in alice_client.get("/profile/").content.decode()
    response = alice_client.post("/profile/", {"time_zone": "Europe/Berlin"})
    assert response.status_code == 302
    assert Profile.objects.get(user=alice).time_zone == "Europe/Berlin"
    page = alice_client.get(f"/jobs/{job.id}/").content.decode()
    assert ">2025-01-15 13:30:05 CET</time>" in page  # winter: +1
    assert ">2025-07-15 14:30:05 CEST</time>" in page  # summer: +2
    # The ISO instant is the same moment.
    assert 'datetime="2025-01-15T12:30:05+00:00"' in page
    # The list's relative time carries the zoned moment too.
    listing = alice_client.get("/jobs/").content.decode()
    assert 'title="2025-01-15 13:30:05 CET"' in listing


def test_a_new_session_reads_the_zone_from_the_profile(client_for, submit, alice, acme) -> None:
    Profile.objects.create(user=alice, time_zone="Asia/Kolkata")
    job = _dated(submit(alice))
    page = client_for(alice).get(f"/jobs/{job.id}/").content.decode()
    assert ">2025-01-15 18:00:05 IST</time>" in page


def test_another_users_zone_is_theirs_only(client_for, submit, alice, victor) -> None:
    Profile.objects.create(user=alice, time_zone="America/New_York")
    job = _dated(submit(alice))
    page = client_for(victor).get(f"/jobs/{job.id}/").content.decode()
    assert ">2025-01-15 12:30:05 UTC</time>" in page


def test_an_unknown_zone_is_refused_and_nothing_changes(alice_client: Client, alice) -> None:
    response = alice_client.post("/profile/", {"time_zone": "Mars/Olympus"})
    assert response.status_code == 400 and "Mars/Olympus" in response.content.decode()
    assert not Profile.objects.filter(user=alice).exists()


def test_the_running_time_is_a_live_part(alice_client: Client, submit, alice) -> None:
    job = submit(alice)
    Job.objects.filter(id=job.id).update(state="RUNNING", started_at=WINTER)
    page = alice_client.get(f"/jobs/{job.id}/").content.decode()
    live = re.search(r'<span data-live="elapsed" data-elapsed="([0-9.]+)">', page)
    assert live is not None and float(live.group(1)) > 0
    for part in ("step", "wall", "device", "allocated", "attempt", "loss"):
        assert f'data-live="{part}"' in page, part


def test_the_job_list_labels_each_cell_for_phones(alice_client: Client, submit, alice) -> None:
    submit(alice)
    page = alice_client.get("/jobs/").content.decode()
    for label in ("Job", "State", "Accelerator", "Progress", "Created"):
        assert f'data-label="{label}"' in page, label
