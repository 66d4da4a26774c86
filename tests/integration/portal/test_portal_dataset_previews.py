"""A dataset's page shows a few sample images for image data, rendered on the server as PNGs
(every class's first sample, then the next ones; each scaled by its own range) and served only to the
dataset's organization; data that is not images has none."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.test import Client

from dojocloud.datasets import facade as datasets
from dojocloud.datasets.previews import pixels, png
from dojocloud.tenancy.services import create_organization, principal_for_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def storage(settings: Any, tmp_path: Path) -> None:
    settings.STORAGE_URL = (tmp_path / "storage").as_uri()
    settings.CACHE_DIR = tmp_path / "cache"


def decode_png(data: bytes) -> tuple[int, int, int, np.ndarray]:
    """(width, height, PNG color type, pixels) of an 8-bit unfiltered PNG, read by hand."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(tag + body) & 0xFFFFFFFF
        chunks[tag] = body
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert depth == 8
    channels = 3 if color == 2 else 1
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8)
    rows = raw.reshape(height, 1 + width * channels)
    assert (rows[:, 0] == 0).all()  # no filter
    return width, height, color, rows[:, 1:].reshape(height, width, channels).squeeze()


def test_png_round_trips_gray_and_rgb_pixels() -> None:
    gray = np.arange(12, dtype=np.float32).reshape(1, 3, 4)
    width, height, color, got = decode_png(png(pixels(gray)))
    assert (width, height, color) == (4, 3, 0)
    assert got.min() == 0 and got.max() == 255 and got[0, 1] == round(255 / 11)
    rgb = np.random.default_rng(0).random((3, 5, 2), dtype=np.float32)
    width, height, color, got = decode_png(png(pixels(rgb)))
    assert (width, height, color) == (2, 5, 2) and got.shape == (5, 2, 3)
    want = np.round((rgb - rgb.min()) / (rgb.max() - rgb.min()) * 255).astype(np.uint8)
    assert (got == np.transpose(want, (1, 2, 0))).all()


def upload(owner: User, org: str, dataset_id: str, x: np.ndarray, y: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, x=x, y=y)
    payload = buffer.getvalue()
    request = datasets.UploadRequest(
        dataset_id, datasets.NPZ, len(payload), hashlib.sha256(payload).hexdigest(), dataset_id
    )
    datasets.upload(principal_for_user(owner, org), request, [payload])


def test_image_samples_are_shown_to_the_organization_only() -> None:
    alice, bob = User.objects.create_user("alice"), User.objects.create_user("bob")
    create_organization("acme", "Acme", alice)
    create_organization("globex", "Globex", bob)
    rng = np.random.default_rng(2)
    x = rng.random((30, 8, 8), dtype=np.float32)  # [N, H, W]: one channel
    upload(alice, "acme", "digits", x, (np.arange(30) % 3).astype(np.int64))
    upload(alice, "acme", "table", rng.random((30, 5), dtype=np.float32), np.zeros(30, np.int64))
    client, other = Client(), Client()
    client.force_login(alice)
    other.force_login(bob)

    page = client.get("/datasets/digits/").content.decode()
    # Every class's first sample (0, 1, 2), then the next samples, eight in all.
    assert page.count('class="sample"') == 8
    assert "sample 2, class 2" in page and "sample 7, class 1" in page
    shown = client.get("/datasets/digits/preview/2.png")
    assert shown.status_code == 200 and shown["Content-Type"] == "image/png"
    _, _, _, got = decode_png(shown.content)
    assert (got == pixels(x[2])).all()
    assert client.get("/datasets/digits/preview/8.png").status_code == 404
    assert other.get("/datasets/digits/preview/0.png").status_code == 404  # globex's view
    assert 'class="sample"' not in client.get("/datasets/table/").content.decode()
    assert client.get("/datasets/table/preview/0.png").status_code == 404
