"""The console's heat map over a whole ExaPOD and a thousand further GPU nodes: one cell per
tile and per node, coloured by state, by tenant and by allocated-but-idle (from the jobs'
heartbeats), the per-tenant usage table beside it, and a query count that does not grow with
the fleet. Plus the console ↔ admin links and the operator's cancel with a reason."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dojocloud.audit.models import AuditEvent
from dojocloud.common.inventory import inventory
from dojocloud.jobs.models import Job
from dojocloud.scheduling.capacity import hold, sync_inventory
from tests.support import fleet as big

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_request_limits")]


def _cells(page: str) -> dict[str, str]:
    """cell id -> its colour class on the map (a tray's first row also has `tray-start`)."""
    return {
        cell: css.split()[0]
        for css, cell in re.findall(r'<i class="hm ([^"]*)" data-cell="([^"]+)"', page)
    }


@pytest.fixture(scope="class")
def built_fleet(django_db_setup: None, django_db_blocker) -> Iterator[big.BigFleet]:  # type: ignore[no-untyped-def]
    """The big fleet, built once for the tests of a class in a transaction rolled back after
    them; each test runs in a savepoint inside it (pytest-django's `db`), so what a test
    writes is gone before the next one."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield big.build()
        transaction.set_rollback(True)


@pytest.fixture
def fleet(built_fleet: big.BigFleet, db: None) -> big.BigFleet:
    """The shared fleet with its computing jobs' heartbeats fresh as of this test, as a fleet
    built for the test has them (idle is older than two heartbeat intervals)."""
    beat = timezone.now()
    Job.objects.filter(id__in=built_fleet.computing_jobs).update(heartbeat_at=beat)
    return built_fleet


class TestBigFleet:
    """The heat map's tests on one big fleet, built once (a build costs seconds)."""

    def test_the_whole_exapod_and_1000_nodes_are_cells(
        self, client_for, operator, fleet: big.BigFleet
    ) -> None:
        page = client_for(operator).get("/console/").content.decode()
        cells = _cells(page)
        tiles = [c for c in cells if c.startswith("dojo/")]
        nodes = [c for c in cells if not c.startswith("dojo/")]
        assert len(tiles) == 120 == fleet.tiles
        assert len(nodes) == fleet.gpu_nodes >= 1000
        assert page.count('class="hm-cabinet"') == 10
        # The per-device cards give way to the map on a fleet this size.
        assert 'class="gpu ' not in page and 'class="tile ' not in page
        assert cells["gpu-v100/n0"] == "full"  # acme's first job holds its 8 GPUs
        assert cells["gpu-v100/n998"] == "free" and cells["gpu-v100/n999"] == "failed"

    def test_by_tenant_and_by_idle(self, client_for, operator, fleet: big.BigFleet) -> None:
        client = client_for(operator)
        by_tenant = _cells(client.get("/console/?map=tenant").content.decode())
        # acme's jobs come first (n0-n159), then globex's, then initech's: a colour each.
        assert by_tenant["gpu-v100/n0"] == "t0"
        assert by_tenant["gpu-v100/n160"] == "t1" and by_tenant["gpu-v100/n320"] == "t2"
        assert by_tenant["gpu-v100/n998"] == "free"
        by_idle = _cells(client.get("/console/?map=idle").content.decode())
        # Job 0 of each tenant computes (fresh heartbeat), job 1 is idle (none for 10 minutes).
        assert by_idle["gpu-v100/n0"] == "computing" and by_idle["gpu-v100/n8"] == "idle"
        assert by_idle["gpu-v100/n998"] == "free"
        idle_nodes = [c for c, css in by_idle.items() if css == "idle" and c.startswith("gpu-v100")]
        idle_tiles = [c for c, css in by_idle.items() if css == "idle" and c.startswith("dojo/")]
        assert (len(idle_nodes), len(idle_tiles)) == (
            len(fleet.idle_jobs) * 8,
            len(fleet.idle_jobs),
        )

    def test_the_tenant_table_beside_the_map(
        self, client_for, operator, fleet: big.BigFleet
    ) -> None:
        page = client_for(operator).get("/console/").content.decode()
        for tenant in big.TENANTS:
            row = re.search(rf'<tr data-tenant="{tenant}">(.*?)</tr>', page, re.S)
            assert row is not None, tenant
            cells = [
                re.sub(r"<[^>]+>", "", c).strip()
                for c in re.findall(r"<td>(.*?)</td>", row.group(1))
            ]
            # tenant, tiles, GPUs, idle devices, placed jobs, queued, accel.-s
            assert cells[1:6] == ["20", str(20 * 64), str(10 * 65), "20", "0"], (tenant, cells)


def test_the_page_costs_the_same_queries_for_a_big_fleet(client_for, operator) -> None:
    client = client_for(operator)
    sync_inventory(inventory())
    with CaptureQueriesContext(connection) as small:
        assert client.get("/console/").status_code == 200
    big.build()
    with CaptureQueriesContext(connection) as large:
        assert client.get("/console/?map=idle").status_code == 200
    assert len(large) <= len(small) + 2, [q["sql"][:120] for q in large.captured_queries]
    assert len(large) < 25


def test_small_fleets_keep_their_device_cards(client_for, operator) -> None:
    sync_inventory(inventory())
    page = client_for(operator).get("/console/").content.decode()
    assert page.count('class="tile ') == len(inventory().tiles)
    assert len(_cells(page)) == len(inventory().tiles) + len(inventory().gpu_nodes)


def test_admin_and_console_link_each_other(client_for, operator) -> None:
    client = client_for(operator)
    admin_page = client.get("/admin/").content.decode()
    assert 'class="console-link" href="/console/"' in admin_page
    assert 'href="/admin/"' in client.get("/console/").content.decode()


def test_the_console_cancels_a_tenants_job_with_a_reason(
    client_for, operator, alice, submit, alice_client: Client
) -> None:
    sync_inventory(inventory())
    job = submit(alice, "to-cancel")
    assert hold(job.id, 1, [inventory().tiles[0].id])
    client = client_for(operator)
    refused = client.post(
        "/console/actions/job", {"job_id": job.id, "action": "cancel", "reason": " "}, follow=True
    )
    assert "say why: the tenant reads it" in refused.content.decode()
    assert Job.objects.get(id=job.id).state != "CANCELLED"

    page = client.post(
        "/console/actions/job",
        {"job_id": job.id, "action": "cancel", "reason": "runaway job on a shared tray"},
        follow=True,
    ).content.decode()
    assert f"cancel: job {job.id} of acme is CANCELLED" in page
    assert Job.objects.get(id=job.id).state == "CANCELLED"
    row = AuditEvent.objects.get(action="job.cancelled_by_operator")
    assert (row.org_slug, row.actor) == ("acme", "ops")
    assert row.after == {"state": "CANCELLED", "reason": "runaway job on a shared tray"}
    # The tenant reads the reason in the job's events (not who the operator was).
    tenant_page = alice_client.get(f"/jobs/{job.id}/").content.decode()
    assert "cancelled by the Dojo Cloud operators: runaway job on a shared tray" in tenant_page
    again = client.post(
        "/console/actions/job", {"job_id": job.id, "action": "cancel", "reason": "x"}, follow=True
    )
    assert "already CANCELLED" in again.content.decode()


def test_cancel_of_an_unknown_job_is_not_found(client_for, operator) -> None:
    page = client_for(operator).post(
        "/console/actions/job", {"job_id": "nope", "action": "cancel", "reason": "x"}, follow=True
    )
    assert "jobs/nope not found" in page.content.decode()
