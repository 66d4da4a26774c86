"""Uploaded text corpora for language models: UTF-8 bytes, trained on byte by byte.

Pure: parses bytes the platform fetched. Every problem is a TextError saying what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

MIN_BYTES = 16


class TextError(ValueError):
    """What is wrong with an uploaded corpus."""


@dataclass(frozen=True)
class TextSummary:
    size: int  # bytes
    lines: int


def inspect(payload: bytes) -> TextSummary:
    if len(payload) < MIN_BYTES:
        raise TextError(f"a corpus needs at least {MIN_BYTES} bytes, got {len(payload)}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TextError(
            f"not UTF-8 text: byte 0x{payload[exc.start]:02x} at offset {exc.start} ({exc.reason})"
        ) from None
    return TextSummary(size=len(payload), lines=text.count("\n") + (not text.endswith("\n")))


def tokens(payload: bytes) -> torch.Tensor:
    inspect(payload)
    return torch.frombuffer(bytearray(payload), dtype=torch.uint8).long()
