"""Console operator actions through the Django test client: staff only, POST with CSRF,
each reaching the scheduling services."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from dojocloud.common.inventory import inventory
from dojocloud.scheduling import capacity
from dojocloud.scheduling.models import Device, TenantQuota
from dojocloud.tenancy.services import create_organization

TRAY = "dojo/e0/c0/t0"


@pytest.fixture
def staff(db: None) -> Client:
    capacity.sync_inventory(inventory())
    create_organization("acme", "Acme", User.objects.create_user("alice"))
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create_user("olga", is_staff=True))
    return client


def _csrf(client: Client) -> str:
    page = client.get("/console/")
    assert page.status_code == 200 and b'id="operator-actions"' in page.content
    return str(page.cookies["csrftoken"].value)


def test_staff_drain_fail_and_undrain(staff: Client) -> None:
    token = _csrf(staff)
    page = staff.post(
        "/console/actions/device",
        {"target": TRAY, "action": "drain", "reason": "swap", "csrfmiddlewaretoken": token},
        follow=True,
    )
    assert b"drain: dojo/e0/c0/t0 (6 devices" in page.content
    assert set(Device.objects.filter(id__startswith=TRAY).values_list("status", flat=True)) == {
        "draining"
    }
    staff.post(
        "/console/actions/device",
        {"target": f"{TRAY}/r0c0", "action": "fail", "csrfmiddlewaretoken": token},
    )
    assert Device.objects.get(id=f"{TRAY}/r0c0").status == "failed"
    staff.post(
        "/console/actions/device",
        {"target": TRAY, "action": "undrain", "csrfmiddlewaretoken": token},
    )
    assert Device.objects.get(id=f"{TRAY}/r0c0").status == "free"
    page = staff.post(
        "/console/actions/device",
        {"target": "dojo/e9", "action": "drain", "csrfmiddlewaretoken": token},
        follow=True,
    )
    assert b"devices/dojo/e9 not found" in page.content


def test_staff_sets_a_quota_and_sees_it(staff: Client) -> None:
    token = _csrf(staff)
    staff.post(
        "/console/actions/quota",
        {
            "tenant": "acme",
            "pool": "dojo",
            "nominal": "4",
            "borrowing_limit": "",
            "lending_limit": "2",
            "cohort": "",
            "weight": "",
            "reason": "contract",
            "csrfmiddlewaretoken": token,
        },
    )
    q = TenantQuota.objects.get(organization__slug="acme", pool="dojo")
    assert (q.nominal, q.borrowing_limit, q.lending_limit, q.updated_by) == (
        4,
        None,
        2,
        "user:olga",
    )
    assert b'data-quota="acme/dojo"' in staff.get("/console/").content
    page = staff.post(
        "/console/actions/quota",
        {"tenant": "acme", "pool": "dojo", "nominal": "x", "csrfmiddlewaretoken": token},
        follow=True,
    )
    assert b"nominal: a whole number" in page.content


def test_job_action_on_a_missing_job_says_so(staff: Client) -> None:
    page = staff.post(
        "/console/actions/job",
        {"job_id": "nope", "action": "requeue", "csrfmiddlewaretoken": _csrf(staff)},
        follow=True,
    )
    assert b"jobs/nope not found" in page.content


def test_without_csrf_or_staff_nothing_changes(staff: Client) -> None:
    assert (
        staff.post("/console/actions/device", {"target": TRAY, "action": "drain"}).status_code
        == 403
    )
    outsider = Client()
    outsider.force_login(User.objects.create_user("mallory"))
    response = outsider.post("/console/actions/device", {"target": TRAY, "action": "fail"})
    assert response.status_code == 302 and "/login" in response["Location"]
    assert Client().post("/console/actions/quota", {"tenant": "acme"}).status_code == 302
    assert staff.get("/console/actions/device").status_code == 405
    assert not Device.objects.exclude(status="free").exists()
