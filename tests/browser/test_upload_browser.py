"""Chromium on the Datasets and Models pages: a file dropped on the upload form goes up in
chunks of at most 1 MiB with a progress bar that reaches the end, and the dataset (the
model) is listed; an upload whose connection drops after the first chunk resumes, after a
reload, from the offset the server holds (the first chunk is not sent again)."""

from __future__ import annotations

import base64
import hashlib
import io
import re
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from django.contrib.auth.models import User
from playwright.sync_api import Page, Route, expect

from dojocloud.datasets.models import Dataset, OnnxModel
from dojocloud.tenancy import services as tenancy
from tests.support.onnx_models import MLP, export

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "s3cret-pass"
MIB = 1024 * 1024
# Records the progress bar at each status change, in sessionStorage: it outlives the
# navigation to the dataset's page that ends an upload.
WATCH = """() => {
  const bar = document.querySelector('[data-upload-progress] progress');
  const text = document.querySelector('[data-upload-status]');
  new MutationObserver(() => {
    const seen = JSON.parse(sessionStorage.getItem('seen') || '[]');
    seen.push([bar.value, bar.max, text.textContent]);
    sessionStorage.setItem('seen', JSON.stringify(seen));
  }).observe(text, {childList: true, characterData: true, subtree: true});
}"""
DROP = """([b64, name]) => {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const dt = new DataTransfer();
  dt.items.add(new File([bytes], name, {type: 'application/octet-stream'}));
  return dt;
}"""


@pytest.fixture
def customer(transactional_db: None) -> User:
    user = User.objects.create_user("carol", "carol@example.com", PASSWORD)
    tenancy.create_organization("initech", "Initech Laboratories", user)
    return user


def images_npz() -> bytes:
    """About 2.4 MiB: three chunks."""
    rng = np.random.default_rng(1)
    buffer = io.BytesIO()
    np.savez(
        buffer,
        x=rng.random((800, 1, 28, 28), dtype=np.float32),
        y=(np.arange(800) % 10).astype(np.int64),
    )
    return buffer.getvalue()


def log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", "carol")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/jobs/$"))


def drop(page: Page, payload: bytes, name: str) -> None:
    files = page.evaluate_handle(DROP, [base64.b64encode(payload).decode(), name])
    page.dispatch_event("form[data-upload]", "drop", {"dataTransfer": files})
    expect(page.locator("[data-dropzone]")).to_contain_text(name)


def offsets(page: Page, *, fail_after_first: bool = False) -> Iterator[int]:
    """Each chunk request's offset as it is sent; with fail_after_first, every chunk past
    the first is dropped as a broken connection would drop it."""
    seen: list[int] = []

    def handle(route: Route) -> None:
        offset = int(re.search(r"[?&]offset=(\d+)", route.request.url)[1])  # type: ignore[index]
        seen.append(offset)
        if fail_after_first and offset > 0:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(re.compile(r"/upload/chunk/"), handle)
    return seen  # type: ignore[return-value]


def seen_progress(page: Page) -> list[tuple[float, float, str]]:
    return [tuple(s) for s in page.evaluate("JSON.parse(sessionStorage.getItem('seen') || '[]')")]


def test_a_dropped_file_uploads_in_chunks_with_progress_and_is_listed(
    live_server, page: Page, customer: User
) -> None:
    base = live_server.url
    log_in(page, base)
    page.goto(f"{base}/datasets/")
    page.evaluate(WATCH)
    payload = images_npz()
    drop(page, payload, "images.npz")
    page.fill("#id_dataset_id", "images")
    sent = offsets(page)
    with page.expect_navigation(url=re.compile(r"/datasets/images/$")):
        page.click("form[data-upload] button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Dataset images uploaded.")
    assert sent == [0, MIB, 2 * MIB]  # chunks of 1 MiB, each sent once
    progress = seen_progress(page)
    assert any("Uploaded 1.00 MiB of" in text for _, _, text in progress)
    value, top, _ = progress[-1]
    assert value == top == len(payload)  # the bar reached its end
    stored = Dataset.objects.get(dataset_id="images")
    assert stored.sha256 == hashlib.sha256(payload).hexdigest()
    page.goto(f"{base}/datasets/")
    expect(page.locator("table.jobs")).to_contain_text("images")

    # Models: the same form, one chunk.
    page.goto(f"{base}/models/")
    torch.manual_seed(0)
    onnx_bytes = export(MLP(), torch.randn(2, 1, 8, 8))
    drop(page, onnx_bytes, "mlp.onnx")
    page.fill("#id_model_id", "mlp")
    with page.expect_navigation(url=re.compile(r"/models/mlp/$")):
        page.click("form[data-upload] button[type=submit]")
    assert OnnxModel.objects.get(model_id="mlp").sha256 == hashlib.sha256(onnx_bytes).hexdigest()
    page.goto(f"{base}/models/")
    expect(page.locator("table.jobs")).to_contain_text("mlp")


def test_an_interrupted_upload_resumes_from_the_servers_offset_after_a_reload(
    live_server, page: Page, customer: User
) -> None:
    base = live_server.url
    log_in(page, base)
    page.goto(f"{base}/datasets/")
    payload = images_npz()
    drop(page, payload, "images.npz")
    page.fill("#id_dataset_id", "resumed")
    first = offsets(page, fail_after_first=True)
    page.click("form[data-upload] button[type=submit]")
    status = page.locator("[data-upload-status]")
    expect(status).to_contain_text("Upload interrupted at 1.00 MiB", timeout=20_000)
    assert first[0] == 0 and set(first[1:]) == {MIB}  # retried from the server's offset
    assert not Dataset.objects.filter(dataset_id="resumed").exists()

    page.unroute(re.compile(r"/upload/chunk/"))
    page.reload()
    page.evaluate(WATCH)
    drop(page, payload, "images.npz")
    page.fill("#id_dataset_id", "resumed")
    sent = offsets(page)
    with page.expect_navigation(url=re.compile(r"/datasets/resumed/$")):
        page.click("form[data-upload] button[type=submit]")
    assert sent == [MIB, 2 * MIB]  # the first chunk was not sent again
    assert any("Resuming from 1.00 MiB" in text for _, _, text in seen_progress(page))
    stored = Dataset.objects.get(dataset_id="resumed")
    assert stored.sha256 == hashlib.sha256(payload).hexdigest()
