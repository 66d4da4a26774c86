"""The operators' organization for `make up`, as customers get the demo one: the
organization settings.OPERATOR_ORG names (DOJO_OPERATOR_ORG), its owner `operator` (staff,
so the console is theirs too) and a first API key, whose raw value is kept only in
`.dojo/operator.env` (DOJO_OPERATOR_ENV_FILE; the database has its hash).

Reruns reuse the key in the file while it still authenticates for that organization; a
missing, revoked or expired key (or one whose creator left) is replaced by a new one,
written over the file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.models import User
from django.db import transaction

from dojocloud.tenancy.demo import key_still_valid, read_env_file, write_env_file
from dojocloud.tenancy.models import Membership, Organization, Role, Scope
from dojocloud.tenancy.permissions import operator_org
from dojocloud.tenancy.services import (
    add_member,
    create_api_key,
    create_organization,
    principal_for_user,
)

OPERATOR_USER = "operator"


@dataclass(frozen=True)
class OperatorSeed:
    organization: Organization
    operator: User
    raw_key: str | None  # set only when a key was created in this run
    env_file: Path


@transaction.atomic
def seed_operators(*, password: str, env_file: Path, server: str) -> OperatorSeed:
    # Staff (the console grant), not a superuser: the Django admin's model pages stay the
    # demo `admin`'s.
    user, created = User.objects.get_or_create(username=OPERATOR_USER, defaults={"is_staff": True})
    if created or not user.has_usable_password():
        user.set_password(password)
    user.is_staff = True
    user.save()
    slug = operator_org()
    org = Organization.objects.filter(slug=slug).first()
    if org is None:
        org = create_organization(slug, "Platform operators", user)
    else:
        m = Membership.objects.filter(organization=org, user=user).first()
        if m is None or m.role != Role.OWNER:
            add_member(org, user, Role.OWNER)
    raw_key = None
    if not key_still_valid(read_env_file(env_file).get("DOJO_API_KEY"), org):
        _, raw_key = create_api_key(
            principal_for_user(user, slug),
            name="operator (make up)",
            scope=Scope.FULL,
            expires_at=None,
        )
        write_env_file(env_file, server, raw_key)
    return OperatorSeed(org, user, raw_key, env_file)
