"""What a model needs to know about a dataset, without loading it."""

from __future__ import annotations

from dataclasses import dataclass

CLASSIFICATION = "classification"
LANGUAGE_MODEL = "language_model"


@dataclass(frozen=True)
class DataInfo:
    name: str
    task: str  # CLASSIFICATION | LANGUAGE_MODEL
    input_shape: tuple[int, ...]  # one sample: (F,), (C, H, W), (T,) or (frames, C, H, W)
    num_classes: int  # classes, or vocabulary size for a language model
    train_size: int  # samples (or windows) in the training split
    eval_size: int


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    description: str
    task: str
    architectures: tuple[str, ...]  # catalog architectures this data suits
    needs_uri: bool = False


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
            "customer arrays: an .npz file with x (samples first) and integer labels y",
            CLASSIFICATION,
            ("mlp", "cnn", "vit"),
            needs_uri=True,
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
