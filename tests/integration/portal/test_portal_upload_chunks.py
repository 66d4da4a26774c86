"""The portal's resumable chunk endpoints (upload.js drives them): chunks of an upload go in
at the server's offset and the last one makes the dataset; a chunk at another offset is 409
with the offset to resume from; a bad file is 400 naming the form's field, with nothing
stored; an upload is another organization's to see not at all (404)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from dojocloud.datasets.models import Dataset, DatasetUpload
from dojocloud.tenancy.services import create_organization
from tests.integration.portal.test_portal_datasets import npz_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def storage(settings: Any, tmp_path: Path) -> None:
    settings.STORAGE_URL = (tmp_path / "storage").as_uri()
    settings.CACHE_DIR = tmp_path / "cache"


def member(username: str, org: str) -> Client:
    user = User.objects.create_user(username)
    create_organization(org, org.title(), user)
    client = Client()
    client.force_login(user)
    return client


def send(client: Client, payload: bytes, offset: int, end: int, **extra: str) -> Any:
    query = {
        "upload_id": "web-1",
        "offset": str(offset),
        "id": "chunked",
        "format": "npz",
        "size": str(len(payload)),
        "sha256": hashlib.sha256(payload).hexdigest(),
        **extra,
    }
    path = "/datasets/upload/chunk/?" + "&".join(f"{k}={v}" for k, v in query.items())
    return client.post(path, payload[offset:end], content_type="application/octet-stream")


def test_chunks_resume_at_the_servers_offset_and_the_last_makes_the_dataset() -> None:
    alice = member("alice", "acme")
    payload = npz_bytes(n=200)
    half = len(payload) // 2
    first = send(alice, payload, 0, half)
    assert first.status_code == 200 and first.json() == {"committed": half}
    status = alice.get("/datasets/upload/status/?upload_id=web-1")
    assert status.json() == {"committed": half, "size": len(payload)}
    # Another organization's member: the upload does not exist for them.
    bob = member("bob", "globex")
    assert bob.get("/datasets/upload/status/?upload_id=web-1").status_code == 404
    again = send(alice, payload, 0, half)  # the first chunk again (a lost answer)
    assert again.status_code == 409 and again.json()["committed"] == half
    last = send(alice, payload, half, len(payload))
    assert last.status_code == 200
    assert last.json() == {"done": True, "committed": len(payload), "url": "/datasets/chunked/"}
    assert Dataset.objects.get(dataset_id="chunked").sha256 == hashlib.sha256(payload).hexdigest()


def test_a_bad_file_is_refused_naming_the_field_and_nothing_is_stored() -> None:
    alice = member("alice", "acme")
    payload = b"not an npz at all"
    refused = send(alice, payload, 0, len(payload))
    assert refused.status_code == 400
    (error,) = refused.json()["errors"]
    assert error["field"] == "file" and "not an .npz file" in error["message"]
    assert not Dataset.objects.exists() and not DatasetUpload.objects.exists()
    taken = send(alice, payload, 0, len(payload), id="Bad_Id")
    assert taken.json()["errors"][0]["field"] == "dataset_id"
