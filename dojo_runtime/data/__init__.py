"""Datasets: the registry, cheap descriptions for shape planning, and seeded loaders.

info = describe("digits")                         # shapes and sizes, no loading
ds = load(config, seq_len=64)                     # a Dataset with seeded batching
ds = load(config, seq_len=64, payload=blob)       # an uploaded dataset: its bytes, parsed here
x, y = ds.next_batch(); ds.position()             # position goes into checkpoints
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import torch

from dojo_runtime.config import CustomData, TrainConfig
from dojo_runtime.data import npz, sources, text
from dojo_runtime.data.batching import Batch, Dataset
from dojo_runtime.data.info import (
    BUILT_IN,
    CLASSIFICATION,
    DATASETS,
    LANGUAGE_MODEL,
    NPZ_TARGETS,
    REGRESSION,
    DataInfo,
    DatasetEntry,
)

# Decoded arrays may be at most this many times the uploaded bytes (a compressed .npz).
MAX_EXPANSION = 64

__all__ = [
    "BUILT_IN",
    "CLASSIFICATION",
    "DATASETS",
    "LANGUAGE_MODEL",
    "REGRESSION",
    "Batch",
    "CustomData",
    "DataInfo",
    "Dataset",
    "DatasetEntry",
    "describe",
    "kind_of",
    "load",
    "meta_kind",
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


def kind_of(config: TrainConfig) -> str:
    """The registry entry a config's data is judged by: a built-in name, or the uploaded
    data's kind ("npz", "npz-targets" for float targets, "text")."""
    meta = config.dataset_meta
    return config.dataset if meta is None else meta_kind(meta)


def meta_kind(meta: CustomData) -> str:
    """The registry entry of uploaded data: "npz", "npz-targets" (float y) or "text"."""
    return NPZ_TARGETS if meta.kind == "npz" and meta.targets else meta.kind


def describe(name: str, meta: CustomData | None = None, *, seq_len: int = 64) -> DataInfo:
    """Shapes and sizes of a dataset without loading it (uploaded data: from `meta`).

    seq_len is the window of a language-model dataset (the model's context).
    """
    if meta is not None:
        if meta.kind == "text":
            return _text_info(name, meta.size, seq_len)
        k = sources.eval_count(meta.size)
        task = REGRESSION if meta.targets else CLASSIFICATION
        return DataInfo(name, task, meta.sample_shape, meta.num_classes, meta.size - k, k)
    if name in _IMAGE_SETS:
        _, n, shape, classes = _IMAGE_SETS[name]
        k = sources.eval_count(n)
        return DataInfo(name, CLASSIFICATION, shape, classes, n - k, k)
    if name in _TEXT_SETS:
        n = _TEXT_SETS[name][1]()
        return _text_info(name, n, seq_len)
    raise ValueError(f"dataset.name: unknown dataset {name!r}; choose one of {list(BUILT_IN)}")


def load(config: TrainConfig, *, seq_len: int = 64, payload: bytes | None = None) -> Dataset:
    """Load (or generate) the dataset of a job and batch it with the job's seed. An uploaded
    dataset (config.dataset_meta) is parsed from `payload`, its file's bytes."""
    meta = config.dataset_meta
    info = describe(config.dataset, meta, seq_len=seq_len)
    if meta is not None:
        _check_payload(meta, payload)
    assert payload is not None or meta is None
    if info.task == LANGUAGE_MODEL:
        if info.eval_size < 1 or info.train_size < 1:
            raise ValueError(
                f"model.params.context: a window of {seq_len} bytes is too long for "
                f"dataset {info.name}"
            )
        tokens = text.tokens(payload) if payload is not None else _TEXT_SETS[config.dataset][0]()
        train_tokens, eval_tokens = sources.text_split(tokens)
        empty = torch.empty(0, dtype=torch.long)
        train: Batch = (train_tokens, empty)
        held_out: Batch = (eval_tokens, empty)
    else:
        arrays = (
            npz.load(payload, max_decoded_bytes=len(payload) * MAX_EXPANSION)
            if payload is not None
            else _IMAGE_SETS[config.dataset][0]()
        )
        train, held_out = (arrays.train_x, arrays.train_y), (arrays.eval_x, arrays.eval_y)
    return Dataset(info, train, held_out, seed=config.seed, batch_size=config.batch_size)


def _check_payload(meta: CustomData, payload: bytes | None) -> None:
    if payload is None:
        raise ValueError("dataset.name: an uploaded dataset needs its bytes to load")
    if hashlib.sha256(payload).hexdigest() != meta.sha256:
        raise ValueError("dataset.name: the dataset's bytes do not match its sha256")


def _text_info(name: str, n_bytes: int, seq_len: int) -> DataInfo:
    k = sources.text_eval_count(n_bytes)
    train_windows = max(0, (n_bytes - k) - seq_len)
    eval_windows = (k - 1) // seq_len
    return DataInfo(
        name, LANGUAGE_MODEL, (seq_len,), sources.BYTE_VOCAB, train_windows, eval_windows
    )
