"""What a model needs to know about a dataset, without loading it."""

from __future__ import annotations

from dataclasses import dataclass

from dojo_runtime.config import REGRESSION_TASK

CLASSIFICATION = "classification"
LANGUAGE_MODEL = "language_model"
REGRESSION = REGRESSION_TASK
# The registry entry of uploaded arrays whose y holds float targets (see data.kind_of).
NPZ_TARGETS = "npz-targets"


@dataclass(frozen=True)
class DataInfo:
    name: str
    task: str  # CLASSIFICATION | REGRESSION | LANGUAGE_MODEL
    input_shape: tuple[int, ...]  # one sample: (F,), (C, H, W), (T,) or (frames, C, H, W)
    num_classes: int  # classes, vocabulary size for a language model, targets' width k
    train_size: int  # samples (or windows) in the training split
    eval_size: int


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    description: str
    task: str
    architectures: tuple[str, ...]  # catalog architectures this data suits
    customer: bool = False  # a kind of uploaded data, never a name a job spec gives


# The registry: names are what job specs put in dataset.name.
DATASETS: dict[str, DatasetEntry] = {
    entry.name: entry
    for entry in (
        DatasetEntry(
            "digits",
            "8x8 handwritten digits, 10 classes (scikit-learn's copy of the UCI set)",
            CLASSIFICATION,
            ("mlp", "cnn", "vit"),
        ),
        DatasetEntry(
            "tiny-shakespeare",
            "byte-level text of Shakespeare's Coriolanus, act 1 (public domain)",
            LANGUAGE_MODEL,
            ("gpt",),
        ),
        DatasetEntry(
            "npz",
            "uploaded arrays: an .npz file with x (float32, samples first) and y (int64 labels)",
            CLASSIFICATION,
            ("mlp", "cnn", "vit"),
            customer=True,
        ),
        DatasetEntry(
            NPZ_TARGETS,
            "uploaded arrays with float32 targets y ([N] or [N, k]): regression, trained by "
            "an uploaded ONNX model with model.task: regression",
            REGRESSION,
            (),
            customer=True,
        ),
        DatasetEntry(
            "text",
            "an uploaded UTF-8 text corpus, read as bytes",
            LANGUAGE_MODEL,
            ("gpt",),
            customer=True,
        ),
        DatasetEntry(
            "synthetic-images",
            "seeded 1x16x16 class templates plus noise, 10 classes (benchmarks)",
            CLASSIFICATION,
            ("mlp", "cnn", "vit"),
        ),
        DatasetEntry(
            "synthetic-text",
            "seeded byte sequences from a random order-1 Markov source (benchmarks)",
            LANGUAGE_MODEL,
            ("gpt",),
        ),
        DatasetEntry(
            "synthetic-video",
            "seeded 8-frame 1x16x16 clips of a moving square; class = direction (4)",
            CLASSIFICATION,
            ("video",),
        ),
    )
}
# What a job spec's dataset.name may say besides an uploaded dataset's resource name.
BUILT_IN: tuple[str, ...] = tuple(sorted(n for n, e in DATASETS.items() if not e.customer))
