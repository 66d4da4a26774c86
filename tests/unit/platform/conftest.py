"""Fixtures of the platform unit tests; builders live in tests/support/people.py."""

from __future__ import annotations

import pytest

from tests.support.people import People, make_people


@pytest.fixture
def people(db: None) -> People:
    return make_people()
