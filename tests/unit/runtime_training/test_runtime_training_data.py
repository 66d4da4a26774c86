"""Datasets: registry, seeded batching with a resumable position, customer .npz files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dojo_runtime.config import TrainConfig
from dojo_runtime.data import DATASETS, LANGUAGE_MODEL, describe, load, sources


def _config(dataset: str = "digits", **kw: object) -> TrainConfig:
    return TrainConfig("mlp", dataset=dataset, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", [n for n, e in DATASETS.items() if not e.needs_uri])
def test_builtin_dataset_batches_match_description(name: str) -> None:
    ds = load(_config(name, batch_size=8), seq_len=16)
    info = describe(name, seq_len=16)
    assert ds.info == info
    x, y = ds.next_batch()
    assert tuple(x.shape) == (8, *info.input_shape)
    if info.task == LANGUAGE_MODEL:
        assert y.shape == x.shape and int(y.max()) < info.num_classes
    else:
        assert y.shape == (8,) and int(y.min()) >= 0 and int(y.max()) < info.num_classes
    held_out = sum(len(b[1]) for b in ds.eval_batches(batch_size=7))
    assert held_out == info.eval_size


def test_corpus_is_real_text_shipped_in_the_package() -> None:
    text = sources.CORPUS_PATH.read_text(encoding="utf-8")
    assert sources.CORPUS_PATH.parent.name == "data"
    assert "Caius Marcius" in text and len(text) > 10_000


def test_language_model_target_is_input_shifted_by_one() -> None:
    ds = load(_config("tiny-shakespeare", batch_size=4), seq_len=12)
    x, y = ds.next_batch()
    assert torch.equal(x[:, 1:], y[:, :-1])


def test_same_seed_same_batches_other_seed_other_batches() -> None:
    a = load(_config(seed=3, batch_size=16))
    b = load(_config(seed=3, batch_size=16))
    c = load(_config(seed=4, batch_size=16))
    xa, xb, xc = a.next_batch()[0], b.next_batch()[0], c.next_batch()[0]
    assert torch.equal(xa, xb)
    assert not torch.equal(xa, xc)


def test_restored_position_replays_the_same_batches_across_epochs() -> None:
    ds = load(_config(batch_size=500))  # 1438 training samples: two batches an epoch
    for _ in range(3):
        ds.next_batch()
    position = ds.position()
    assert position["epoch"] == 1
    expected = [ds.next_batch()[1] for _ in range(4)]
    fresh = load(_config(batch_size=500))
    fresh.set_position(position)
    assert all(torch.equal(e, fresh.next_batch()[1]) for e in expected)


def test_epoch_visits_each_training_sample_once() -> None:
    ds = load(_config("synthetic-images", batch_size=512))  # 4096 = 8 full batches
    seen = torch.cat([ds.next_batch()[0].flatten(1) for _ in range(8)])
    assert torch.unique(seen, dim=0).shape[0] == 4096


def test_batch_larger_than_the_data_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"^training\.batch_size"):
        load(_config(batch_size=5000))


def test_synthetic_sets_are_identical_for_every_job() -> None:
    sources.synthetic_video.cache_clear()
    first = sources.synthetic_video().train_x
    sources.synthetic_video.cache_clear()
    assert torch.equal(first, sources.synthetic_video().train_x)


# -- customer .npz files ---------------------------------------------------------------------


def _save(path: Path, **arrays: np.ndarray) -> str:
    np.savez(path, **arrays)
    return str(path)


def test_npz_images_load_with_a_channel_axis(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    uri = _save(tmp_path / "a.npz", x=rng.random((50, 6, 6)), y=rng.integers(0, 3, 50))
    info = describe("npz", uri)
    assert info.input_shape == (1, 6, 6)
    assert info.train_size + info.eval_size == 50
    ds = load(TrainConfig("cnn", dataset="npz", dataset_uri=uri, batch_size=10))
    x, y = ds.next_batch()
    assert x.shape == (10, 1, 6, 6) and x.dtype == torch.float32 and y.dtype == torch.int64


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x": np.zeros((4, 3))}, "missing array"),
        ({"x": np.zeros((4, 3)), "y": np.zeros(5, dtype=int)}, "4 samples but y has 5"),
        ({"x": np.zeros((4, 3)), "y": np.zeros(4)}, "integer array of labels"),
        ({"x": np.zeros((4, 3)), "y": np.array([0, 1, -1, 0])}, "labels must be in"),
        ({"x": np.zeros(4), "y": np.zeros(4, dtype=int)}, "expected"),
        ({"x": np.full((4, 3), np.nan), "y": np.zeros(4, dtype=int)}, "NaN"),
    ],
)
def test_bad_npz_files_say_what_is_wrong(
    tmp_path: Path, arrays: dict[str, np.ndarray], message: str
) -> None:
    uri = _save(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=r"^dataset\.uri: .*" + message):
        load(TrainConfig("mlp", dataset="npz", dataset_uri=uri, batch_size=1))


def test_missing_and_non_npz_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such file"):
        describe("npz", str(tmp_path / "absent.npz"))
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"^dataset\.uri: not a readable"):
        describe("npz", str(junk))
