"""Datasets: registry, seeded batching with a resumable position, customer .npz files."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from dojo_runtime.config import TrainConfig
from dojo_runtime.data import DATASETS, LANGUAGE_MODEL, describe, load, npz, sources


def _config(dataset: str = "digits", **kw: object) -> TrainConfig:
    return TrainConfig("mlp", dataset=dataset, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", [n for n, e in DATASETS.items() if not e.customer])
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


# -- customer .npz bytes (uploaded datasets; the platform fetches, the runtime parses) -------


def _npz(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


LIMIT = 1 << 26


def test_npz_images_load_with_a_channel_axis() -> None:
    rng = np.random.default_rng(0)
    payload = _npz(
        x=rng.random((50, 6, 6)).astype(np.float32), y=rng.integers(0, 3, 50).astype(np.int64)
    )
    summary = npz.inspect(payload, max_decoded_bytes=LIMIT)
    assert summary.sample_shape == (1, 6, 6) and summary.samples == 50
    assert sum(summary.class_counts) == 50
    arrays = npz.load(payload, max_decoded_bytes=LIMIT)
    assert arrays.train_x.shape[1:] == (1, 6, 6) and arrays.train_x.dtype == torch.float32
    assert len(arrays.train_x) + len(arrays.eval_x) == 50


def _f32(*shape: int) -> np.ndarray:
    return np.zeros(shape, dtype=np.float32)


def _i64(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


@pytest.mark.parametrize(
    ("arrays", "names"),
    [
        ({"x": _f32(4, 3)}, "y"),
        ({"x": _f32(4, 3), "y": _i64(0, 0, 0, 0, 0)}, "y"),
        ({"x": _f32(4, 3), "y": np.zeros(4)}, "y"),  # float64 labels: the dtype is named
        ({"x": np.zeros((4, 3)), "y": _i64(0, 0, 0, 0)}, "x"),  # float64 features
        ({"x": _f32(4, 3), "y": _i64(0, 1, -1, 0)}, "y"),
        ({"x": np.full((4, 3), np.nan, dtype=np.float32), "y": _i64(0, 0, 0, 0)}, "x"),
        ({"x": np.array([object(), 1], dtype=object), "y": _i64(0, 0)}, "x"),  # pickled
    ],
)
def test_bad_npz_bytes_say_what_is_wrong(arrays: dict[str, np.ndarray], names: str) -> None:
    payload = _npz(**arrays)
    with pytest.raises(npz.NpzError, match=rf"\b{names}\b"):
        npz.inspect(payload, max_decoded_bytes=LIMIT)


def test_a_pickled_array_is_refused_without_unpickling(monkeypatch: pytest.MonkeyPatch) -> None:
    import pickle

    payload = _npz(x=np.array([{"a": 1}, None], dtype=object), y=_i64(0, 0))

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("unpickled customer bytes")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    with pytest.raises(npz.NpzError):
        npz.load(payload, max_decoded_bytes=LIMIT)


def test_bytes_that_are_not_an_npz_are_a_clear_error() -> None:
    with pytest.raises(npz.NpzError):
        npz.inspect(b"not a zip", max_decoded_bytes=LIMIT)
