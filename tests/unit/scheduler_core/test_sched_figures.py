"""One owner for hardware throughput and prices: dojo_runtime.specs. The core receives them
as plain data (Capacity.figures) and prices its options with them; the estimator reads the
same figures, so the two agree on a job's price."""

from __future__ import annotations

import pytest

from dojo_runtime.config import TrainConfig
from dojo_runtime.estimate import estimate
from dojo_runtime.specs import accelerator_figures, load_hardware
from scheduler.core import NO_FIGURES, Figures, JobRequest, Snapshot, schedule
from scheduler.core.incremental import Scheduler
from scheduler.core.model import Capacity, GpuNode
from scheduler.core.sizing import job_options
from scheduler.inventory import hardware_figures, load_inventory
from tests.support.kernels import matmul
from tests.unit.scheduler_core.builders import FIGURES, cluster, job, tile_or_h100s

SPECS = accelerator_figures()


def test_specs_hold_the_throughput_and_price_of_every_accelerator_type() -> None:
    hw = load_hardware()
    assert set(SPECS) == set(hw.accelerators)
    peaks = {name: f.peak_bf16_flops for name, f in SPECS.items()}
    # The sizing model's figures; H100 is the datasheet's 989.4 TFLOP/s (dojo_hardware.yaml).
    assert peaks == {
        "dojo-tile": 9.0e15,
        "gpu-a100": 3.12e14,
        "gpu-h100": 9.894e14,
        "gpu-h200": 9.894e14,
        "gpu-v100": 1.25e14,
    }
    for name, f in SPECS.items():
        assert f.usd_per_device_hour == hw.prices.price(name)  # the estimator's price book
        assert f.peak_source.strip() and f.price_source.strip()
    assert SPECS["dojo-tile"].usd_per_device_hour == 32.77
    assert SPECS["gpu-h100"].usd_per_device_hour == 6.88
    assert SPECS["gpu-a100"].usd_per_device_hour == 4.10


def test_price_overrides_reach_the_figures_as_they_reach_the_estimator() -> None:
    custom = accelerator_figures(prices={"gpu-a100": 1.5})
    assert custom["gpu-a100"].usd_per_device_hour == 1.5
    assert custom["gpu-h100"] == SPECS["gpu-h100"]
    assert custom["gpu-a100"].price_source == "configuration"


def test_producers_fill_the_core_figures_from_the_specs() -> None:
    assert hardware_figures() is FIGURES
    for name, f in SPECS.items():
        assert FIGURES.throughput(name) == f.peak_bf16_flops
        assert FIGURES.price(name) == f.usd_per_device_hour
    assert load_inventory("deploy/clusters/dev.yaml").figures is FIGURES


def test_an_unknown_type_counts_as_the_slowest_known_one() -> None:
    assert FIGURES.throughput("gpu-tpu") == SPECS["gpu-v100"].peak_bf16_flops
    assert FIGURES.price("gpu-tpu") == SPECS["gpu-v100"].usd_per_device_hour
    assert (NO_FIGURES.throughput("gpu-h100"), NO_FIGURES.price("gpu-h100")) == (1.0, 0.0)


def test_figures_compare_by_value_and_reject_nonsense() -> None:
    a = Figures.of({"gpu-a100": (3.12e14, 4.1), "dojo-tile": (9e15, 32.77)})
    b = Figures.of({"dojo-tile": (9e15, 32.77), "gpu-a100": (3.12e14, 4.1)})
    assert a == b and hash(a) == hash(b) and a != NO_FIGURES
    with pytest.raises(ValueError, match="throughput"):
        Figures.of({"gpu-a100": (0.0, 4.1)})


def test_an_options_price_is_the_specs_price_times_count_times_duration() -> None:
    one = job("one", 4, "gpu-h100", dur=1800.0)
    (opt,) = job_options(one, FIGURES)
    assert opt.price == pytest.approx(SPECS["gpu-h100"].usd_per_device_hour * 4 * 1800 / 3600)
    mixed = job("mixed", 1, accels=("dojo-tile", "gpu-h100", "gpu-a100"), dur=3600.0)
    tile, h100, a100 = job_options(mixed, FIGURES)
    assert (tile.count, h100.count, a100.count) == (1, 10, 29)  # same aggregate peak
    for o in (tile, h100, a100):
        assert o.duration_s is not None
        assert o.price == pytest.approx(
            SPECS[o.accelerator].usd_per_device_hour * o.count * o.duration_s / 3600
        )
    assert h100.duration_s == pytest.approx(3600.0 * 9.0e15 / (10 * 9.894e14))


def test_the_estimator_and_the_scheduler_agree_on_a_jobs_price() -> None:
    kernels = [matmul()]
    config = TrainConfig("mlp", steps=500, batch_size=64, precision="bf16")
    rows = estimate(
        config,
        step_kernels=kernels,
        grad_bytes=2 * 4096**2,
        options=[("dojo-tile", 2), ("gpu-h100", 8), ("gpu-a100", 4)],
    )
    for row in rows:
        request = JobRequest(
            "j", "a", (row.accelerator,), row.count, 0.0, est_duration_s=row.total_seconds
        )
        (opt,) = job_options(request, FIGURES)
        assert opt.price == pytest.approx(row.cost_usd, rel=1e-12)


def test_ties_break_by_the_specs_prices() -> None:
    cap = Capacity(cluster().tiles, tuple(GpuNode("gpu-h100", f"n{i}") for i in range(2)), FIGURES)
    # Equal estimates: 4 H100s (4 x 6.88 $/h) cost less than a tile (32.77 $/h) ...
    tie = tile_or_h100s("t", 4)
    (a,) = schedule(Snapshot(0.0, cap, (tie,))).admits
    assert a.placement.accelerator == "gpu-h100"
    # ... and 5 cost more (the old table, $4/h against $90/h, would have chosen them)
    dearer = tile_or_h100s("d", 5)
    (b,) = schedule(Snapshot(0.0, cap, (dearer,))).admits
    assert b.placement.accelerator == "dojo-tile"


def test_a_scheduler_synced_to_new_figures_prices_with_them() -> None:
    nodes = tuple(GpuNode("gpu-h100", f"n{i}") for i in range(2))
    cheap_tiles = Figures.of({"dojo-tile": (9.0e15, 1.0), "gpu-h100": (9.894e14, 6.88)})
    tie = tile_or_h100s("t", 4)
    s = Scheduler(Capacity(cluster().tiles, nodes, FIGURES))
    s.submit(tie)
    snap = Snapshot(0.0, Capacity(cluster().tiles, nodes, cheap_tiles), (tie,))
    s.sync(snap)
    assert s.queue.figures is cheap_tiles
    (a,) = s.schedule(0.0).admits
    assert a == schedule(snap).admits[0] and a.placement.accelerator == "dojo-tile"
