"""Validating an uploaded file's format, by the runtime's parsers (pure: bytes in, a
summary out; `.npz` is read with allow_pickle=False only, never unpickled)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from dojo_runtime.data import npz, text
from dojocloud.datasets.models import NPZ, TEXT


class FormatError(ValueError):
    """The file is not what its format says; the message names the key, dtype or shape."""


def summarize(format: str, payload: bytes) -> dict[str, Any]:
    """What the Dataset row records: shapes and class counts, or the text's size."""
    try:
        if format == NPZ:
            # Decoded arrays may not exceed the largest upload (a compressed .npz expands).
            s = npz.inspect(payload, max_decoded_bytes=int(settings.DATASET_MAX_BYTES))
            summary: dict[str, Any] = {
                "samples": s.samples,
                "x_shape": [s.samples, *s.sample_shape],
                "sample_shape": list(s.sample_shape),
                # What y holds, recorded for the job's task to be checked against (a job
                # with model.task: regression needs float targets, classification labels).
                "y_dtype": "float32" if s.targets else "int64",
                "targets": s.targets,
            }
            if s.targets:
                return summary
            return {**summary, "num_classes": s.num_classes, "class_counts": list(s.class_counts)}
        if format == TEXT:
            t = text.inspect(payload)
            return {"size": t.size, "lines": t.lines}
    except (npz.NpzError, text.TextError) as exc:
        raise FormatError(str(exc)) from None
    raise FormatError(f"unknown format {format!r}")
