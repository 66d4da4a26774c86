"""Customer arrays: an .npz file with `x` (samples first) and integer labels `y`.

Edge module: it reads the file. Every problem is a ValueError that names `dataset.uri`
and says what to fix.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from dojo_runtime.data.sources import Arrays, split

FIELD = "dataset.uri"
MAX_CLASSES = 10_000


class NpzError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(f"{FIELD}: {message}")
        self.field = FIELD


def sample_shape(x_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Per-sample shape as the models see it: (F,), or images as (C, H, W)."""
    rest = tuple(x_shape[1:])
    return (1, *rest) if len(rest) == 2 else rest


def peek(uri: str) -> tuple[tuple[int, ...], int]:
    """(x's shape, number of classes), reading labels and only the header of x."""
    with _open(uri) as arrays:
        x_shape = _header_shape(uri, "x")
        y = _labels(arrays, x_shape[0])
    return x_shape, int(y.max()) + 1


def load(uri: str) -> Arrays:
    with _open(uri) as arrays:
        x = arrays["x"]
        y = _labels(arrays, x.shape[0] if x.ndim else 0)
        _check_x(x)
        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    if not torch.isfinite(xt).all():
        raise NpzError("x contains NaN or infinite values")
    xt = xt.reshape(len(xt), *sample_shape(tuple(xt.shape)))
    return split(xt, torch.from_numpy(y.astype(np.int64)))


def _open(uri: str) -> np.lib.npyio.NpzFile:
    if not uri:
        raise NpzError("dataset npz needs a uri: the path of an .npz file")
    path = Path(uri)
    try:
        found = path.is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        found = False
    if not found:
        raise NpzError(f"no such file: {uri[:200]}")
    try:
        arrays = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise NpzError(f"not a readable .npz file ({exc})") from exc
    if not isinstance(arrays, np.lib.npyio.NpzFile):
        raise NpzError("a single .npy array; save x and y together with numpy.savez")
    missing = {"x", "y"} - set(arrays.files)
    if missing:
        arrays.close()
        raise NpzError(f"missing array(s) {sorted(missing)}; the file has {sorted(arrays.files)}")
    return arrays


def _header_shape(uri: str, key: str) -> tuple[int, ...]:
    with zipfile.ZipFile(uri) as zf, zf.open(f"{key}.npy") as f:
        major, _ = np.lib.format.read_magic(f)
        read_header = (
            np.lib.format.read_array_header_1_0
            if major == 1
            else np.lib.format.read_array_header_2_0
        )
        shape, _, _ = read_header(f)
    if len(shape) < 2 or len(shape) > 4:
        raise NpzError(f"x has shape {shape}; expected (N, F), (N, H, W) or (N, C, H, W)")
    return tuple(int(s) for s in shape)


def _labels(arrays: np.lib.npyio.NpzFile, n: int) -> np.ndarray:
    y = arrays["y"]
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise NpzError(f"y must be a 1-D integer array of labels, got {y.dtype} {y.shape}")
    if len(y) != n:
        raise NpzError(f"x has {n} samples but y has {len(y)} labels")
    if len(y) < 2:
        raise NpzError("need at least 2 samples (one is held out for evaluation)")
    if y.min() < 0 or y.max() >= MAX_CLASSES:
        raise NpzError(f"labels must be in 0..{MAX_CLASSES - 1}, got {y.min()}..{y.max()}")
    return y


def _check_x(x: np.ndarray) -> None:
    if x.ndim < 2 or x.ndim > 4:
        raise NpzError(f"x has shape {x.shape}; expected (N, F), (N, H, W) or (N, C, H, W)")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise NpzError(f"x must be numeric, got dtype {x.dtype}")
