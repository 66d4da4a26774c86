"""The Billing page and the invoice build take a fixed number of queries whatever the number
of ledger rows (the work is GROUP BYs in the database), and the bulk row makers that the
benchmarks use write rows the ledger reads back as it reads its own."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dojocloud.billing.facade import UsageRecord, get_invoice, lines_of
from tests.support.ledger_rows import make_jobs, orm_rows, sql_rows
from tests.support.people import People

MONTH = date(2026, 11, 1)
NOW = datetime(2026, 11, 29, tzinfo=UTC)


def _page_queries(client: Client) -> tuple[int, bytes]:
    with CaptureQueriesContext(connection) as ctx:
        resp = client.get("/billing/", {"month": "2026-11"})
    assert resp.status_code == 200
    return len(ctx.captured_queries), resp.content


@pytest.mark.parametrize("make", [orm_rows, sql_rows])
def test_the_billing_pages_queries_do_not_grow_with_the_rows(people: People, make) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(people.owner.user)
    jobs = make_jobs(people.acme, 4)
    make(people.acme, jobs, 5, MONTH)
    _page_queries(client)  # the first view also makes the draft invoice and the session's rows
    few, page = _page_queries(client)
    assert b"bulk-0" in page  # the costliest jobs are listed
    UsageRecord.objects.all().delete()  # the same jobs, ten times the rows
    make(people.acme, jobs, 50, MONTH)
    many, _ = _page_queries(client)
    assert UsageRecord.objects.filter(organization=people.acme).count() == 200
    assert many == few, f"{few} queries with 20 rows, {many} with 200"


def test_bulk_rows_build_the_invoice_the_ledger_would(people: People) -> None:
    jobs = make_jobs(people.acme, 3)
    assert sql_rows(people.acme, jobs, 7, MONTH) == 21
    with CaptureQueriesContext(connection) as ctx:
        invoice = get_invoice(people.acme, MONTH, now=NOW)
    lines = lines_of(invoice)
    # One line per job and pool (two pools), whose quantities add up to every row's.
    assert len(lines) == 6
    assert sum(ln.quantity_micros for ln in lines) == 21 * 14_500_000
    assert invoice.total_cents == sum(ln.amount_cents for ln in lines) > 0
    assert len(ctx.captured_queries) < 20
