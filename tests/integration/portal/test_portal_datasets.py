"""The Datasets pages: upload through a plain multipart form (streamed into the datasets
facade in chunks of at most 1 MiB), bad files refused with a field error naming the problem
and nothing stored, the list and detail, delete refused while a job uses the dataset, and
another organization's dataset URLs 404."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dojo.specfile import parse_yaml
from dojocloud.audit.facade import AuditEvent
from dojocloud.datasets import facade as datasets
from dojocloud.datasets.models import Dataset, DatasetUpload
from dojocloud.jobs import services as jobs
from dojocloud.tenancy.services import principal_for_user
from tests.integration.portal.conftest import DIGITS_YAML

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def storage(settings: Any, tmp_path: Path) -> Path:
    root = tmp_path / "storage"
    settings.STORAGE_URL = root.as_uri()
    settings.CACHE_DIR = tmp_path / "cache"
    return root


def npz_bytes(n: int = 30, classes: int = 3, **arrays: np.ndarray) -> bytes:
    rng = np.random.default_rng(0)
    data = {
        "x": rng.normal(size=(n, 1, 4, 4)).astype(np.float32),
        "y": (np.arange(n) % classes).astype(np.int64),
    }
    data.update(arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **data)  # type: ignore[arg-type]
    return buffer.getvalue()


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_upload(client: Client, payload: bytes, dataset_id: str, **extra: str) -> Any:
    data: dict[str, Any] = {
        "file": SimpleUploadedFile("data.npz", payload),
        "dataset_id": dataset_id,
        "format": "npz",
        **extra,
    }
    return client.post("/datasets/upload/", data)


def stored(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def no_inline_script(html: str) -> None:
    assert not re.findall(r"<script(?![^>]*\bsrc=)", html), "inline <script> (CSP forbids it)"
    assert not re.findall(r"\son[a-z]+=", html), "inline event handler (CSP forbids it)"


def test_upload_list_and_detail(alice: User, storage: Path) -> None:
    client = signed_in(alice)
    payload = npz_bytes()
    response = post_upload(client, payload, "tiny-images", display_name="Tiny images")
    assert response.status_code == 302 and response["Location"] == "/datasets/tiny-images/"
    dataset = Dataset.objects.get(dataset_id="tiny-images")
    assert dataset.sha256 == hashlib.sha256(payload).hexdigest()
    assert len(stored(storage)) == 1 and not DatasetUpload.objects.filter(result=None).exists()

    page = client.get("/datasets/")
    html = page.content.decode()
    assert page.status_code == 200 and 'href="/datasets/tiny-images/"' in html
    row = re.search(r"<tr>\s*<td data-label=\"Name\">.*?</tr>", html, re.S)
    assert row is not None
    cells = [
        re.sub(r"<[^>]+>", " ", c).split() for c in re.findall(r"<td[^>]*>(.*?)</td>", row[0], re.S)
    ]
    assert cells[0][0] == "tiny-images" and cells[1] == ["npz"]
    assert cells[3] == ["30"] and cells[4] == ["3"]  # samples, classes
    assert 'enctype="multipart/form-data"' in html and "Datasets</a>" in html
    no_inline_script(html)

    detail = client.get("/datasets/tiny-images/").content.decode()
    assert dataset.sha256 in detail and "organizations/acme/datasets/tiny-images" in detail
    assert "[30, 1, 4, 4]" in detail and "[1, 4, 4]" in detail
    counts = re.findall(r'<td class="num mono">(\d+)</td><td class="num">(\d+)</td>', detail)
    assert counts == [("0", "10"), ("1", "10"), ("2", "10")]
    no_inline_script(detail)

    (row_audit,) = AuditEvent.objects.filter(action="dataset.created")
    assert row_audit.actor == "alice" and row_audit.source == "127.0.0.1"
    assert row_audit.target == "organizations/acme/datasets/tiny-images"


def test_the_file_is_streamed_in_chunks_of_at_most_a_mebibyte(
    alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    real = datasets.upload

    def spy(principal: Any, request: Any, chunks: Iterable[bytes], actor: Any = None) -> Any:
        def counted() -> Iterable[bytes]:
            for chunk in chunks:
                seen.append(len(chunk))
                yield chunk

        return real(principal, request, counted(), actor)

    monkeypatch.setattr(datasets, "upload", spy)
    x = np.random.default_rng(1).normal(size=(700, 1, 20, 20)).astype(np.float32)  # ~1.1 MB
    payload = npz_bytes(x=x, y=np.arange(700, dtype=np.int64) % 4)
    response = post_upload(signed_in(alice), payload, "big")
    assert response.status_code == 302, response.context and response.context["form"].errors
    assert len(seen) >= 2 and max(seen) <= datasets.MAX_CHUNK and sum(seen) == len(payload)
    assert Dataset.objects.get(dataset_id="big").summary["samples"] == 700


@pytest.mark.parametrize(
    ("payload", "dataset_id", "field", "words"),
    [
        (npz_bytes(y=np.zeros(29, np.int64)), "short-y", "file", "y"),
        (npz_bytes(x=np.zeros((30, 4), np.float64)), "f64", "file", "float32"),
        (b"not an npz at all", "junk", "file", "npz"),
        (npz_bytes(), "Bad_Id", "dataset_id", "a-z"),
    ],
)
def test_a_bad_upload_is_a_field_error_and_stores_nothing(
    alice: User, storage: Path, payload: bytes, dataset_id: str, field: str, words: str
) -> None:
    response = post_upload(signed_in(alice), payload, dataset_id)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and words in " ".join(errors[field]), errors
    html = response.content.decode()
    assert f'data-field="{field}"' in html
    assert not Dataset.objects.exists() and not DatasetUpload.objects.exists()
    assert stored(storage) == []


def test_an_existing_id_and_the_quota_are_field_errors(
    alice: User, settings: Any, storage: Path
) -> None:
    client = signed_in(alice)
    assert post_upload(client, npz_bytes(), "taken").status_code == 302
    again = post_upload(client, npz_bytes(n=12), "taken")
    assert again.status_code == 400
    assert "already exists" in " ".join(again.context["form"].errors["dataset_id"])
    settings.STORAGE_QUOTA_BYTES = Dataset.objects.get().size_bytes + 10
    over = post_upload(client, npz_bytes(), "over")
    assert over.status_code == 400
    assert "quota" in " ".join(over.context["form"].errors["file"])
    assert Dataset.objects.count() == 1 and len(stored(storage)) == 1


def _upload_as(user: User, dataset_id: str = "used") -> Dataset:
    payload = npz_bytes()
    request = datasets.UploadRequest(
        dataset_id, datasets.NPZ, len(payload), hashlib.sha256(payload).hexdigest(), dataset_id
    )
    return datasets.upload(principal_for_user(user), request, [payload])


def test_delete_is_refused_while_a_job_uses_it(alice: User, storage: Path) -> None:
    dataset = _upload_as(alice)
    spec = parse_yaml(DIGITS_YAML)
    spec.dataset.name = dataset.resource_name
    job = jobs.create_job(principal_for_user(alice), spec)
    client = signed_in(alice)
    detail = client.get("/datasets/used/").content.decode()
    assert f'href="/jobs/{job.id}/"' in detail

    refused = client.post("/datasets/used/delete/", follow=True)
    assert refused.redirect_chain[-1][0] == "/datasets/used/"
    text = refused.content.decode()
    assert "Not deleted" in text and job.resource_name in text
    assert Dataset.objects.filter(uid=dataset.uid).exists() and len(stored(storage)) == 1

    jobs.cancel_job(principal_for_user(alice), job.id, reason="done with it")
    deleted = client.post("/datasets/used/delete/")
    assert deleted.status_code == 302 and deleted["Location"] == "/datasets/"
    assert not Dataset.objects.exists() and stored(storage) == []
    assert client.get("/datasets/used/").status_code == 404
    assert AuditEvent.objects.filter(action="dataset.deleted", source="127.0.0.1").count() == 1
    # The job keeps its history on the detail of a dataset that is gone: the job page.
    assert client.get(f"/jobs/{job.id}/").status_code == 200


def test_another_organizations_dataset_is_404(alice: User, bob: User) -> None:
    _upload_as(alice, "secret")
    client = signed_in(bob)
    assert client.get("/datasets/secret/").status_code == 404
    assert client.post("/datasets/secret/delete/").status_code == 404
    assert "secret" not in client.get("/datasets/").content.decode()
    assert client.get("/datasets/NOT_AN_ID/").status_code == 404
    assert Dataset.objects.filter(dataset_id="secret").exists()


def test_a_viewer_reads_but_cannot_upload_or_delete(alice: User, victor: User) -> None:
    _upload_as(alice, "shared")
    client = signed_in(victor)
    listing = client.get("/datasets/").content.decode()
    assert "shared" in listing and "multipart/form-data" not in listing
    detail = client.get("/datasets/shared/").content.decode()
    assert "/datasets/shared/delete/" not in detail
    assert post_upload(client, npz_bytes(), "mine").status_code == 403
    assert client.post("/datasets/shared/delete/").status_code == 403
    assert Dataset.objects.filter(dataset_id="shared").exists()
    assert not Dataset.objects.filter(dataset_id="mine").exists()
