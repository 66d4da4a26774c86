"""Chromium at a laptop's width (1366 px) and a phone's (390 px): the job form shows every
bad field on one render and only the chosen architecture's parameters; the job page's
running time advances on its own; the header and job table fit a phone without sideways
scrolling; an operator cancels a tenant's job from the console with a reason."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from dojo.specfile import parse_yaml
from dojocloud.common.inventory import inventory
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job
from dojocloud.scheduling.capacity import hold, sync_inventory
from dojocloud.tenancy import services as tenancy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = "/tmp/dojo-forms"
PASSWORD = "s3cret-pass"
SPEC = """
name: {name}
model: {{architecture: mlp, params: {{hidden: 8, layers: 1}}}}
dataset: {{name: digits}}
training: {{steps: 6, batch_size: 8, optimizer: adam, learning_rate: 0.01, precision: fp32,
           checkpoint_interval: 2, seed: 1}}
resources: {{accelerators: [dojo-tile], count: 1}}
"""


@pytest.fixture
def customer(transactional_db: None) -> User:
    user = User.objects.create_user("carol", "carol@example.com", PASSWORD)
    tenancy.create_organization("initech", "Initech Laboratories", user)
    return user


@pytest.fixture(params=[1366, 390], ids=["1366px", "390px"])
def sized(request, browser, _warm_imports) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    width = request.param
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    refused: list[str] = []
    page.on(
        "console",
        lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.width = width  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        context.close()
    assert not refused, f"the Content-Security-Policy refused: {refused}"


def _submit(user: User, name: str) -> Job:
    return jobs.create_job(tenancy.principal_for_user(user), parse_yaml(SPEC.format(name=name)))


def log_in(page: Page, base: str, username: str = "carol") -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/jobs/$"))


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def test_six_bad_fields_six_errors_on_one_render(sized: Page, live_server, customer) -> None:
    page = sized
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/jobs/new/")
    # Only the chosen architecture's parameters show; switching shows the other's.
    expect(page.locator('[data-arch-fields="mlp"]')).to_be_visible()
    expect(page.locator('[data-arch-fields="gpt"]')).to_be_hidden()
    page.select_option("#id_architecture", "gpt")
    expect(page.locator('[data-arch-fields="gpt"]')).to_be_visible()
    expect(page.locator('[data-arch-fields="mlp"]')).to_be_hidden()
    page.select_option("#id_architecture", "mlp")

    page.fill("#id_name", "Bad Name!")
    page.fill("#id_steps", "0")
    page.fill("#id_batch_size", "0")
    page.fill("#id_learning_rate", "-1")
    page.locator("#field-accelerators input[type=checkbox]:checked").first.uncheck()
    page.fill("#id_count", "0")
    page.click("button:text('Submit job')")

    items = page.locator(".error-summary li")
    expect(items).to_have_count(6)
    shown = sorted(items.nth(i).get_attribute("data-violation") or "" for i in range(6))
    assert shown == sorted(
        [
            "name",
            "training.steps",
            "training.batch_size",
            "training.learning_rate",
            "resources.accelerators",
            "resources.count",
        ]
    )
    expect(page.locator(".field.has-error")).to_have_count(6)
    expect(page.locator("#id_name")).to_have_value("Bad Name!")  # input kept
    assert Job.objects.count() == 0
    _no_sideways_scroll(page)
    page.screenshot(path=f"{SHOTS}-six-errors-{page.width}.png", full_page=True)  # type: ignore[attr-defined]


def test_the_running_time_advances(sized: Page, live_server, customer) -> None:
    page = sized
    job = _submit(customer, "ticking")
    Job.objects.filter(id=job.id).update(
        state="RUNNING", started_at=timezone.now() - timedelta(seconds=3)
    )
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/jobs/{job.id}/")
    elapsed = page.locator('[data-live="elapsed"]')
    first = elapsed.inner_text()
    time.sleep(2.5)
    later = elapsed.inner_text()
    assert first != later, (first, later)
    assert _seconds(later) > _seconds(first)
    _no_sideways_scroll(page)


def _seconds(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)s|(\d+)m (\d+)s", text.strip())
    assert m is not None, text
    return float(m.group(1)) if m.group(1) else int(m.group(2)) * 60 + int(m.group(3))


def test_header_and_job_table_fit_the_width(sized: Page, live_server, customer) -> None:
    page = sized
    for i in range(3):
        _submit(customer, f"a-rather-long-job-name-number-{i}")
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/jobs/")
    expect(page.locator("table.jobs")).to_be_visible()
    _no_sideways_scroll(page)
    # Every nav link is on the screen (the header wraps rather than overflows).
    for link in page.locator(".topbar a").all():
        box = link.bounding_box()
        assert box is not None and box["x"] + box["width"] <= page.viewport_size["width"] + 1
    page.screenshot(path=f"{SHOTS}-jobs-{page.width}.png", full_page=True)  # type: ignore[attr-defined]
    for path in ("/reference/", "/profile/", "/jobs/new/"):
        page.goto(f"{live_server.url}{path}")
        _no_sideways_scroll(page)


def test_the_console_cancels_a_tenants_job(page: Page, live_server, customer) -> None:
    sync_inventory(inventory())
    job = _submit(customer, "runaway")
    assert hold(job.id, 1, [inventory().tiles[0].id])
    User.objects.create_user("olga", "olga@example.com", PASSWORD, is_staff=True)
    page.goto(f"{live_server.url}/admin/login/?next=/console/")
    page.fill("#id_username", "olga")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page).to_have_url(re.compile(r"/console/$"))
    expect(page.locator("#heatmap")).to_be_visible()
    form = page.locator("form[action$='/actions/job']")
    form.locator("input[name=job_id]").fill(job.id)
    form.locator("select[name=action]").select_option("cancel")
    form.locator("input[name=reason]").fill("holds a tile the tray's repair needs")
    form.locator("button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text(
        f"cancel: job {job.id} of initech is CANCELLED"
    )
    assert Job.objects.get(id=job.id).state == "CANCELLED"
    # The admin links back to the console.
    page.goto(f"{live_server.url}/admin/")
    page.click("a.console-link")
    expect(page).to_have_url(re.compile(r"/console/$"))
