"""The permission table's rules, spelled out by hand (the generated tests compare the surfaces
with the table; these pin the table itself), and the key lifecycle that feeds it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from dojocloud.common.errors import InvalidArgument, PermissionDenied, Unauthenticated
from dojocloud.tenancy.demo import seed_demo
from dojocloud.tenancy.models import ApiKey, Membership, Role, Scope
from dojocloud.tenancy.permissions import (
    DESCRIPTIONS,
    SCOPES,
    TABLE,
    Action,
    Principal,
    allows,
    require,
)
from dojocloud.tenancy.services import (
    add_member,
    api_keys_for,
    authenticate_api_key,
    create_api_key,
    create_organization,
    principal_for_user,
    revoke_api_key,
)
from tests.support.people import People


def test_every_action_has_a_row_a_description_and_the_full_scope() -> None:
    assert set(TABLE) == set(Action) == set(DESCRIPTIONS) == SCOPES[Scope.FULL]
    assert SCOPES[Scope.READ] < SCOPES[Scope.SUBMIT] < SCOPES[Scope.FULL]
    assert set(SCOPES) == set(Scope.values)


@pytest.mark.parametrize(
    ("role", "may", "may_not"),
    [
        (Role.OWNER, {Action.KEYS_REVOKE_OWNERS, Action.MEMBERS_MANAGE, Action.JOBS_SUBMIT}, set()),
        (
            Role.ADMIN,
            {Action.KEYS_REVOKE_OTHERS, Action.MEMBERS_MANAGE, Action.USAGE_READ},
            {Action.KEYS_REVOKE_OWNERS},
        ),
        (
            Role.MEMBER,
            {Action.JOBS_SUBMIT, Action.JOBS_CANCEL, Action.KEYS_REVOKE_OWN},
            {Action.KEYS_REVOKE_OTHERS, Action.MEMBERS_MANAGE, Action.USAGE_READ},
        ),
        (
            Role.VIEWER,
            {Action.JOBS_READ, Action.JOBS_ESTIMATE, Action.KEYS_CREATE},
            {Action.JOBS_SUBMIT, Action.JOBS_CANCEL, Action.KEYS_REVOKE_OTHERS},
        ),
    ],
)
def test_roles(people: People, role: str, may: set[Action], may_not: set[Action]) -> None:
    principal = Principal(people.acme, None, None, role)
    assert all(allows(principal, a) for a in may)
    assert not any(allows(principal, a) for a in may_not)
    # nobody in a customer organization operates the fleet, an owner neither
    assert not allows(principal, Action.OPERATOR_READ)


def test_operator_grant_is_owners_and_admins_of_the_operators_org(db: None) -> None:
    ops = create_organization("operators", "Ops", User.objects.create_user("olga"))
    for role, operates in (
        (Role.OWNER, True),
        (Role.ADMIN, True),
        (Role.MEMBER, False),
        (Role.VIEWER, False),
    ):
        principal = Principal(ops, None, 1, role)
        assert allows(principal, Action.OPERATOR_ACT) is operates, role
    read_only = Principal(ops, None, 1, Role.OWNER, Scope.READ)
    assert allows(read_only, Action.OPERATOR_READ) and not allows(read_only, Action.OPERATOR_ACT)


@pytest.mark.parametrize(
    ("scope", "words"), [(Scope.READ, "scope 'read' cannot submit jobs"), (Scope.SUBMIT, None)]
)
def test_a_scope_narrows_the_role(people: People, scope: str, words: str | None) -> None:
    principal = Principal(people.acme, None, 1, Role.OWNER, scope)
    if words is None:
        require(principal, Action.JOBS_SUBMIT)
        with pytest.raises(PermissionDenied, match="scope 'submit' cannot revoke other"):
            require(principal, Action.KEYS_REVOKE_OTHERS)
    else:
        with pytest.raises(PermissionDenied, match=words):
            require(principal, Action.JOBS_SUBMIT)


def test_a_scope_never_widens_the_role(people: People) -> None:
    _, raw = create_api_key(people.viewer, name="wide", scope=Scope.SUBMIT)
    with pytest.raises(PermissionDenied, match="role 'viewer' in 'acme' cannot submit jobs"):
        require(authenticate_api_key(raw), Action.JOBS_SUBMIT)


def test_key_creation_checks_scope_expiry_and_who(people: People) -> None:
    with pytest.raises(InvalidArgument) as bad:
        create_api_key(people.owner, name="x", scope="admin")
    assert bad.value.violations[0].field == "scope"
    with pytest.raises(InvalidArgument) as bad:
        create_api_key(people.owner, name="x", expires_at=timezone.now() - timedelta(seconds=1))
    assert bad.value.violations[0].field == "expires_at"
    _, raw = create_api_key(people.owner, name="ci")
    with pytest.raises(PermissionDenied, match="an API key cannot create API keys"):
        create_api_key(authenticate_api_key(raw), name="child")
    key, _ = create_api_key(people.owner, name="ci2")
    assert key.scope == Scope.FULL and key.expires_at is None


@pytest.mark.parametrize(
    ("revoker", "whose", "allowed"),
    [
        ("member", "member", True),  # one's own
        ("member", "viewer", False),  # another member's: owners and admins only
        ("viewer", "member", False),
        ("admin", "member", True),
        ("admin", "admin2", True),  # an admin may revoke another admin's key
        ("admin", "owner", False),  # nobody but an owner revokes an owner's key
        ("owner", "owner2", True),
        ("owner", "admin", True),
    ],
)
def test_who_revokes_whose_key(people: People, revoker: str, whose: str, allowed: bool) -> None:
    extra = {name: User.objects.create_user(name) for name in ("adam", "adele", "oscar")}
    add_member(people.acme, extra["adam"], Role.ADMIN)
    add_member(people.acme, extra["adele"], Role.ADMIN)
    add_member(people.acme, extra["oscar"], Role.OWNER)
    by_name = {
        "owner": people.owner,
        "member": people.member,
        "viewer": people.viewer,
        "admin": principal_for_user(extra["adam"]),
        "admin2": principal_for_user(extra["adele"]),
        "owner2": principal_for_user(extra["oscar"]),
    }
    key, raw = create_api_key(by_name[whose], name=whose)
    if allowed:
        revoke_api_key(by_name[revoker], key.id)
        with pytest.raises(Unauthenticated, match="revoked"):
            authenticate_api_key(raw)
    else:
        with pytest.raises(PermissionDenied):
            revoke_api_key(by_name[revoker], key.id)
        assert authenticate_api_key(raw).api_key_id == key.id


def test_a_key_acts_with_the_creators_role_now(people: People) -> None:
    _, raw = create_api_key(people.member, name="laptop")
    assert authenticate_api_key(raw).role == Role.MEMBER
    Membership.objects.filter(user=people.member.user).update(role=Role.ADMIN)
    assert authenticate_api_key(raw).role == Role.ADMIN
    Membership.objects.filter(user=people.member.user).delete()
    with pytest.raises(Unauthenticated, match="no longer a member of 'acme'"):
        authenticate_api_key(raw)


def test_a_deleted_creator_leaves_a_dead_key(people: People) -> None:
    key, raw = create_api_key(people.member, name="laptop")
    assert people.member.user is not None
    people.member.user.delete()
    with pytest.raises(Unauthenticated, match="deactivated or deleted"):
        authenticate_api_key(raw)
    row = next(r for r in api_keys_for(people.owner) if r.key.id == key.id)
    assert (row.status, row.creator, row.can_revoke) == ("creator inactive", "(deleted)", True)


def test_the_key_list_says_why_a_key_does_not_work(people: People) -> None:
    left, _ = create_api_key(people.member, name="left")
    expired, _ = create_api_key(
        people.viewer, name="expired", expires_at=timezone.now() + timedelta(hours=1)
    )
    ApiKey.objects.filter(id=expired.id).update(expires_at=timezone.now() - timedelta(hours=1))
    mine, _ = create_api_key(people.viewer, name="mine")
    Membership.objects.filter(user=people.member.user).delete()
    rows = {r.key.name: r for r in api_keys_for(people.viewer)}
    assert rows["left"].status == "creator left" and rows["expired"].status == "expired"
    assert rows["mine"].status == "active"
    # a viewer may revoke only their own (the expired one is theirs too)
    assert {n for n, r in rows.items() if r.can_revoke} == {"expired", "mine"}
    assert {r.key.name for r in api_keys_for(people.owner) if r.can_revoke} == {
        "left",
        "expired",
        "mine",
    }


def test_principal_for_a_deactivated_user_is_refused(people: People) -> None:
    user = people.member.user
    assert user is not None
    user.is_active = False
    user.save()
    with pytest.raises(PermissionDenied):
        principal_for_user(user, "acme")


@pytest.mark.django_db(transaction=True)
def test_migration_gives_existing_keys_full_scope_and_no_expiry() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("tenancy", "0001_initial")])
    old = executor.loader.project_state([("tenancy", "0001_initial")]).apps
    org = old.get_model("tenancy", "Organization").objects.create(slug="old", name="Old")
    old.get_model("tenancy", "ApiKey").objects.create(
        organization=org, name="legacy", role="viewer", prefix="0ld", key_hash="h" * 64
    )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    key = ApiKey.objects.get(prefix="0ld")
    assert key.scope == Scope.FULL and key.expires_at is None


def test_the_demo_key_has_full_scope_and_no_expiry(db: None, settings, tmp_path) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    seed = seed_demo(password="pw", env_file=tmp_path / "demo.env", server="127.0.0.1:1")
    assert seed.raw_key is not None
    principal = authenticate_api_key(seed.raw_key)
    key = ApiKey.objects.get(id=principal.api_key_id)
    assert (key.scope, key.expires_at, principal.role) == (Scope.FULL, None, Role.OWNER)
