"""Datasets: the registry, cheap descriptions for shape planning, and seeded loaders.

info = describe("digits")                         # shapes and sizes, no loading
ds = load(config, seq_len=64)                     # a Dataset with seeded batching
x, y = ds.next_batch(); ds.position()             # position goes into checkpoints
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from dojo_runtime.config import TrainConfig
from dojo_runtime.data import npz, sources
from dojo_runtime.data.batching import Batch, Dataset
from dojo_runtime.data.info import CLASSIFICATION, DATASETS, LANGUAGE_MODEL, DataInfo, DatasetEntry

__all__ = [
    "CLASSIFICATION",
    "DATASETS",
    "LANGUAGE_MODEL",
    "Batch",
    "DataInfo",
    "Dataset",
    "DatasetEntry",
    "describe",
    "load",
]

_IMAGE_SETS: dict[str, tuple[Callable[[], sources.Arrays], int, tuple[int, ...], int]] = {
    # name: (loader, samples, sample shape, classes)
    "digits": (sources.digits, sources.DIGITS_SAMPLES, (1, 8, 8), 10),
    "synthetic-images": (
        sources.synthetic_images,
        sources.SYNTHETIC_IMAGE_SAMPLES,
        (1, 16, 16),
        10,
    ),
    "synthetic-video": (
        sources.synthetic_video,
        sources.SYNTHETIC_VIDEO_SAMPLES,
        (sources.VIDEO_FRAMES, 1, sources.VIDEO_SIDE, sources.VIDEO_SIDE),
        sources.VIDEO_CLASSES,
    ),
}
_TEXT_SETS: dict[str, tuple[Callable[[], torch.Tensor], Callable[[], int]]] = {
    "tiny-shakespeare": (sources.corpus_tokens, sources.corpus_bytes),
    "synthetic-text": (sources.synthetic_tokens, lambda: sources.SYNTHETIC_TEXT_BYTES),
}


def describe(name: str, uri: str = "", *, seq_len: int = 64) -> DataInfo:
    """Shapes and sizes of a dataset without loading it (npz: reads headers and labels).

    seq_len is the window of a language-model dataset (the model's context).
    """
    if name in _IMAGE_SETS:
        _, n, shape, classes = _IMAGE_SETS[name]
        k = sources.eval_count(n)
        return DataInfo(name, CLASSIFICATION, shape, classes, n - k, k)
    if name in _TEXT_SETS:
        n = _TEXT_SETS[name][1]()
        return _text_info(name, n, seq_len)
    if name == "npz":
        x_shape, classes = npz.peek(uri)
        k = sources.eval_count(x_shape[0])
        return DataInfo(name, CLASSIFICATION, npz.sample_shape(x_shape), classes, x_shape[0] - k, k)
    raise ValueError(f"dataset.name: unknown dataset {name!r}; choose one of {sorted(DATASETS)}")


def load(config: TrainConfig, *, seq_len: int = 64) -> Dataset:
    """Load (or generate) the dataset of a job and batch it with the job's seed."""
    info = describe(config.dataset, config.dataset_uri, seq_len=seq_len)
    if info.task == LANGUAGE_MODEL:
        if info.eval_size < 1 or info.train_size < 1:
            raise ValueError(
                f"model.params.context: a window of {seq_len} bytes is too long for "
                f"dataset {info.name}"
            )
        tokens = _TEXT_SETS[config.dataset][0]()
        train_tokens, eval_tokens = sources.text_split(tokens)
        empty = torch.empty(0, dtype=torch.long)
        train: Batch = (train_tokens, empty)
        held_out: Batch = (eval_tokens, empty)
    else:
        arrays = (
            npz.load(config.dataset_uri)
            if config.dataset == "npz"
            else _IMAGE_SETS[config.dataset][0]()
        )
        train, held_out = (arrays.train_x, arrays.train_y), (arrays.eval_x, arrays.eval_y)
    return Dataset(info, train, held_out, seed=config.seed, batch_size=config.batch_size)


def _text_info(name: str, n_bytes: int, seq_len: int) -> DataInfo:
    k = sources.text_eval_count(n_bytes)
    train_windows = max(0, (n_bytes - k) - seq_len)
    eval_windows = (k - 1) // seq_len
    return DataInfo(
        name, LANGUAGE_MODEL, (seq_len,), sources.BYTE_VOCAB, train_windows, eval_windows
    )
