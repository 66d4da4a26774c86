"""People and jobs for the portal tests: an owner and a viewer in one organization, an
outsider in another, and a staff operator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from dojo.specfile import parse_yaml
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job
from dojocloud.tenancy import services as tenancy
from dojocloud.tenancy.models import Organization

PASSWORD = "correct horse battery"
DIGITS_YAML = (Path(__file__).resolve().parents[3] / "examples" / "digits-mlp.yaml").read_text()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # PBKDF2's deliberate slowness costs a second a user on this machine; tests need none.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_user(username: str, **extra: object) -> User:
    return User.objects.create_user(username, f"{username}@example.com", PASSWORD, **extra)


@pytest.fixture
def acme(db: None) -> Organization:
    return tenancy.create_organization("acme", "Acme Robotics", make_user("alice"))


@pytest.fixture
def alice(acme: Organization) -> User:
    return User.objects.get(username="alice")


@pytest.fixture
def victor(acme: Organization) -> User:
    user = make_user("victor")
    tenancy.add_member(acme, user, "viewer")
    return user


@pytest.fixture
def bob(db: None) -> User:
    user = make_user("bob")
    tenancy.create_organization("globex", "Globex", user)
    return user


@pytest.fixture
def operator(db: None) -> User:
    return make_user("ops", is_staff=True, is_superuser=True)


def _client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def client_for() -> Callable[[User], Client]:
    return _client_for


@pytest.fixture
def alice_client(alice: User) -> Client:
    return _client_for(alice)


def _submit(user: User, name: str = "digits-mlp") -> Job:
    """A job created through the service, as the SDK would."""
    spec = parse_yaml(DIGITS_YAML)
    spec.name = name
    return jobs.create_job(tenancy.principal_for_user(user), spec)


@pytest.fixture
def submit() -> Callable[..., Job]:
    return _submit


@pytest.fixture
def digits_yaml() -> str:
    return DIGITS_YAML


@pytest.fixture
def form_post() -> dict[str, object]:
    return dict(_FORM_POST)


_FORM_POST = {
    "mode": "form",
    "name": "form-job",
    "priority_class": "normal",
    "architecture": "mlp",
    "param_mlp_hidden": "64",
    "param_mlp_layers": "3",
    "dataset": "digits",
    "steps": "200",
    "batch_size": "32",
    "optimizer": "sgd",
    "learning_rate": "0.05",
    "precision": "cfp8",
    "checkpoint_interval": "50",
    "seed": "11",
    "accelerators": ["dojo-tile"],
    "count": "2",
    "max_runtime_seconds": "600",
}
