"""Object storage for the bytes a job reads or writes: datasets, models, checkpoints,
artifacts, logs. Nothing assumes a shared disk: the API, the portal and every worker reach
the same store through `blob_store()`.

`DOJO_STORAGE_URL` picks the backend: `file:///path` (a folder; the default is
`DOJO_DATA_DIR/storage`) or `s3://bucket/prefix` (boto3; endpoint, region and credentials
from the standard AWS variables, each also as NAME_FILE, read by settings.py).

Keys are slash-separated, relative, and chosen by the platform, never by a customer:
`orgs/{org_id}/datasets/{dataset_uuid}/data`, `orgs/{org_id}/uploads/{upload_uuid}/part-…`,
`orgs/{org_id}/jobs/{job_id}/checkpoints/…`, `orgs/{org_id}/jobs/{job_id}/artifacts/…`.
Writes are atomic: a reader sees a whole object or none.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import urlsplit

from django.conf import settings

READ_CHUNK = 1024 * 1024


class StorageError(RuntimeError):
    """The store failed (unreachable, refused, misconfigured): an operator's problem."""


class BadKey(ValueError):
    pass


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int


Source = IO[bytes] | Iterable[bytes] | bytes


class BlobStore(Protocol):
    """What every backend offers. `put` takes a stream (a file object or an iterable of
    chunks) and returns the bytes written; large objects go up in parts where the backend
    has them (S3 multipart)."""

    url: str

    def put(self, key: str, source: Source) -> int: ...

    def get(self, key: str) -> Iterator[bytes]:
        """The object's bytes in chunks; FileNotFoundError when it does not exist."""
        ...

    def stat(self, key: str) -> BlobInfo | None: ...

    def delete(self, key: str) -> None:
        """Removes the object; a missing one is not an error."""
        ...

    def list(self, prefix: str) -> Iterator[BlobInfo]:
        """Every object whose key starts with `prefix`, in key order."""
        ...


def check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise BadKey(f"bad storage key {key!r}")
    return key


def read_all(store: BlobStore, key: str) -> bytes:
    return b"".join(store.get(key))


def _chunks(source: Source) -> Iterator[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        yield bytes(source)
    elif hasattr(source, "read"):
        while chunk := source.read(READ_CHUNK):  # type: ignore[union-attr]
            yield chunk
    else:
        yield from source  # type: ignore[misc]


class FileStore:
    """Objects as files under a root folder; a write goes to a temporary file first and is
    renamed into place (atomic on one file system)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = root.as_uri()
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, source: Source) -> int:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        written = 0
        try:
            with open(tmp, "wb") as f:
                for chunk in _chunks(source):
                    f.write(chunk)
                    written += len(chunk)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return written

    def get(self, key: str) -> Iterator[bytes]:
        f = open(self._path(key), "rb")  # noqa: SIM115 (raises FileNotFoundError here)

        def chunks() -> Iterator[bytes]:
            with f:
                while chunk := f.read(READ_CHUNK):
                    yield chunk

        return chunks()

    def stat(self, key: str) -> BlobInfo | None:
        path = self._path(key)
        return BlobInfo(key, path.stat().st_size) if path.is_file() else None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str) -> Iterator[BlobInfo]:
        found = []
        for path in self.root.rglob("*"):
            key = path.relative_to(self.root).as_posix()
            if path.is_file() and key.startswith(prefix) and not path.name.startswith("."):
                found.append(BlobInfo(key, path.stat().st_size))
        yield from sorted(found, key=lambda b: b.key)


@dataclass(frozen=True, repr=False)
class S3Options:
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None

    def __repr__(self) -> str:  # never the secret
        return f"S3Options(endpoint_url={self.endpoint_url!r}, region={self.region!r})"


class S3Store:
    """Objects in an S3 bucket (or any S3-protocol server) under a prefix. `put` streams
    through boto3's managed transfer, which switches to a multipart upload past 8 MiB."""

    def __init__(self, bucket: str, prefix: str, options: S3Options) -> None:
        import boto3  # only where S3 is configured

        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}"
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=options.endpoint_url or None,
            region_name=options.region or None,
            aws_access_key_id=options.access_key_id or None,
            aws_secret_access_key=options.secret_access_key or None,
        )

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, source: Source) -> int:
        with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
            for chunk in _chunks(source):
                spool.write(chunk)
            size = spool.tell()
            spool.seek(0)
            self._call(self._client.upload_fileobj, spool, self.bucket, self._key(key))
        return size

    def get(self, key: str) -> Iterator[bytes]:
        from botocore.exceptions import ClientError

        try:
            body = self._client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from None
            raise StorageError(f"S3 get {key}: {exc}") from None
        return iter(lambda: body.read(READ_CHUNK), b"")

    def stat(self, key: str) -> BlobInfo | None:
        from botocore.exceptions import ClientError

        try:
            head = self._client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise StorageError(f"S3 stat {key}: {exc}") from None
        return BlobInfo(key, int(head["ContentLength"]))

    def delete(self, key: str) -> None:
        self._call(self._client.delete_object, Bucket=self.bucket, Key=self._key(key))

    def list(self, prefix: str) -> Iterator[BlobInfo]:
        if prefix.startswith("/") or ".." in prefix.split("/"):
            raise BadKey(f"bad storage prefix {prefix!r}")
        full = f"{self.prefix}/{prefix}" if self.prefix else prefix
        cut = len(self.prefix) + 1 if self.prefix else 0
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=full
        )
        for page in pages:
            for item in page.get("Contents", []):
                yield BlobInfo(item["Key"][cut:], int(item["Size"]))

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return method(*args, **kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"S3 {method.__name__}: {exc}") from None


def open_store(url: str, s3: S3Options | None = None) -> BlobStore:
    """The store a `DOJO_STORAGE_URL` names."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return FileStore(Path(parts.path))
    if parts.scheme == "s3" and parts.netloc:
        return S3Store(parts.netloc, parts.path, s3 or S3Options())
    raise StorageError(f"DOJO_STORAGE_URL must be file:///path or s3://bucket/prefix, got {url!r}")


@functools.cache
def _cached(url: str, s3: S3Options) -> BlobStore:
    return open_store(url, s3)


def blob_store() -> BlobStore:
    """The configured store (one per process and configuration)."""
    s3 = S3Options(
        endpoint_url=settings.AWS_ENDPOINT_URL or None,
        region=settings.AWS_REGION or None,
        access_key_id=settings.AWS_ACCESS_KEY_ID or None,
        secret_access_key=settings.AWS_SECRET_ACCESS_KEY or None,
    )
    return _cached(settings.STORAGE_URL, s3)


def fetch_cached(store: BlobStore, key: str, sha256: str, cache_dir: Path) -> Path:
    """A local copy of the object at `key`, in `cache_dir` under its sha256 (fetched once per
    machine, checked against the digest before it is used)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / sha256
    if path.is_file():
        return path
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".fetch-")
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in store.get(key):
                digest.update(chunk)
                f.write(chunk)
        if digest.hexdigest() != sha256:
            raise StorageError(f"{key}: stored bytes do not match their sha256")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
