"""The Billing pages and the Webhooks page in Chromium, under the Content-Security-Policy:
this month's spend and its per-day chart, the invoice list, an invoice page and its CSV
(whose rows add up to the invoice's total); then a webhook endpoint added (its secret shown
once), a test event sent to a real receiver that verifies its signature, and the delivery
read back on the endpoint's page."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from dojocloud.billing.facade import UsageRecord, month_of
from dojocloud.tenancy import facade as tenancy
from tests.support.ledger_rows import make_jobs, orm_rows
from tests.support.web_server import WebServer, gunicorn_web
from tests.support.webhook_receiver import receiving

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = "/tmp/dojo-billing"


@pytest.fixture
def customer(transactional_db: None) -> User:
    user = User.objects.create_user("carol", "carol@example.com", "s3cret-pass")
    org = tenancy.create_organization("initech", "Initech", user)
    orm_rows(org, make_jobs(org, 3, "train"), 4, month_of(timezone.now()))
    return user


@pytest.fixture
def live_server(transactional_db: None, redis_url: str, tmp_path: Path) -> Iterator[WebServer]:
    """The web under gunicorn, with loopback http endpoints allowed and its queued tasks run
    in the web process (no worker here takes the webhooks queue)."""
    env = {"DOJO_WEBHOOK_ALLOW_LOOPBACK_HTTP": "1", "DOJO_TEST_EAGER_TASKS": "1"}
    with gunicorn_web(tmp_path, REDIS_URL=redis_url, **env) as server:
        yield server


def log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/billing/")
    expect(page).to_have_url(re.compile(r"/login/\?next="))
    page.fill("#id_username", "carol")
    page.fill("#id_password", "s3cret-pass")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/billing/$"))


def test_spend_chart_invoice_and_csv(page: Page, live_server, customer: User) -> None:
    base = live_server.url
    log_in(page, base)
    expect(page.locator("h1")).to_contain_text("Billing")
    spend = page.locator(".cards .card").first.locator(".big")
    expect(spend).to_have_text(re.compile(r"^\$\d+\.\d\d$"))
    spent = spend.text_content()
    assert page.locator("svg.chart rect").count() >= 1  # the per-day bars, drawn on the server
    expect(page.locator("table.jobs").first).to_contain_text("train-")
    page.screenshot(path=f"{SHOTS}-overview.png", full_page=True)

    page.click("a.button:text('Invoices')")
    expect(page.locator("h1")).to_have_text("Invoices")
    page.locator("table.jobs tbody tr a").first.click()
    expect(page.locator("h1")).to_have_text("Invoice draft")
    lines = page.locator("table.lines tbody tr")
    expect(lines).to_have_count(6)  # three jobs on two pools
    csv_link = page.locator("a:text('Download CSV')")
    response = page.request.get(base + str(csv_link.get_attribute("href")))
    assert response.ok and "text/csv" in response.headers["content-type"]
    rows = list(csv.reader(io.StringIO(response.text())))
    total = Decimal(rows[-1][-1])
    assert sum(Decimal(r[-1]) for r in rows[1:-1]) == total > 0
    assert spent == f"${total}"  # the page's spend is the invoice's total
    assert UsageRecord.objects.count() == 12
    page.screenshot(path=f"{SHOTS}-invoice.png", full_page=True)


def test_add_an_endpoint_and_send_a_test_event(page: Page, live_server, customer: User) -> None:
    base = live_server.url
    log_in(page, base)
    with receiving([200]) as receiver:
        page.click("nav a:text('Webhooks')")
        expect(page.locator("h1")).to_have_text("Webhooks")
        page.fill("#id_url", receiver.url)
        page.check("input[value='job.failed']")
        # Each POST answers with a page of its own: wait for it before reloading, or the
        # reload races the navigation ("Not attached to an active page").
        with page.expect_navigation():
            page.click("button:text('Add endpoint')")
        secret = page.locator("#webhook-secret").input_value()
        assert secret.startswith("whsec_")
        receiver.secret = secret
        page.goto(page.url)
        expect(page.locator("#webhook-secret")).to_have_count(0)  # shown once
        page.click("a:text('Deliveries')")
        with page.expect_navigation():
            page.click("button:text('Send test event')")
        (got,) = receiver.wait_for(1)
        assert got.verified, got.why
        page.goto(page.url)
        expect(page.locator("table.deliveries")).to_contain_text("HTTP 200")
        expect(page.locator("table.deliveries")).to_contain_text("succeeded")
        page.screenshot(path=f"{SHOTS}-webhook.png", full_page=True)
