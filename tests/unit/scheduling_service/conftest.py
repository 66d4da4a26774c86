"""Fixtures of the scheduler-service unit tests (real database)."""

from __future__ import annotations

import pytest
from sched_svc_people import Fleet, make_fleet


@pytest.fixture
def fleet(db: None) -> Fleet:
    return make_fleet()
