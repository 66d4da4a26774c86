"""The BlobStore on both backends: a folder, and S3 through boto3 against moto's standalone
S3 server (a real S3-protocol server over HTTP, started here on a free port: these machines
offer no other), including a multipart upload and a dataset upload end to end on S3."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from dojocloud.common.storage import (
    BadKey,
    BlobStore,
    FileStore,
    S3Options,
    StorageError,
    fetch_cached,
    open_store,
    read_all,
)

BIG = os.urandom(9 * 1024 * 1024 + 123)  # past boto3's 8 MiB multipart threshold


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


S3 = S3Options(region="us-east-1", access_key_id="test", secret_access_key="test-secret")


def _s3(endpoint: str, bucket: str) -> BlobStore:
    import boto3

    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test-secret",
    ).create_bucket(Bucket=bucket)
    options = S3Options(endpoint, S3.region, S3.access_key_id, S3.secret_access_key)
    return open_store(f"s3://{bucket}/dojo", options)


@pytest.fixture(params=["file", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "file":
        return open_store((tmp_path / "store").as_uri())
    endpoint = request.getfixturevalue("s3_endpoint")
    return _s3(endpoint, f"b-{os.urandom(4).hex()}")


def test_put_get_stat_list_delete(store: BlobStore) -> None:
    assert store.put("orgs/1/datasets/a/data", b"hello") == 5
    assert store.put("orgs/1/datasets/b/data", iter([b"wor", b"ld"])) == 5
    assert store.put("orgs/2/datasets/c/data", b"x") == 1
    assert read_all(store, "orgs/1/datasets/a/data") == b"hello"
    assert store.stat("orgs/1/datasets/b/data").size == 5  # type: ignore[union-attr]
    assert store.stat("orgs/1/missing") is None
    assert [b.key for b in store.list("orgs/1/")] == [
        "orgs/1/datasets/a/data",
        "orgs/1/datasets/b/data",
    ]
    store.delete("orgs/1/datasets/a/data")
    store.delete("orgs/1/datasets/a/data")  # twice: not an error
    with pytest.raises(FileNotFoundError):
        store.get("orgs/1/datasets/a/data")
    assert [b.key for b in store.list("orgs/")] == [
        "orgs/1/datasets/b/data",
        "orgs/2/datasets/c/data",
    ]


def test_a_large_object_streams_in_parts(store: BlobStore, tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    src.write_bytes(BIG)
    with open(src, "rb") as f:
        assert store.put("jobs/j1/checkpoints/1", f) == len(BIG)
    assert (
        hashlib.sha256(read_all(store, "jobs/j1/checkpoints/1")).digest()
        == hashlib.sha256(BIG).digest()
    )
    digest = hashlib.sha256(BIG).hexdigest()
    cached = fetch_cached(store, "jobs/j1/checkpoints/1", digest, tmp_path / "cache")
    assert cached.name == digest and cached.read_bytes() == BIG
    with pytest.raises(StorageError, match="sha256"):
        fetch_cached(store, "jobs/j1/checkpoints/1", "0" * 64, tmp_path / "cache")
    assert not (tmp_path / "cache" / ("0" * 64)).exists()


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", "./a"])
def test_keys_cannot_escape(store: BlobStore, key: str) -> None:
    with pytest.raises(BadKey):
        store.put(key, b"x")


def test_file_writes_are_atomic(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "s")

    def failing() -> Iterator[bytes]:
        yield b"part"
        raise OSError("disk went away")

    with pytest.raises(OSError):
        store.put("a/b", failing())
    assert store.stat("a/b") is None and list(store.list("")) == []


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(StorageError, match="DOJO_STORAGE_URL"):
        open_store("ftp://host/x")


@pytest.mark.django_db(transaction=True)
def test_a_dataset_upload_lands_in_s3_end_to_end(
    s3_endpoint: str, settings: object, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    import io

    import boto3
    import numpy as np

    from dojocloud.datasets import facade as datasets
    from tests.support.people import make_people

    boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test-secret",
    ).create_bucket(Bucket="e2e")
    settings.STORAGE_URL = "s3://e2e/dojo"  # type: ignore[attr-defined]
    settings.AWS_ENDPOINT_URL = s3_endpoint  # type: ignore[attr-defined]
    settings.AWS_REGION = "us-east-1"  # type: ignore[attr-defined]
    settings.AWS_ACCESS_KEY_ID = "test"  # type: ignore[attr-defined]
    settings.AWS_SECRET_ACCESS_KEY = "test-secret"  # type: ignore[attr-defined]
    settings.CACHE_DIR = cache  # type: ignore[attr-defined]
    people = make_people()
    buffer = io.BytesIO()
    np.savez(buffer, x=np.ones((10, 4), np.float32), y=np.arange(10, dtype=np.int64) % 2)
    payload = buffer.getvalue()
    request = datasets.UploadRequest(
        "s3-data", datasets.NPZ, len(payload), hashlib.sha256(payload).hexdigest(), "s3up"
    )
    half = len(payload) // 2
    with pytest.raises(Exception, match="truncated"):
        datasets.upload(people.owner, request, [payload[:half]])
    resumed = datasets.UploadRequest(**{**vars(request), "offset": half})
    dataset = datasets.upload(people.owner, resumed, [payload[half:]])
    keys = [
        o["Key"]
        for o in boto3.client(
            "s3",
            endpoint_url=s3_endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test-secret",
        ).list_objects_v2(Bucket="e2e")["Contents"]
    ]
    assert keys == [f"dojo/{dataset.storage_key}"]  # the parts are gone
    resolved = datasets.resolve(people.acme, dataset.resource_name)
    assert datasets.fetch(resolved) == payload
