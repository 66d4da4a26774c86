"""The one way benchmarks print a result."""

from __future__ import annotations

import json
from typing import Any


def bench(
    name: str,
    value: float,
    unit: str,
    *,
    baseline: float | None = None,
    ratio: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    row: dict[str, Any] = {"name": name, "value": round(value, 6), "unit": unit}
    if baseline is not None:
        row["baseline"] = round(baseline, 6)
        row["ratio"] = round(ratio if ratio is not None else value / baseline, 4)
    row.update(extra)
    print("BENCH " + json.dumps(row), flush=True)
    return row
