"""The Decision's promise: the estimate predicts the billed quantity. Each example spec runs
a few steps through the real segment path (no worker process); its ledger rows' billed
device-seconds and cost agree with the estimate of the option it ran on within 10 %."""

from __future__ import annotations

from pathlib import Path

import pytest

from dojocloud.common.inventory import inventory
from dojocloud.scheduling import capacity
from tests.support.billing_run import bill_example
from tests.support.people import People

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("*.yaml"))


@pytest.fixture
def ready(people: People, settings, tmp_path: Path) -> People:  # type: ignore[no-untyped-def]
    settings.STORAGE_URL = (tmp_path / "storage").as_uri()
    settings.HEARTBEAT_INTERVAL_S = 3600
    capacity.sync_inventory(inventory())
    return people


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_the_bill_agrees_with_the_estimate(ready: People, example: Path) -> None:
    result = bill_example(ready.owner, example, steps=2)
    assert result.billed_device_seconds > 0
    assert result.ratio == pytest.approx(1.0, rel=0.10), result
    assert float(result.billed_usd) == pytest.approx(result.estimated_usd, rel=0.10), result
