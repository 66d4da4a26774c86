"""Fixtures of the platform unit tests; builders live in platform_people."""

from __future__ import annotations

import pytest
from platform_people import People, make_people


@pytest.fixture
def people(db: None) -> People:
    return make_people()
