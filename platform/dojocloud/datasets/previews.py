"""Sample images of an uploaded image dataset (x of shape [N, C, H, W] with C 1 or 3, or
[N, H, W]), rendered on the server as PNGs for the dataset's page.

Only numbers are read from the file: the .npz is parsed by the runtime's validating reader
(allow_pickle=False, headers checked first), each sample is scaled to 0-255 by its own
range, and the PNG is written here with zlib (a grayscale or RGB image, no dependency).
Samples: the first of each class (up to PREVIEW_COUNT), else the first samples. Rendered
previews are kept per sha256 in a small in-process cache."""

from __future__ import annotations

import functools
import struct
import zlib
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from dojo_runtime.data import npz
from dojocloud.datasets.models import NPZ, Dataset
from dojocloud.datasets.services import ResolvedDataset, fetch, runtime_meta

PREVIEW_COUNT = 8
MAX_SIDE = 256  # larger images are subsampled to about this many pixels a side
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Preview:
    index: int  # the sample's index in x
    caption: str  # "sample 12, class 3" or "sample 12"
    png: bytes


def is_image_data(dataset: Dataset) -> bool:
    shape = dataset.summary.get("sample_shape", [])
    return dataset.format == NPZ and len(shape) == 3 and shape[0] in (1, 3)


def previews(dataset: Dataset) -> list[Preview]:
    """The dataset's sample images ([] for data that is not images)."""
    if not is_image_data(dataset):
        return []
    resolved = ResolvedDataset(dataset.resource_name, runtime_meta(dataset), dataset.storage_key)
    return list(_rendered(dataset.sha256, resolved))


@functools.lru_cache(maxsize=16)
def _rendered(sha256: str, resolved: ResolvedDataset) -> tuple[Preview, ...]:
    x, y = npz.arrays(fetch(resolved), max_decoded_bytes=int(settings.DATASET_MAX_BYTES))
    labels = y.dtype.kind == "i"
    out = []
    for i in _chosen(y if labels else None, len(x)):
        caption = f"sample {i}, class {int(y[i])}" if labels else f"sample {i}"
        out.append(Preview(int(i), caption, png(pixels(x[i]))))
    return tuple(out)


def _chosen(labels: np.ndarray | None, n: int) -> list[int]:
    if labels is None:
        return list(range(min(PREVIEW_COUNT, n)))
    _, first = np.unique(labels, return_index=True)  # the first sample of each class
    chosen = sorted(int(i) for i in first[:PREVIEW_COUNT])
    extra = [i for i in range(n) if i not in set(chosen)][: PREVIEW_COUNT - len(chosen)]
    return sorted(chosen + extra)


def pixels(sample: np.ndarray) -> np.ndarray:
    """One sample ((C, H, W) or (H, W)) as uint8 (H, W) or (H, W, 3), scaled by its range."""
    image = sample if sample.ndim == 2 else sample[0] if sample.shape[0] == 1 else sample
    if image.ndim == 3:
        image = np.transpose(image, (1, 2, 0))
    step = max(1, -(-max(image.shape[:2]) // MAX_SIDE))
    image = image[::step, ::step].astype(np.float64)
    lo, hi = float(image.min()), float(image.max())
    scaled = (image - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(image)
    return np.ascontiguousarray(np.round(scaled).astype(np.uint8))


def png(image: np.ndarray) -> bytes:
    """A PNG of uint8 pixels: (H, W) grayscale or (H, W, 3) RGB, 8 bits, no filtering."""
    height, width = image.shape[:2]
    color = 2 if image.ndim == 3 else 0
    rows = b"".join(b"\x00" + image[r].tobytes() for r in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, 9))
        + _chunk(b"IEND", b"")
    )


def _chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)
