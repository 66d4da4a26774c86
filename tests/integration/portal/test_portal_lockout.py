"""Failed portal logins lock out (django-axes) per user name and per address, through the
Django test client: N failures lock, the right password is refused while locked, the
cool-off ends it, and an operator's command lifts it early. And the organization's CreateJob
rate, as the new-job form answers it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db.models import F
from django.test import Client

from tests.integration.portal.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits(settings) -> None:  # type: ignore[no-untyped-def]
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def log_in(username: str, password: str, address: str = "10.0.0.1") -> int:
    response = Client(REMOTE_ADDR=address).post(
        "/login/", {"username": username, "password": password}
    )
    return response.status_code


def fail(username: str, times: int, address: str = "10.0.0.1") -> list[int]:
    return [log_in(username, "wrong password", address) for _ in range(times)]


def test_failures_lock_the_user_even_with_the_right_password(alice: User) -> None:
    assert fail("alice", 2) == [200, 200]  # the form again, with its error
    assert log_in("alice", PASSWORD) == 302  # under the limit; a success resets the count
    assert fail("alice", 3) == [200, 200, 429]  # the third failure locks
    client = Client(REMOTE_ADDR="10.0.0.1")
    locked = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content and b"15 minutes" in locked.content
    assert "_auth_user_id" not in client.session  # not logged in
    # Per user: the lock follows the name to another address.
    assert log_in("alice", PASSWORD, address="10.9.9.9") == 429


def test_failures_from_one_address_lock_that_address(alice: User, bob: User) -> None:
    fail("nobody-1", 1, "10.0.0.5")
    fail("nobody-2", 1, "10.0.0.5")
    fail("nobody-3", 1, "10.0.0.5")
    assert log_in("alice", PASSWORD, "10.0.0.5") == 429  # the address is locked for everyone
    assert log_in("bob", PASSWORD, "10.0.0.6") == 302  # another address is not


def test_cool_off_ends_the_lock(alice: User) -> None:
    fail("alice", 3)
    assert log_in("alice", PASSWORD) == 429
    # Time passes: the attempts are now older than the cool-off.
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=16))
    assert log_in("alice", PASSWORD) == 302


def test_an_operator_command_lifts_the_lock(alice: User) -> None:
    fail("alice", 3)
    assert log_in("alice", PASSWORD, "10.0.0.2") == 429
    call_command("axes_reset_username", "alice", verbosity=0)
    assert log_in("alice", PASSWORD, "10.0.0.2") == 302


def test_the_admin_login_is_limited_too(operator: User) -> None:
    for _ in range(3):
        Client(REMOTE_ADDR="10.0.0.3").post(
            "/admin/login/", {"username": "ops", "password": "guess"}
        )
    response = Client(REMOTE_ADDR="10.0.0.3").post(
        "/admin/login/", {"username": "ops", "password": PASSWORD}
    )
    assert response.status_code == 429


def test_the_create_job_rate_answers_the_form_with_its_limit(
    settings, redis_url: str, alice_client: Client, digits_yaml: str
) -> None:  # type: ignore[no-untyped-def]
    settings.REDIS_URL = redis_url
    settings.CREATE_JOB_RATE = 1
    post = {"mode": "yaml", "spec_yaml": digits_yaml}
    assert alice_client.post("/jobs/new/", post).status_code == 302
    refused = alice_client.post("/jobs/new/", post)
    assert refused.status_code == 429
    text = refused.content.decode()
    assert "CreateJob rate limit: at most 1 jobs per minute" in text
    assert "spec_yaml" in text  # the form comes back with the input kept
