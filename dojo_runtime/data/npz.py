"""Uploaded arrays: an .npz file holding `x` (float32, samples first; images channels-first)
and `y`: int64 class labels `[N]`, or float32 regression targets `[N]` or `[N, k]`, parsed
from bytes the platform fetched. Which of the two `y` holds is recorded (`targets`), not
judged here: whether it suits the job's task is checked when a job names the data.

Pure: no file system, no network. Arrays are read with `allow_pickle=False` only, and every
header is checked before any array is read: an object array (pickled Python objects) is
refused, never unpickled. Every problem is an NpzError naming the key, dtype or shape.
"""

from __future__ import annotations

import io
import math
import zipfile
from dataclasses import dataclass

import numpy as np
import torch

from dojo_runtime.data.sources import Arrays, split

MAX_CLASSES = 10_000
KEYS = ("x", "y")
# (dtype kind, item size) each key may have: y holds int64 labels or float32 targets.
_DTYPES = {"x": {("f", 4)}, "y": {("i", 8), ("f", 4)}}
_WANT = {
    "x": "float32 (x.astype(numpy.float32))",
    "y": "int64 class labels (y.astype(numpy.int64)) or float32 regression targets "
    "(y.astype(numpy.float32))",
}


class NpzError(ValueError):
    """What is wrong with an uploaded .npz, naming the key, dtype or shape."""


@dataclass(frozen=True)
class NpzSummary:
    samples: int
    sample_shape: tuple[int, ...]  # as models see one sample: (F,) or (C, H, W)
    num_classes: int  # classes; for float targets, their width k (1 for y of shape [N])
    class_counts: tuple[int, ...]  # samples per label 0..num_classes-1; () for targets
    targets: int = 0  # width k of float32 targets (regression); 0: int64 class labels


def sample_shape(x_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Per-sample shape as the models see it: (F,), or images as (C, H, W)."""
    rest = tuple(x_shape[1:])
    return (1, *rest) if len(rest) == 2 else rest


def inspect(payload: bytes, *, max_decoded_bytes: int) -> NpzSummary:
    """Validates the whole file (headers first, then values) and summarises it."""
    x, y = _arrays(payload, max_decoded_bytes)
    shape = sample_shape(tuple(int(s) for s in x.shape))
    if y.dtype.kind == "f":
        k = target_width(tuple(int(s) for s in y.shape))
        return NpzSummary(int(x.shape[0]), shape, k, (), targets=k)
    counts = np.bincount(y, minlength=int(y.max()) + 1)
    return NpzSummary(
        samples=int(x.shape[0]),
        sample_shape=shape,
        num_classes=len(counts),
        class_counts=tuple(int(c) for c in counts),
    )


def target_width(y_shape: tuple[int, ...]) -> int:
    """k of float targets shaped [N] (1) or [N, k]."""
    return y_shape[1] if len(y_shape) == 2 else 1


def load(payload: bytes, *, max_decoded_bytes: int) -> Arrays:
    """The arrays as tensors, split into training and held-out samples; float targets
    as [N, k] float32 (k = 1 for y of shape [N])."""
    x, y = _arrays(payload, max_decoded_bytes)
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    xt = xt.reshape(len(xt), *sample_shape(tuple(xt.shape)))
    if y.dtype.kind == "f":
        yt = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))
        return split(xt, yt.reshape(len(yt), -1))
    return split(xt, torch.from_numpy(y.astype(np.int64)))


def arrays(payload: bytes, *, max_decoded_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    """x and y as validated numpy arrays, as uploaded (a preview reads samples from them)."""
    return _arrays(payload, max_decoded_bytes)


def _arrays(payload: bytes, max_decoded_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
    except zipfile.BadZipFile:
        raise NpzError("not an .npz file (a zip of .npy arrays, as numpy.savez writes)") from None
    with archive:
        names = {n.removesuffix(".npy"): n for n in archive.namelist()}
        missing = [k for k in KEYS if k not in names]
        if missing:
            raise NpzError(
                f"missing array(s) {missing}; the file has {sorted(names)} "
                "(save with numpy.savez(path, x=..., y=...))"
            )
        extra = sorted(set(names) - set(KEYS))
        if extra:
            raise NpzError(f"unexpected array(s) {extra}; only x and y are read")
        shapes = {k: _header(archive, names[k], k) for k in KEYS}
        _check_shapes(shapes["x"], shapes["y"], max_decoded_bytes)
        arrays = {k: _read(archive, names[k], k) for k in KEYS}
    x, y = arrays["x"], arrays["y"]
    if not np.isfinite(x).all():
        raise NpzError("x contains NaN or infinite values")
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise NpzError("y contains NaN or infinite values")
        return x, y
    if y.min() < 0 or y.max() >= MAX_CLASSES:
        raise NpzError(f"y: labels must be in 0..{MAX_CLASSES - 1}, got {y.min()}..{y.max()}")
    return x, y


def _header(archive: zipfile.ZipFile, member: str, key: str) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from the .npy header, with nothing of the data read."""
    try:
        with archive.open(member) as f:
            major, _ = np.lib.format.read_magic(f)
            read = (
                np.lib.format.read_array_header_1_0
                if major == 1
                else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read(f)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise NpzError(f"{key}: not a readable .npy array ({exc})") from None
    if dtype.hasobject:
        raise NpzError(
            f"{key}: an object array (pickled Python objects, dtype {dtype}); refused: only "
            "numeric arrays are read, never unpickled"
        )
    if (dtype.kind, dtype.itemsize) not in _DTYPES[key]:
        raise NpzError(f"{key}: dtype is {dtype}; expected {_WANT[key]}")
    return tuple(int(s) for s in shape), dtype


def _check_shapes(
    x: tuple[tuple[int, ...], np.dtype], y: tuple[tuple[int, ...], np.dtype], limit: int
) -> None:
    (xs, xd), (ys, yd) = x, y
    if not 2 <= len(xs) <= 4:
        raise NpzError(f"x: shape {xs}; expected (N, F), (N, H, W) or (N, C, H, W)")
    if len(xs) == 4 and xs[3] in (1, 3, 4) and xs[1] not in (1, 3, 4):
        raise NpzError(
            f"x: shape {xs} looks channels-last; images must be channels-first (N, C, H, W): "
            "x.transpose(0, 3, 1, 2)"
        )
    if yd.kind == "f" and len(ys) not in (1, 2):
        raise NpzError(f"y: shape {ys}; expected (N,) or (N, k), one target row per sample")
    if yd.kind != "f" and len(ys) != 1:
        raise NpzError(f"y: shape {ys}; expected (N,), one label per sample")
    if len(ys) == 2 and ys[1] < 1:
        raise NpzError(f"y: shape {ys}; a target row needs at least one value")
    if ys[0] != xs[0]:
        what = "targets" if yd.kind == "f" else "labels"
        raise NpzError(f"x has {xs[0]} samples but y has {ys[0]} {what}")
    if xs[0] < 2:
        raise NpzError("x: need at least 2 samples (one is held out for evaluation)")
    decoded = math.prod(xs) * xd.itemsize + math.prod(ys) * yd.itemsize
    if decoded > limit:
        raise NpzError(f"x and y decode to {decoded} bytes, over the limit of {limit}")


def _read(archive: zipfile.ZipFile, member: str, key: str) -> np.ndarray:
    try:
        with archive.open(member) as f:
            return np.lib.format.read_array(f, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise NpzError(f"{key}: cannot be read ({exc})") from None
