"""Built-in datasets: the real ones shipped with the project or a dependency, and seeded
synthetic ones. This is an edge module: it reads files (the packaged corpus, scikit-learn's
digits). Every dataset here is the same for every job: its seeds are fixed, not the job's.

The text corpus, shakespeare_coriolanus.txt (16 KB, public domain), is the opening of
Shakespeare's Coriolanus as it begins the widely used "tiny shakespeare" compilation; it
ships inside this package, so nothing is downloaded at run time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import torch

CORPUS_PATH = Path(__file__).with_name("shakespeare_coriolanus.txt")
BYTE_VOCAB = 256
_DATA_SEED = 20240917  # fixed so a synthetic dataset is identical across jobs and machines

DIGITS_SAMPLES = 1797
SYNTHETIC_IMAGE_SAMPLES = 5120
SYNTHETIC_TEXT_BYTES = 200_000
SYNTHETIC_VIDEO_SAMPLES = 2560
VIDEO_FRAMES, VIDEO_SIDE, VIDEO_CLASSES = 8, 16, 4


@dataclass(frozen=True)
class Arrays:
    """Labelled samples, already split; x is float32 with samples first, y int64."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    eval_x: torch.Tensor
    eval_y: torch.Tensor


def eval_count(n: int) -> int:
    """Held-out samples of a classification set of n: a fifth, at least one."""
    return max(1, n // 5)


def split(x: torch.Tensor, y: torch.Tensor) -> Arrays:
    """A fixed shuffled split, so the held-out set never depends on the job's seed."""
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(_DATA_SEED))
    x, y = x[order], y[order]
    k = len(x) - eval_count(len(x))
    return Arrays(x[:k].contiguous(), y[:k].contiguous(), x[k:].contiguous(), y[k:].contiguous())


@functools.cache  # immutable results: later loads in one process are free
def digits() -> Arrays:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.data, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0
    return split(x, torch.tensor(d.target, dtype=torch.long))


@functools.cache
def synthetic_images() -> Arrays:
    g = torch.Generator().manual_seed(_DATA_SEED)
    templates = torch.randn(10, 1, 16, 16, generator=g)
    y = torch.randint(0, 10, (SYNTHETIC_IMAGE_SAMPLES,), generator=g)
    noise = torch.randn(SYNTHETIC_IMAGE_SAMPLES, 1, 16, 16, generator=g)
    return split(templates[y] + 1.5 * noise, y)


@functools.cache
def synthetic_video() -> Arrays:
    """A 4x4 square drifting one pixel a frame; the label is its direction."""
    g = torch.Generator().manual_seed(_DATA_SEED + 1)
    n, t, s = SYNTHETIC_VIDEO_SAMPLES, VIDEO_FRAMES, VIDEO_SIDE
    y = torch.randint(0, VIDEO_CLASSES, (n,), generator=g)
    start = torch.randint(0, s, (n, 2), generator=g)
    steps = torch.tensor([[-1, 0], [1, 0], [0, -1], [0, 1]])[y]  # up, down, left, right
    frame = torch.arange(t)
    pos = start[:, None, :] + steps[:, None, :] * frame[None, :, None]  # (n, t, 2)
    rows = torch.arange(s)
    in_r = (rows[None, None, :] - pos[:, :, 0:1]) % s < 4  # (n, t, s)
    in_c = (rows[None, None, :] - pos[:, :, 1:2]) % s < 4
    video = (in_r[:, :, :, None] & in_c[:, :, None, :]).float()
    video = video + 0.3 * torch.randn(n, t, s, s, generator=g)
    return split(video.unsqueeze(2), y)  # (n, t, 1, s, s)


def corpus_bytes() -> int:
    return CORPUS_PATH.stat().st_size


@functools.cache
def corpus_tokens() -> torch.Tensor:
    data = CORPUS_PATH.read_bytes()
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).long()


@functools.cache
def synthetic_tokens() -> torch.Tensor:
    """Zipf-distributed random 'words' of letters, separated by spaces."""
    g = torch.Generator().manual_seed(_DATA_SEED + 2)
    lengths = torch.randint(2, 9, (500,), generator=g)
    letters = torch.randint(ord("a"), ord("z") + 1, (int(lengths.sum()),), generator=g)
    words = [bytes(w.tolist()) for w in torch.split(letters, lengths.tolist())]
    weights = 1.0 / torch.arange(1, len(words) + 1, dtype=torch.float64)
    picks = torch.multinomial(weights, SYNTHETIC_TEXT_BYTES // 4, replacement=True, generator=g)
    text = b" ".join(words[i] for i in picks.tolist())[:SYNTHETIC_TEXT_BYTES]
    return torch.frombuffer(bytearray(text), dtype=torch.uint8).long()


def text_split(tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The last tenth of the text is held out."""
    k = len(tokens) - text_eval_count(len(tokens))
    return tokens[:k], tokens[k:]


def text_eval_count(n: int) -> int:
    return max(1, n // 10)
