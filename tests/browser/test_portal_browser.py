"""A customer's path through the portal in Chromium: log in, submit from the form (and see a
field error), find the job in the list, watch its loss chart fill live, cancel it."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from dojo.specfile import load
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job, JobEvent
from dojocloud.tenancy import services as tenancy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = "/tmp/dojo-portal"


@pytest.fixture
def customer(transactional_db: None) -> User:
    user = User.objects.create_user("carol", "carol@example.com", "s3cret-pass")
    tenancy.create_organization("initech", "Initech", user)
    return user


def log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/jobs/")
    expect(page).to_have_url(re.compile(r"/login/\?next="))
    page.fill("#id_username", "carol")
    page.fill("#id_password", "s3cret-pass")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/jobs/$"))


def test_submit_list_detail_cancel(page: Page, live_server, customer: User) -> None:
    base = live_server.url
    log_in(page, base)
    page.click("text=Submit your first job")
    expect(page.locator("h1")).to_have_text("New training job")

    page.fill("#id_name", "browser-job")
    page.fill("#id_learning_rate", "-1")
    page.click("button:text('Submit job')")
    error = page.locator("#field-learning_rate .field-error")
    expect(error).to_contain_text("greater than 0")
    expect(page.locator("#id_name")).to_have_value("browser-job")  # input kept
    page.screenshot(path=f"{SHOTS}-form-error.png", full_page=True)

    page.fill("#id_learning_rate", "0.003")
    page.click("button:text('Submit job')")
    expect(page.locator("h1")).to_contain_text("browser-job")
    expect(page.locator("h1 .badge")).to_have_text("QUEUED")
    job = Job.objects.get(name="browser-job")

    page.click("nav >> text=Jobs")
    row = page.locator("table.jobs tbody tr", has_text="browser-job")
    expect(row.locator(".badge")).to_have_text("QUEUED")
    page.screenshot(path=f"{SHOTS}-list.png", full_page=True)

    row.locator("a.job-name").click()
    expect(page).to_have_url(re.compile(rf"/jobs/{job.id}/$"))
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:text('Cancel job')")
    expect(page.locator("h1 .badge")).to_have_text("CANCELLED")
    expect(page.locator("ol.timeline")).to_contain_text("cancelled from the portal by carol")
    page.screenshot(path=f"{SHOTS}-cancelled.png", full_page=True)
    assert Job.objects.get(id=job.id).state == "CANCELLED"


def test_loss_chart_follows_a_running_job(page: Page, live_server, customer: User) -> None:
    spec = load(Path(__file__).resolve().parents[2] / "examples" / "digits-mlp.yaml")
    job = jobs.create_job(tenancy.principal_for_user(customer), spec)
    # What the scheduler and a worker would write: the job runs, metrics arrive.
    Job.objects.filter(id=job.id).update(state="RUNNING", current_step=20)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/jobs/{job.id}/")
    expect(page.locator("#chart-empty")).to_be_visible()
    for step, loss in [(10, 2.3), (20, 1.9), (30, 1.4), (40, 1.1)]:
        JobEvent.objects.create(
            job=job,
            kind="metric",
            data={
                "step": step,
                "loss": loss,
                "accuracy": 0.2 + step / 100,
                "samples_per_second": 900.0,
                "device_seconds": step * 0.001,
                "wall_seconds": step * 0.05,
            },
        )
    Job.objects.filter(id=job.id).update(current_step=40, latest_metrics={"step": 40, "loss": 1.1})
    # Polled from here: wait_for_function evaluates its string in the page, which the CSP
    # (no 'unsafe-eval') refuses; page.evaluate runs through the debugger protocol.
    deadline = time.monotonic() + 10
    while page.evaluate("Chart.getChart('loss-chart').data.datasets[0].data.length") != 4:
        assert time.monotonic() < deadline, "the chart did not get its 4 points"
        page.wait_for_timeout(100)
    expect(page.locator("#chart-empty")).to_be_hidden()
    expect(page.locator('[data-live="step"]')).to_have_text("40")
    expect(page.locator('[data-live="loss"]')).to_have_text("1.1000")
    page.screenshot(path=f"{SHOTS}-chart.png", full_page=True)


def test_api_key_shown_once_then_only_its_prefix(page: Page, live_server, customer: User) -> None:
    log_in(page, live_server.url)
    page.click("nav >> text=API keys")
    page.fill("#id_name", "laptop")
    page.click("button:text('Create key')")
    raw = page.locator("#raw-key").input_value()
    assert raw.startswith("dojo_")
    page.screenshot(path=f"{SHOTS}-keys.png", full_page=True)
    page.reload()
    expect(page.locator("#raw-key")).to_have_count(0)
    assert raw not in page.content()
    row = page.locator("tr", has_text="laptop")
    expect(row).to_contain_text(raw.split("_")[1])
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("button:text('Revoke')").click()
    expect(page.locator("tr", has_text="laptop")).to_contain_text("revoked")


def test_yaml_tab_estimate_and_submit(page: Page, live_server, customer: User) -> None:
    digits = (Path(__file__).resolve().parents[2] / "examples" / "digits-mlp.yaml").read_text()
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/jobs/new/?mode=yaml")
    page.fill("#id_spec_yaml", digits.replace("batch_size: 64", "batch_size: 0"))
    # htmx posts the form (with the CSRF header) and swaps in the estimate fragment.
    page.click("button:text('Estimate time and cost')")
    expect(page.locator("#estimate-result")).to_contain_text("training.batch_size")
    page.screenshot(path=f"{SHOTS}-yaml.png", full_page=True)
    page.fill("#id_spec_yaml", digits)
    page.click("button:text('Estimate time and cost')")
    # Memory per device beside time and cost, of what one device has. The web process's
    # first estimate traces the model cold (about 10 s on a loaded 2-core machine).
    expect(page.locator("#estimate-result")).to_contain_text("Memory per device", timeout=60_000)
    expect(page.locator("#estimate-result td.memory").first).to_contain_text("of 109 GiB")
    page.screenshot(path=f"{SHOTS}-estimate-memory.png", full_page=True)
    page.fill("#id_spec_yaml", digits.replace("name: digits-mlp", "name: from-yaml"))
    page.click("button:text('Submit job')")
    expect(page.locator("h1")).to_contain_text("from-yaml")
    assert Job.objects.get(name="from-yaml").state == "QUEUED"
