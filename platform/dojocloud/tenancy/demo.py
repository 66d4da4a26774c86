"""The demo organization for `make up`: owner login, console superuser and an API key whose
raw value is kept only in `.dojo/demo.env` (the database has its hash)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.models import User
from django.db import transaction

from dojocloud.common.errors import Unauthenticated
from dojocloud.tenancy.models import Membership, Organization, Role, Scope
from dojocloud.tenancy.services import (
    add_member,
    authenticate_api_key,
    create_api_key,
    create_organization,
    principal_for_user,
)

DEMO_ORG = "demo"
DEMO_USER = "demo"
ADMIN_USER = "admin"


@dataclass(frozen=True)
class DemoSeed:
    organization: Organization
    owner: User
    admin: User
    raw_key: str | None  # set only when a key was created in this run
    env_file: Path


def _user(username: str, password: str, *, staff: bool) -> User:
    user, created = User.objects.get_or_create(
        username=username, defaults={"is_staff": staff, "is_superuser": staff}
    )
    if created or not user.has_usable_password():
        user.set_password(password)
        user.save()
    return user


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            # `export NAME=value` (what _write_env_file writes) or an older `NAME=value`
            key, sep, value = line.strip().removeprefix("export ").partition("=")
            if sep and not key.startswith("#"):
                values[key.strip()] = value.strip()
    return values


def key_still_valid(raw: str | None, org: Organization) -> bool:
    if not raw:
        return False
    try:
        return authenticate_api_key(raw).organization.id == org.id
    except Unauthenticated:
        return False


def write_env_file(path: Path, server: str, raw_key: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # Created 0600 from the start: the key must never be readable by others, even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        # `export`: `source .dojo/demo.env` must reach the commands the shell then runs.
        fh.write(f"export DOJO_SERVER={server}\nexport DOJO_API_KEY={raw_key}\n")
    os.replace(tmp, path)
    os.chmod(path, 0o600)


@transaction.atomic
def seed_demo(*, password: str, env_file: Path, server: str) -> DemoSeed:
    owner = _user(DEMO_USER, password, staff=False)
    admin = _user(ADMIN_USER, password, staff=True)
    org = Organization.objects.filter(slug=DEMO_ORG).first()
    if org is None:
        org = create_organization(DEMO_ORG, "Demo organization", owner)
    elif not Membership.objects.filter(organization=org, user=owner).exists():
        add_member(org, owner, Role.OWNER)
    raw_key = None
    written = read_env_file(env_file)
    if not key_still_valid(written.get("DOJO_API_KEY"), org):
        # Full scope: the demo key does whatever the demo owner's role allows, no expiry.
        _, raw_key = create_api_key(
            principal_for_user(owner, DEMO_ORG),
            name="demo (make up)",
            scope=Scope.FULL,
            expires_at=None,
        )
        write_env_file(env_file, server, raw_key)
    elif written.get("DOJO_SERVER") != server or "export " not in env_file.read_text("utf-8"):
        # The same key, but the API moved (DOJO_GRPC_ADDR) or the file predates `export`.
        write_env_file(env_file, server, written["DOJO_API_KEY"])
    return DemoSeed(org, owner, admin, raw_key, env_file)
