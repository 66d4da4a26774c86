"""moto's standalone S3 server on a free loopback port (a real S3-protocol server over
HTTP, the one these machines offer), and pointing the platform's settings at a bucket on it."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

REGION, ACCESS_KEY, SECRET_KEY = "us-east-1", "test", "test-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_server() -> Iterator[str]:
    """Yields the endpoint URL of a moto S3 server running for the block."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def use_bucket(settings: Any, endpoint: str) -> str:
    """A fresh bucket on `endpoint`; the platform's settings point at it. Returns its URL."""
    import boto3

    bucket = f"b-{os.urandom(4).hex()}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    ).create_bucket(Bucket=bucket)
    settings.STORAGE_URL = f"s3://{bucket}/dojo"
    settings.AWS_ENDPOINT_URL = endpoint
    settings.AWS_REGION = REGION
    settings.AWS_ACCESS_KEY_ID = ACCESS_KEY
    settings.AWS_SECRET_ACCESS_KEY = SECRET_KEY
    return str(settings.STORAGE_URL)
