"""The memory table of dojo_runtime/VALIDATION.md stays true: every catalog architecture at
three sizes, each estimate (recomputed now) within ±20 % of the peak measured for it, the
estimated column current, and the measuring path itself run again on the smallest case."""

from __future__ import annotations

import pytest

from benchmarks.bench_cost_validation import VALIDATION_MD
from benchmarks.memory_peaks import BAND, CASES, MIB, measure, stored_rows
from dojo_runtime.catalog.registry import ARCHITECTURES
from dojo_runtime.memory import peak_memory


@pytest.fixture(scope="module")
def rows() -> dict[str, tuple[int, int]]:
    return stored_rows(VALIDATION_MD.read_text(encoding="utf-8"))


def test_every_architecture_is_measured_at_three_sizes(rows: dict[str, tuple[int, int]]) -> None:
    assert sorted(rows) == sorted(c.label for c in CASES)
    per_arch = {a: sum(c.arch == a for c in CASES) for a in {c.arch for c in CASES}}
    assert set(per_arch) == set(ARCHITECTURES) and set(per_arch.values()) == {3}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.label)
def test_estimate_is_within_the_band_of_the_measured_peak(
    case: object, rows: dict[str, tuple[int, int]]
) -> None:
    label = case.label  # type: ignore[attr-defined]
    estimated = peak_memory(case.config, 1).peak_bytes  # type: ignore[attr-defined]
    stored_estimate, measured_mib = rows[label]
    assert round(estimated / MIB) == stored_estimate, (
        "the memory model changed: run python -m benchmarks.memory_peaks --write"
    )
    assert abs(estimated / (measured_mib * MIB) - 1) <= BAND


@pytest.mark.slow
def test_the_smallest_case_measures_inside_the_band_again() -> None:
    case = CASES[0]
    measured = measure(case)
    assert abs(peak_memory(case.config, 1).peak_bytes / measured - 1) <= BAND
