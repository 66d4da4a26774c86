"""API keys page (raw key shown once, stored hashed) and the operator console (admin pages
and the fleet overview, staff only)."""

from __future__ import annotations

import hashlib

import pytest

from dojocloud.common.inventory import inventory
from dojocloud.scheduling.capacity import hold, sync_inventory
from dojocloud.tenancy.models import ApiKey

pytestmark = pytest.mark.django_db


def test_api_key_is_shown_once_and_stored_hashed(alice_client) -> None:
    created = alice_client.post("/keys/", {"name": "ci"})
    assert created.status_code == 302 and created["Location"] == "/keys/"
    response = alice_client.get("/keys/")
    raw = response.context["raw_key"]
    assert raw and raw in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert raw not in str(dict(alice_client.session))  # taken out of the session once shown
    key = ApiKey.objects.get(name="ci")
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {key.name, key.prefix, key.key_hash}
    later = alice_client.get("/keys/").content.decode()
    assert raw not in later and key.key_hash not in later
    assert f"dojo_{key.prefix}_" in later and "never" in later


def test_revoke_key_and_scoping(alice_client, client_for, bob, victor) -> None:
    alice_client.post("/keys/", {"name": "ci"})
    key = ApiKey.objects.get(name="ci")
    assert client_for(bob).post(f"/keys/{key.id}/revoke/").status_code == 404
    assert client_for(victor).post(f"/keys/{key.id}/revoke/").status_code == 403
    assert ApiKey.objects.get(id=key.id).revoked_at is None
    page = alice_client.post(f"/keys/{key.id}/revoke/", follow=True).content.decode()
    assert ApiKey.objects.get(id=key.id).revoked_at is not None
    assert "revoked" in page


def test_the_console_revokes_keys_through_the_tenancy_service(
    alice_client, client_for, operator
) -> None:
    alice_client.post("/keys/", {"name": "ci"})
    key = ApiKey.objects.get(name="ci")
    page = (
        client_for(operator)
        .post(
            "/admin/tenancy/apikey/",
            {"action": "revoke", "_selected_action": [key.id]},
            follow=True,
        )
        .content.decode()
    )
    assert "Revoked 1 key(s)." in page
    assert ApiKey.objects.get(id=key.id).revoked_at is not None


def test_admin_pages_load_for_staff(client_for, operator, alice, submit) -> None:
    job = submit(alice)
    alice_client = client_for(alice)
    alice_client.post("/keys/", {"name": "ci"})
    key = ApiKey.objects.get(name="ci")
    staff = client_for(operator)
    for url in (
        "/admin/",
        "/admin/jobs/job/",
        "/admin/jobs/job/?state__exact=QUEUED",
        f"/admin/jobs/job/{job.id}/change/",
        "/admin/billing/usagerecord/",
        "/admin/tenancy/organization/",
        "/admin/tenancy/membership/",
        "/admin/tenancy/apikey/",
        f"/admin/tenancy/apikey/{key.id}/change/",
        "/admin/scheduling/device/",
    ):
        response = staff.get(url)
        assert response.status_code == 200, url
        assert key.key_hash not in response.content.decode(), url
    assert "submitted" in staff.get(f"/admin/jobs/job/{job.id}/change/").content.decode()
    assert f"dojo_{key.prefix}_" in staff.get("/admin/tenancy/apikey/").content.decode()
    assert alice_client.get("/admin/jobs/job/").status_code == 302  # not staff


def test_fleet_overview_shows_tiles_with_job_and_tenant(
    client_for, operator, alice, submit
) -> None:
    sync_inventory(inventory())
    job = submit(alice, "on-a-tile")
    tile_id = inventory().tiles[0].id
    assert hold(job.id, 1, [tile_id])
    submit(alice, "waiting")
    response = client_for(operator).get("/console/")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('class="tile ') == len(inventory().tiles)
    assert f'class="tile busy" data-device="{tile_id}"' in page
    assert "on-a-tile" in page and "acme" in page
    assert page.count('class="gpu ') == sum(n.gpus for n in inventory().gpu_nodes)
    assert "gpu-a100 · rack r0 · n1" in page  # each GPU node under its rack
    assert "waiting" in page and "jobs waiting" in page
    assert client_for(alice).get("/console/").status_code == 302
